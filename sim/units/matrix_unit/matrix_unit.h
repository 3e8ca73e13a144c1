#pragma once

// MatrixUnit: a weight-stationary systolic array of rows x cols int8 MACs.
//
// Weights: every PE has two weight registers. A tile from the weight FIFO is
// shifted in from the top, one row per cycle (`rows` cycles), into the free
// register while the other serves computation. `mmul ... swap` makes the
// freshly shifted tile active; the register it replaces becomes free once the
// last vector that used it has left the top row of PEs, `cols` cycles after
// that vector entered.
//
// Data: an mmul reserves unified-buffer read-port time for its input
// vectors, ceil(k / row_bytes) cycles each, one vector after another, in the
// cycles other units have not taken: `stream_grant_cycles` of them at a time,
// the next grant asked for when the last runs out, so a unit asking meanwhile
// is served in between. A vector enters the array in the first cycle of its
// port time, so one enters per cycle while the port is free and as wide as
// the vector; every other cycle up to the last vector's port time is an
// input stall. Inputs are skewed
// so that element k reaches row k one cycle after element k-1; partial sums
// flow down and column c of a vector entering at cycle t is written to the
// accumulators at cycle t + rows + c. An instruction is done when its last
// result is written. Consecutive mmuls stream back to back, a new tile taking
// effect with the wavefront of the first vector that uses it.
//
// Two fidelities give the same cycles, counters and values: `fast` computes
// each instruction's timing in closed form and its values with one GEMM;
// `pe` steps every PE's registers each cycle (SystolicArray).

#include <memory>
#include <optional>
#include <systemc>

#include "sim/base/unit.h"
#include "sim/units/accumulators/accumulators.h"
#include "sim/units/matrix_unit/gemm.h"
#include "sim/units/unified_buffer/unified_buffer.h"
#include "sim/units/weight_fifo/weight_fifo.h"

namespace tpu::sim {

class SystolicArray;

class MatrixUnit : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(MatrixUnit);
  MatrixUnit(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, Accumulators& acc, WeightFifo& fifo);
  ~MatrixUnit() override;

  std::string prepare(const isa::Word& word, Footprint* footprint) override;
  // The pc of an mmul waiting for a weight tile, or -1.
  int64_t waiting_for_weights() const { return waiting_pc_; }
  // Cycles the pe fidelity stepped the array (0 in fast): for benchmarks, not a statistic of the chip.
  uint64_t pe_steps() const;
  UnitQueue& queue() override { return queue_; }
  StatGroup& stats() { return stats_; }
  void trace(sc_core::sc_trace_file* tf) const {
    sc_core::sc_trace(tf, active_pc_, "matrix_unit.pc");
    sc_core::sc_trace(tf, shadow_state_, "matrix_unit.shadow");
  }

 private:
  enum class Shadow { kEmpty, kLoading, kFull };

  void run_fast();
  void load_fast();
  void run_pe();
  void start_shift_pe(uint8_t reg);
  // Reserves read-port time from now for the next of `left` input vectors of the active tile, as many as
  // one stream grant holds: each takes a port for ceil(k / row_bytes) cycles and enters the array in
  // the first of them.
  PortGrant read_vectors(const Issued& insn, uint64_t left);
  // The counts of vectors of a k x n tile entering the array in the cycles of `entering`.
  void count_vectors(size_t region, uint64_t k, uint64_t n, When entering);
  // The unit was idle from `idle_from` until `next` issued: the sequencer's sync waits in between are RAW stalls.
  void count_raw_stalls(Cycle idle_from, const Issued& next);
  // fast: an mmul of `region` waits for the shadow tile (a weight stall, then a shift) until it is full.
  void begin_weight_wait(size_t region);
  void end_weight_wait();

  ChipContext& ctx_;
  UnifiedBuffer& ub_;
  Accumulators& acc_;
  WeightFifo& fifo_;
  const Cycle rows_, cols_;
  UnitQueue queue_;

  // fast fidelity: executor and loader share this state.
  std::optional<WeightTile> active_;
  WeightTile shadow_tile_;
  Shadow shadow_ = Shadow::kEmpty;
  Cycle free_at_ = 0;       // when the register the next tile goes into is free
  Cycle last_vector_ = 0;   // entry cycle of the last vector that used the active tile
  bool active_used_ = false;
  sc_core::sc_event shadow_changed_;
  Gemm gemm_;

  // pe fidelity
  std::unique_ptr<SystolicArray> array_;
  std::vector<int16_t> chain_rows_;  // the tile being shifted in, widened and zero-padded
  uint64_t shift_step_ = 0;
  uint8_t shadow_reg_ = 0;

  // For waveforms: the mmul feeding the array (-1 when none) and the shadow tile (0 empty, 1 shifting, 2 full).
  int64_t active_pc_ = -1;
  int shadow_state_ = 0;

  // What the unit is waiting for, for a deadlock report.
  int64_t waiting_pc_ = -1;
  size_t waiting_region_ = 0;

  StatGroup stats_{"matrix_unit"};
  Counter& array_active_cycles_ =
      stats_.add("array_active_cycles", "cycles", "Cycles in which an input vector entered the array");
  Counter& useful_macs_ = stats_.add("useful_macs", "MACs", "MACs on weights and inputs of the tile in use");
  Counter& unused_macs_ =
      stats_.add("unused_macs", "MACs", "MACs of the array left idle by a partial tile while vectors entered");
  Counter& weight_stall_cycles_ =
      stats_.add("weight_stall_cycles", "cycles", "Cycles an mmul waited for its tile to reach the array");
  Counter& weight_shift_cycles_ =
      stats_.add("weight_shift_cycles", "cycles", "Cycles an mmul waited for its tile to finish shifting in");
  Counter& raw_stall_cycles_ = stats_.add("raw_stall_cycles", "cycles",
                                         "Cycles the unit had nothing to run because its next mmul was held behind a "
                                         "sync waiting for another unit's results");
  Counter& input_stall_cycles_ =
      stats_.add("input_stall_cycles", "cycles", "Cycles the array waited for input vectors from the unified buffer");
  Counter& vectors_ = stats_.add("vectors", "vectors", "Input vectors multiplied");
  Counter& tiles_shifted_ = stats_.add("tiles_shifted", "tiles", "Weight tiles shifted into the array");
};

}  // namespace tpu::sim
