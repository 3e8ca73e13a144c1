#pragma once

// SparseEngine: the EIE-style engine that runs `spmv` (Han et al., ISCA 2016).
// An spmv goes through, in order:
//   load     unless its image (by weight-DRAM address and size) is resident,
//            the image streams from weight DRAM over the weight memory's
//            channel (shared with rdw) into the PEs' SRAMs; it then stays
//            resident, so running the layer again reads no DRAM (unless an ldw
//            has written its bytes since). Images that
//            no longer fit beside a new one leave, oldest first. An image that
//            is malformed, of another shape than the instruction says, or too
//            large for one PE's SRAMs is a fault naming why.
//   input    the int8 input vector is read from the unified buffer (a read
//            port for ceil(cols / row_bytes) cycles), while the image loads;
//   compute  the PE array (pe_array.h) from the later of the two: the non-zero
//            activations broadcast, each PE working through its columns; at
//            the engine's clock, converted to the chip's (the PE counters are
//            in engine cycles). A run without values has no activations to
//            look at: every one counts as non-zero (a dense input's bound);
//   output   each row's int32 sum (its bias plus the products) requantized and
//            through the nonlinearity, written to the unified buffer (a write
//            port for ceil(rows / row_bytes) cycles). A layer in column slices
//            (isa SparsePart) keeps the sums in the accumulators instead, for
//            the next slice to add to; only its last slice writes.
// The instruction is done when its output is written.

#include <memory>
#include <optional>
#include <systemc>
#include <vector>

#include "sim/base/unit.h"
#include "sim/units/sparse_engine/pe_array.h"
#include "sim/units/unified_buffer/unified_buffer.h"
#include "sim/units/weight_memory/weight_memory.h"

namespace tpu::sim {

class SparseEngine : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(SparseEngine);
  SparseEngine(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, WeightMemory& weights);

  std::string prepare(const isa::Word& word, Footprint* footprint) override;
  UnitQueue& queue() override { return queue_; }
  StatGroup& stats() { return stats_; }
  uint64_t pe_steps() const { return array_->pe_steps(); }
  void trace(sc_core::sc_trace_file* tf) const { sc_core::sc_trace(tf, active_pc_, "sparse_engine.pc"); }

 private:
  struct Resident {
    uint64_t dram = 0, bytes = 0;
    size_t writes = 0;  // weight-DRAM writes (ldw) already checked against it: a later one over its bytes makes it stale
    std::unique_ptr<ResidentLayer> layer;
  };
  void run();
  // The resident image of the spmv, loading it (and timing the load) when it is not; null after a fault.
  const ResidentLayer* resident(const Issued& insn, const isa::SparseArgs& a, Cycle* ready);
  // Why `layer` cannot live in the PEs' SRAMs, or "".
  std::string fit_error(const isa::sparse::SparseLayer& layer) const;
  // Cycles of the engine's clock in the chip's, rounded up.
  Cycle chip_cycles(Cycle engine_cycles) const;
  // Why the spmv's part does not follow the one before (a slice with no sums to add to, or new
  // sums while kept ones wait), or "".
  std::string part_error(const isa::SparseArgs& a) const;
  // `carried` (the kept sums, or empty) plus the bias and the products of the non-zero activations' columns.
  std::vector<uint32_t> sums(const isa::SparseArgs& a, const ResidentLayer& r, const std::vector<uint32_t>& columns,
                             std::vector<uint32_t> carried) const;
  // The rows' sums requantized, through the nonlinearity, into the unified buffer.
  void write_outputs(const isa::SparseArgs& a, const std::vector<uint32_t>& sums, isa::Rounding rounding);

  ChipContext& ctx_;
  UnifiedBuffer& ub_;
  WeightMemory& weights_;
  const SparseEngineParams& params_;
  std::unique_ptr<PeArray> array_;
  std::vector<Resident> resident_;  // oldest first
  // The sums a slice (part first or middle) left in the accumulators for the next spmv.
  struct Kept {
    uint64_t rows = 0;
    int64_t pc = 0;
    std::vector<uint32_t> sums;  // empty without values
  };
  std::optional<Kept> kept_;
  int64_t active_pc_ = -1;          // for waveforms
  UnitQueue queue_;

  StatGroup stats_{"sparse_engine"};
  Counter& busy_cycles_ = stats_.add("busy_cycles", "cycles", "Cycles from an spmv's start to its output written");
  Counter& compute_cycles_ = stats_.add("compute_cycles", "cycles", "Chip cycles the PE array worked on spmvs");
  // The PE array's counters below are in cycles of the engine's clock.
  Counter& array_cycles_ =
      stats_.add("array_cycles", "engine cycles", "Cycles of the engine's clock the PE array worked on spmvs");
  Counter& load_wait_cycles_ =
      stats_.add("load_wait_cycles", "cycles", "Cycles an spmv waited for its image to load beyond its input read");
  Counter& layer_loads_ = stats_.add("layer_loads", "layers", "Layer images loaded from weight DRAM");
  Counter& load_bytes_ = stats_.add("load_bytes", "bytes", "Bytes of layer images loaded");
  Counter& evictions_ = stats_.add("evictions", "layers", "Resident images that left to make room");
  Counter& activations_ = stats_.add("activations", "activations", "Non-zero input activations broadcast");
  Counter& zero_activations_ = stats_.add("zero_activations", "activations", "Zero input activations skipped");
  Counter& broadcast_stalls_ =
      stats_.add("broadcast_stall_cycles", "engine cycles", "Cycles the broadcast waited because a PE's queue was full");
  Counter& pe_busy_ = stats_.add("pe_busy_cycles", "engine PE-cycles", "Cycles PEs worked on a column, summed over PEs");
  Counter& pe_waiting_ = stats_.add("pe_queue_empty_cycles", "engine PE-cycles",
                                    "Cycles PEs had no activation to start before their last one, summed over PEs");
  Counter& pe_idle_ = stats_.add("pe_idle_cycles", "engine PE-cycles",
                                 "Compute cycles PEs did not work on a column, summed over PEs");
  Counter& busiest_pe_ = stats_.add("busiest_pe_cycles", "engine cycles",
                                    "The busiest PE's cycles of work, summed over spmvs (the load imbalance is this "
                                    "over pe_busy_cycles / pes)");
  Counter& entries_ = stats_.add("entries", "entries", "Sparse-matrix entries processed, fillers included");
  Counter& fillers_ = stats_.add("filler_entries", "entries", "Filler entries (zeros after 15 zeros) processed");
  Counter& macs_ = stats_.add("macs", "MACs", "Multiply-accumulates on non-zero weights");
  Counter& dense_macs_ = stats_.add("dense_macs", "MACs",
                                    "The layers' dense products, zeros included (rows x cols per spmv): the network's "
                                    "work the engine did");
  Counter& spmat_reads_ = stats_.add("spmat_reads", "reads", "Reads of the sparse-matrix SRAMs (one word each)");
  Counter& pointer_reads_ = stats_.add("pointer_reads", "reads", "Reads of the column-pointer banks");
  // What the energy table prices: bytes of each SRAM, the accumulators' traffic, the queues' bits.
  Counter& spmat_read_bytes_ =
      stats_.add("spmat_read_bytes", "bytes", "Bytes read from the sparse-matrix SRAMs (whole words)");
  Counter& pointer_read_bytes_ = stats_.add("pointer_read_bytes", "bytes", "Bytes of column pointers read");
  Counter& accumulator_read_bytes_ = stats_.add(
      "accumulator_read_bytes", "bytes", "Bytes of the destination accumulators read: an int32 per MAC and per row at the end");
  Counter& accumulator_write_bytes_ = stats_.add(
      "accumulator_write_bytes", "bytes",
      "Bytes of the destination accumulators written: an int32 per MAC and per row's bias at the start");
  Counter& queue_bits_ = stats_.add("queue_bits", "bits",
                                    "Bits written into activation queues: an int8 value and a 16-bit column index per "
                                    "PE per broadcast");
  Counter& outputs_ = stats_.add("outputs", "elements", "Rows requantized and written");
  // Per PE (pe<i>.busy_cycles, ...), in engine cycles: its work, its compute cycles without work,
  // and its waits with an empty queue before its last column.
  struct PeCounters {
    Counter *busy, *idle, *queue_empty;
  };
  std::vector<PeCounters> per_pe_;
};

}  // namespace tpu::sim
