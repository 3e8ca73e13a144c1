#pragma once

// ActivationUnit: accumulator rows through requantization, a nonlinearity and
// optional pooling into the unified buffer (`act`), and elementwise vector
// operations on unified-buffer operands (`vop`). The pipeline takes `lanes`
// elements per cycle, and no more than one unified-buffer row per port per
// cycle; results land `latency_cycles` after the last element enters. One
// instruction enters the pipeline after another, without gaps.

#include <systemc>

#include "sim/base/unit.h"
#include "sim/units/accumulators/accumulators.h"
#include "sim/units/unified_buffer/unified_buffer.h"

namespace tpu::sim {

class ActivationUnit : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(ActivationUnit);
  ActivationUnit(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, Accumulators& acc);

  std::string prepare(const isa::Word& word, Footprint* footprint) override;
  UnitQueue& queue() override { return queue_; }
  StatGroup& stats() { return stats_; }
  void trace(sc_core::sc_trace_file* tf) const { sc_core::sc_trace(tf, active_pc_, "activation_unit.pc"); }

 private:
  // Reserve the unified-buffer ports of an act / vop starting now and return the cycles the pipeline is
  // occupied (excluding the latency): its compute time, or its port time when that is longer.
  Cycle reserve_ports(const Issued& insn, const isa::ActivateArgs& a);
  Cycle reserve_ports(const Issued& insn, const isa::VectorArgs& a);
  // An instruction started at `start` kept `busy` cycles that would have taken `alone` with the ports to
  // itself: counts the difference and returns `busy`.
  Cycle count_port_wait(const Issued& insn, Cycle start, Cycle busy, Cycle alone);
  void run();
  void activate(const isa::ActivateArgs& a, isa::Rounding rounding, int64_t pc);
  void vector_op(const isa::VectorArgs& a, isa::Rounding rounding);
  // The operand checks of prepare(), given the instruction's footprint.
  std::string check_act(const isa::ActivateArgs& a, const Footprint& footprint) const;
  std::string check_vop(const isa::VectorArgs& a, const Footprint& footprint) const;

  ChipContext& ctx_;
  UnifiedBuffer& ub_;
  Accumulators& acc_;
  const Cycle lanes_;
  const Cycle latency_;
  int64_t active_pc_ = -1;  // for waveforms
  UnitQueue queue_;

  StatGroup stats_{"activation_unit"};
  Counter& busy_cycles_ = stats_.add("busy_cycles", "cycles", "Cycles the pipeline took in elements");
  Counter& elements_ = stats_.add("elements", "elements", "Elements requantized and activated");
  Counter& lut_lookups_ = stats_.add("lut_lookups", "elements", "Elements through a sigmoid or tanh table");
  Counter& pool_outputs_ = stats_.add("pool_outputs", "elements", "Pooled elements written");
  Counter& vector_elements_ = stats_.add("vector_elements", "elements", "Elements combined by vop");
  Counter& port_wait_cycles_ = stats_.add("port_wait_cycles", "cycles",
                                          "Cycles act and vop took beyond their time with the unified buffer's "
                                          "ports to themselves: other units held a port they needed");
};

}  // namespace tpu::sim
