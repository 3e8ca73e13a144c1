#pragma once

// Sequencer: the instruction decoder. Instructions enter from the instruction
// buffer and pass `pipeline_stages` stages (fetch, decode, read, issue); the
// front end takes one per cycle while the pipeline has room, and the issue
// stage sends them in order, one per cycle, to the queues of the units that
// execute them. Issue stalls when a unit's queue is full, in `sync` until the
// named units are done, and in `halt` until all are. Control instructions
// (nop, sync, setcfg, intr, tag, halt) execute here.

#include <array>
#include <ostream>
#include <systemc>
#include <vector>

#include "sim/base/unit.h"

namespace tpu::sim {

struct Interrupt {
  Cycle cycle;
  int64_t pc;
  uint32_t code;
};

struct RegionMark {
  Cycle cycle;  // when the tag issued
  int64_t pc;
  uint32_t id;
};

class Sequencer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Sequencer);
  Sequencer(sc_core::sc_module_name name, ChipContext& ctx, sc_core::sc_fifo<int64_t>& instruction_buffer);

  // The unit that executes instructions of `unit`; nullptr leaves it absent (its instructions fault).
  void attach(isa::Unit unit, ExecutionUnit* executor) { units_[static_cast<size_t>(unit)] = executor; }

  bool halted() const { return halted_; }
  Cycle halt_cycle() const { return halt_cycle_; }
  int64_t last_pc() const { return last_pc_; }
  Cycle last_issue_cycle() const { return last_issue_; }
  const std::vector<Interrupt>& interrupts() const { return interrupts_; }
  const std::vector<RegionMark>& regions() const { return regions_; }
  const std::array<uint64_t, 256>& issued_by_opcode() const { return by_opcode_; }
  StatGroup& stats() { return stats_; }
  void trace(sc_core::sc_trace_file* tf) const { sc_core::sc_trace(tf, last_pc_, "sequencer.issue_pc"); }

 private:
  struct InFlight {
    int64_t pc = 0;
    Cycle ready = 0;  // earliest issue cycle
    friend std::ostream& operator<<(std::ostream& os, const InFlight& f) { return os << "pc " << f.pc; }
  };

  void front_end();
  void stop() { sc_core::sc_stop(); }
  void issue();
  // Waits until every instruction issued so far to the units in `mask` is done.
  void wait_for_units(uint32_t mask);
  bool dispatch(const isa::Instruction& insn, const Issued& base);
  // A sync or intr on `mask` waited since `start`: the cycles it waited for units other than the
  // matrix unit hold the matrix unit's next mmul (RAW stalls).
  void note_wait_for_others(uint32_t mask, Cycle start, size_t region);
  // A wait of the instruction at `pc` begins: a slice on the trace, named by the instruction or `what`,
  // ended by end_trace_wait() or, if the run stops first, at the run's end.
  void trace_wait(int64_t pc, std::string what = "");
  void end_trace_wait();

  ChipContext& ctx_;
  sc_core::sc_fifo<int64_t>& instruction_buffer_;
  sc_core::sc_fifo<InFlight> pipeline_;
  std::array<ExecutionUnit*, 8> units_{};
  isa::Rounding rounding_ = isa::Rounding::half_away;
  bool halted_ = false;
  Cycle halt_cycle_ = 0;
  int64_t last_pc_ = -1;
  Cycle last_issue_ = 0;  // cycle the issue stage last took an instruction
  std::vector<Interrupt> interrupts_;
  std::vector<RegionMark> regions_;
  std::array<uint64_t, 256> by_opcode_{};
  size_t open_wait_ = 0;  // the trace slice of the wait in progress

  StatGroup stats_{"sequencer"};
  Counter& instructions_ = stats_.add("instructions", "instructions", "Instructions issued");
  Counter& sync_wait_cycles_ =
      stats_.add("sync_wait_cycles", "cycles", "Cycles issue waited in sync for earlier instructions to finish");
  Counter& queue_full_cycles_ =
      stats_.add("queue_full_cycles", "cycles", "Cycles issue waited for room in a unit's queue");
  Counter& halt_wait_cycles_ = stats_.add("halt_wait_cycles", "cycles", "Cycles halt and intr waited for all units");
  Counter& nop_cycles_ = stats_.add("nop_cycles", "cycles", "Cycles spent in nop");
};

}  // namespace tpu::sim
