#pragma once

// The sparse engine's processing elements at work on one spmv, once the
// layer is resident in their SRAMs and the input vector read: how many cycles
// it takes and what each PE did. Two fidelities give the same answer: `fast`
// evaluates the recurrence below activation by activation; `pe` steps the
// broadcast and every PE's queue and column each cycle.
//
// Cycle 0 is the first the broadcast may use. The central control finds the
// K non-zero activations (zero ones cost nothing) and broadcasts the k-th at
// cycle B_k, one per cycle at most, into every PE's activation queue, where
// it arrives L cycles later (L: the levels of the leading non-zero detector
// tree). An activation holds a queue entry from its broadcast until its PE
// starts on it; the broadcast waits while any PE's queue of depth Q is full,
// a freed entry being usable the cycle after. PE p starts on activation k at
// S_pk and works W_pk = max(1, E_pk) cycles, E_pk being the entries of its
// column k (fillers included; an empty column still takes the cycle of its
// pointer read):
//   B_0 = 0,  B_k = max(B_{k-1} + 1, max_p S_{p,k-Q} + 1)   (the second term for k >= Q)
//   S_pk = max(S_{p,k-1} + W_{p,k-1}, B_k + L)
// Each entry issues one multiply-accumulate; the pipeline of D stages
// (a bypass serves back-to-back writes to one accumulator, so it never
// stalls) writes the last result D cycles after the last issue. The spmv's
// compute ends at max_p (S_{p,K-1} + W_{p,K-1}) + D, or D when K is 0.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "isa/sparse_image.h"
#include "sim/base/cycles.h"
#include "sim/base/params.h"

namespace tpu::sim {

// A resident layer with what the timing models read of it, computed once at load.
struct ResidentLayer {
  explicit ResidentLayer(isa::sparse::SparseLayer layer);
  isa::sparse::SparseLayer layer;
  // Per PE, per column: its filler entries (index 0).
  std::vector<std::vector<uint32_t>> fillers;
};

struct PeArrayRun {
  Cycle cycles = 0;                // compute end, as above
  std::vector<uint64_t> busy;      // per PE: cycles working on a column (sum of W)
  std::vector<uint64_t> waiting;   // per PE: cycles before its last column it had nothing to start
  uint64_t broadcast_stalls = 0;   // cycles the broadcast was held by a full queue
  uint64_t entries = 0;            // processed, fillers included
  uint64_t fillers = 0;
  uint64_t macs = 0;               // entries that are not fillers
  uint64_t spmat_reads = 0;        // reads of spmat_width_bits
  uint64_t pointer_reads = 0;      // one per bank: two per activation per PE
  friend bool operator==(const PeArrayRun& a, const PeArrayRun& b) {
    return a.cycles == b.cycles && a.busy == b.busy && a.waiting == b.waiting &&
           a.broadcast_stalls == b.broadcast_stalls && a.entries == b.entries && a.fillers == b.fillers &&
           a.macs == b.macs && a.spmat_reads == b.spmat_reads && a.pointer_reads == b.pointer_reads;
  }
};

class PeArray {
 public:
  virtual ~PeArray() = default;
  // The run over the non-zero activations' column indices `columns`, in broadcast order.
  virtual PeArrayRun run(const ResidentLayer& layer, const std::vector<uint32_t>& columns) = 0;
  // Cycles stepped for every PE (pe fidelity; 0 in fast): for benchmarks.
  virtual uint64_t pe_steps() const { return 0; }
};

// "fast" or "pe", as ChipParams::fidelity.
std::unique_ptr<PeArray> make_pe_array(const SparseEngineParams& params, const std::string& fidelity);

// L: levels of a tree of `fanin`-way detectors over `pes` PEs (at least 1).
uint64_t detector_levels(int64_t pes, int64_t fanin);

// Reads of `width` entries that entries [a, b) of one column take.
inline uint64_t spmat_reads(uint64_t a, uint64_t b, uint64_t width) { return b > a ? (b - 1) / width - a / width + 1 : 0; }

}  // namespace tpu::sim
