#pragma once

// HostInterface: the link to the host. It streams the program's instruction
// words into the chip's instruction buffer (the host sends a word whenever
// the buffer has room), and executes `rhm` and `whm`, one transfer at a time,
// each costing the link latency plus its bytes at the link bandwidth.
// Instruction words and data use separate directions of the link budget.

#include <systemc>

#include "sim/base/bandwidth.h"
#include "sim/base/paged_memory.h"
#include "sim/base/unit.h"
#include "sim/units/unified_buffer/unified_buffer.h"

namespace tpu::sim {

class HostInterface : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(HostInterface);
  // Instruction words go into `instruction_buffer` as program counters; -1 marks the end of the program.
  HostInterface(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, PagedMemory& host_memory,
                sc_core::sc_fifo<int64_t>& instruction_buffer);

  std::string prepare(const isa::Word& word, Footprint* footprint) override;
  UnitQueue& queue() override { return queue_; }
  StatGroup& stats() { return stats_; }
  void trace(sc_core::sc_trace_file* tf) const { sc_core::sc_trace(tf, active_pc_, "host_interface.pc"); }

 private:
  void deliver();
  void run();

  ChipContext& ctx_;
  UnifiedBuffer& ub_;
  PagedMemory& host_;
  sc_core::sc_fifo<int64_t>& instruction_buffer_;
  int64_t active_pc_ = -1;  // the transfer in progress, for waveforms
  BandwidthChannel instruction_link_;
  BandwidthChannel data_link_;
  Cycle latency_;
  UnitQueue queue_;
  StatGroup stats_{"host_interface"};
  Counter& read_bytes_ = stats_.add("host_read_bytes", "bytes", "Bytes moved from host memory to the unified buffer");
  Counter& write_bytes_ = stats_.add("host_write_bytes", "bytes", "Bytes moved from the unified buffer to host memory");
  Counter& instruction_bytes_ = stats_.add("instruction_bytes", "bytes", "Instruction words sent to the chip");
  Counter& busy_cycles_ = stats_.add("busy_cycles", "cycles", "Cycles a host transfer was in progress");
  Counter& buffer_full_cycles_ = stats_.add("instruction_buffer_full_cycles", "cycles",
                                            "Cycles the host waited for room in the instruction buffer");
};

}  // namespace tpu::sim
