#pragma once

// HostInterface: the link to the host, full duplex: one channel per
// direction, each at the link bandwidth. Host to chip carries the program's
// instruction words (the host sends the next word once the chip has taken
// the last into its instruction buffer) and the data of `rhm` (host memory ->
// unified buffer) and `ldw` (host memory -> weight DRAM); chip to host carries
// the data of `whm`. On the host-to-chip channel a transfer moves in packets
// of at most `packet_bytes`; when a word and a packet are both waiting they
// take turns, one word after each packet, so neither starves the other.
//
// Instructions start in program order, one a cycle at most, and run
// concurrently: transfers of one direction queue on its channel, the two
// directions overlap, and the latency is pipelined (each transfer is done
// its bytes' time plus the latency after its channel takes it). An
// instruction waits to start until no earlier one it shares host memory with
// (one of them writing) is still running, so host memory always holds what
// sequential execution would give. `hop` is a step the host computes on
// host memory (an interrupt round trip plus its operand and result bytes at
// the host's processing rate) and moves nothing over the link.

#include <deque>
#include <map>
#include <systemc>
#include <vector>

#include "sim/base/bandwidth.h"
#include "sim/base/paged_memory.h"
#include "sim/base/unit.h"
#include "sim/units/unified_buffer/unified_buffer.h"
#include "sim/units/weight_memory/weight_memory.h"

namespace tpu::sim {

class HostInterface : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(HostInterface);
  // Instruction words go into `instruction_buffer` as program counters; -1 marks the end of the program.
  HostInterface(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, WeightMemory& weights,
                PagedMemory& host_memory, sc_core::sc_fifo<int64_t>& instruction_buffer);

  std::string prepare(const isa::Word& word, Footprint* footprint) override;
  UnitQueue& queue() override { return queue_; }
  StatGroup& stats() { return stats_; }
  void trace(sc_core::sc_trace_file* tf) const { sc_core::sc_trace(tf, active_pc_, "host_interface.pc"); }

 private:
  // An rhm or ldw whose bytes wait for the host-to-chip channel.
  struct ToChip {
    Issued insn;
    uint64_t bytes;
    Cycle start;  // the instruction started
  };
  // Host memory an instruction reads or writes, until it is done.
  struct HostAccess {
    Strided range;
    bool write;
    Cycle done;  // kNever until known
    uint64_t seq;
  };

  // host_link.cc: the host-to-chip channel's arbiter and the instruction buffer's door.
  void downstream();
  void accept();

  // host_interface.cc: instructions in order, each once the host memory it touches is free.
  void run();
  std::vector<HostAccess> host_accesses(const isa::Word& word) const;
  void wait_for_host_memory(const std::vector<HostAccess>& mine);
  void wait_for_own(const Issued& insn);  // unified buffer and weight DRAM shared with earlier instructions
  void host_memory_done(uint64_t seq, Cycle done);
  void start_transfer(const Issued& insn, Cycle start);
  bool start_load_weights(const Issued& insn, Cycle start);
  // The unified-buffer blocks of an rhm or whm: its rows, or one stretch when they follow each other.
  struct UbBlocks {
    uint64_t count, bytes;
  };
  static UbBlocks ub_blocks(const isa::HostDmaArgs& a);
  // Bytes [from, to) of an rhm have arrived: each block's piece of them takes a unified-buffer write port.
  void write_arrived_bytes(const ToChip& t, uint64_t from, uint64_t to);
  void finish_to_chip(const ToChip& t, BandwidthChannel::Transfer x);
  // Where `parts` would go if no other unit used the unified buffer's ports (the interface's own
  // earlier transfers still do), and the wait for the other units of a transfer done at `done`.
  std::vector<PortGrant> place_alone(const std::vector<PortPart>& parts);
  void count_port_wait(size_t region, Cycle done, Cycle alone);
  Cycle host_op(const Issued& insn, Cycle start);
  void finish(const Issued& insn, Cycle start, Cycle done);

  ChipContext& ctx_;
  UnifiedBuffer& ub_;
  WeightMemory& weights_;
  PagedMemory& host_;
  sc_core::sc_fifo<int64_t>& instruction_buffer_;
  int64_t active_pc_ = -1;  // the transfer in progress, for waveforms
  BandwidthChannel to_chip_;
  BandwidthChannel to_host_;
  uint64_t packet_bytes_;
  // Between run() and downstream(): transfers waiting for the channel, the first under way.
  std::deque<ToChip> to_send_;
  uint64_t front_sent_ = 0;           // bytes of the first already sent
  Cycle front_started_ = kNever;      // cycle its first packet went
  Cycle front_written_ = 0;           // the end of the port time of its rows written so far
  Cycle front_written_alone_ = 0;     // and of where they would have gone without other units
  // The unified-buffer ports as the interface's own transfers alone would have taken them.
  PortSet own_ports_;
  sc_core::sc_event data_posted_;
  std::vector<HostAccess> in_flight_;  // host memory touched by instructions not yet done
  sc_core::sc_event host_memory_freed_;
  std::map<Cycle, Cycle> busy_;        // when some instruction was in progress: merged [start, end)
  // Between downstream() and accept(): a word that has arrived and waits for room.
  bool word_waiting_ = false;
  int64_t arrived_pc_ = 0;
  size_t arrived_region_ = 0;
  sc_core::sc_event word_arrived_, word_accepted_;
  Cycle latency_;
  Cycle op_latency_;
  BandwidthChannel op_rate_;  // the host's processing of hop operands
  UnitQueue queue_;
  StatGroup stats_{"host_interface"};
  Counter& read_bytes_ = stats_.add("host_read_bytes", "bytes", "Bytes moved from host memory to the unified buffer");
  Counter& write_bytes_ = stats_.add("host_write_bytes", "bytes", "Bytes moved from the unified buffer to host memory");
  Counter& weight_load_bytes_ =
      stats_.add("weight_load_bytes", "bytes", "Bytes moved from host memory to weight DRAM (ldw)");
  Counter& host_ops_ = stats_.add("host_ops", "ops", "Host operations (hop) executed");
  Counter& host_op_cycles_ = stats_.add("host_op_cycles", "cycles", "Cycles the chip waited on host operations");
  Counter& instruction_bytes_ = stats_.add("instruction_bytes", "bytes", "Instruction words sent to the chip");
  Counter& busy_cycles_ = stats_.add("busy_cycles", "cycles",
                                     "Cycles in which a transfer (rhm, whm, ldw) or host operation (hop) was in progress");
  Counter& port_wait_cycles_ = stats_.add("port_wait_cycles", "cycles",
                                          "Cycles transfers (rhm, whm) ended later than if no other unit used the "
                                          "unified buffer's ports");
  Counter& buffer_full_cycles_ = stats_.add("instruction_buffer_full_cycles", "cycles",
                                            "Cycles the host waited for room in the instruction buffer");
};

}  // namespace tpu::sim
