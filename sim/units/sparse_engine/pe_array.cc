// The two fidelities of the PE array (pe_array.h): the recurrence evaluated
// activation by activation, and every PE's queue and pipeline stepped cycle
// by cycle. What a PE does with a column (its entries, fillers and reads) is
// counted by one function both share; the timing is theirs alone.

#include "sim/units/sparse_engine/pe_array.h"

#include <algorithm>
#include <deque>
#include <stdexcept>

namespace tpu::sim {

ResidentLayer::ResidentLayer(isa::sparse::SparseLayer l) : layer(std::move(l)) {
  fillers.resize(layer.pes);
  for (uint32_t p = 0; p < layer.pes; ++p) {
    const auto& pc = layer.pe[p];
    fillers[p].assign(layer.cols, 0);
    for (uint32_t j = 0; j < layer.cols; ++j)
      for (uint32_t e = pc.pointers[j]; e < pc.pointers[j + 1]; ++e)
        fillers[p][j] += isa::sparse::entry_index(pc.entries[e]) == 0;
  }
}

uint64_t detector_levels(int64_t pes, int64_t fanin) {
  uint64_t levels = 1;
  for (int64_t reach = fanin; reach < pes; reach *= fanin) ++levels;
  return levels;
}

namespace {

struct Shape {
  uint64_t queue, latency, drain, width;
};

Shape shape_of(const SparseEngineParams& p) {
  return {static_cast<uint64_t>(p.queue_depth), detector_levels(p.pes, p.detector_fanin),
          static_cast<uint64_t>(p.pipeline_stages), static_cast<uint64_t>(p.spmat_width_bits / 8)};
}

// PE p's column j: its entries, and what working on it counts. Returns E.
uint64_t count_column(const ResidentLayer& r, uint32_t p, uint32_t j, uint64_t width, PeArrayRun& out) {
  const auto& ptr = r.layer.pe[p].pointers;
  const uint64_t a = ptr[j], b = ptr[j + 1], fillers = r.fillers[p][j];
  out.entries += b - a;
  out.fillers += fillers;
  out.macs += b - a - fillers;
  out.spmat_reads += spmat_reads(a, b, width);
  out.pointer_reads += 2;
  return b - a;
}

void check(const ResidentLayer& r, const SparseEngineParams& params, const std::vector<uint32_t>& columns) {
  if (r.layer.pes != static_cast<uint32_t>(params.pes))
    throw std::invalid_argument("a layer encoded for " + std::to_string(r.layer.pes) + " PEs on an engine of " +
                                std::to_string(params.pes));
  for (uint32_t j : columns)
    if (j >= r.layer.cols) throw std::invalid_argument("activation column " + std::to_string(j) + " outside the layer");
}

// What both fidelities share: the engine's shape, and a run's checks and empty counters.
class PeArrayBase : public PeArray {
 public:
  explicit PeArrayBase(const SparseEngineParams& params) : params_(params), shape_(shape_of(params)) {}

 protected:
  PeArrayRun begin(const ResidentLayer& r, const std::vector<uint32_t>& columns) const {
    check(r, params_, columns);
    PeArrayRun out;
    out.busy.assign(r.layer.pes, 0);
    out.waiting.assign(r.layer.pes, 0);
    return out;
  }
  SparseEngineParams params_;
  Shape shape_;
};

class FastPeArray : public PeArrayBase {
 public:
  using PeArrayBase::PeArrayBase;

  PeArrayRun run(const ResidentLayer& r, const std::vector<uint32_t>& columns) override {
    PeArrayRun out = begin(r, columns);
    const uint32_t P = r.layer.pes;
    const uint64_t K = columns.size(), Q = shape_.queue;
    std::vector<Cycle> free_at(P, 0);  // S + W of the PE's last column
    // starts[k % Q][p]: S_pk of the last Q activations, for the queue condition.
    std::vector<std::vector<Cycle>> starts(std::min<uint64_t>(Q, std::max<uint64_t>(K, 1)), std::vector<Cycle>(P, 0));
    Cycle broadcast = 0;
    for (uint64_t k = 0; k < K; ++k) {
      Cycle b = k == 0 ? 0 : broadcast + 1;
      if (k >= Q)
        for (uint32_t p = 0; p < P; ++p) b = std::max(b, starts[k % Q][p] + 1);
      if (k > 0) out.broadcast_stalls += b - (broadcast + 1);
      broadcast = b;
      const Cycle arrives = b + shape_.latency;
      for (uint32_t p = 0; p < P; ++p) {
        const Cycle s = std::max(free_at[p], arrives);
        out.waiting[p] += s - free_at[p];
        const uint64_t w = std::max<uint64_t>(1, count_column(r, p, columns[k], shape_.width, out));
        out.busy[p] += w;
        free_at[p] = s + w;
        starts[k % Q][p] = s;
      }
    }
    Cycle end = 0;
    for (Cycle f : free_at) end = std::max(end, f);
    out.cycles = end + shape_.drain;
    return out;
  }
};

class SteppedPeArray : public PeArrayBase {
 public:
  using PeArrayBase::PeArrayBase;

  PeArrayRun run(const ResidentLayer& r, const std::vector<uint32_t>& columns) override {
    PeArrayRun out = begin(r, columns);
    const uint32_t P = r.layer.pes;
    const uint64_t K = columns.size();
    struct Pe {
      std::deque<std::pair<uint32_t, Cycle>> queue;  // (column, arrival): broadcast, not yet started
      uint64_t left = 0;                             // cycles left on the column in hand
      uint64_t started = 0;                          // activations started
      uint64_t idle = 0;                             // cycles with nothing to start since the last start
    };
    std::vector<Pe> pes(P);
    uint64_t next = 0;  // the next activation to broadcast
    Cycle finish = 0;   // the first cycle after every column started so far
    for (Cycle t = 0;; ++t) {
      // The broadcast sees the queues as the cycle found them: an entry freed now serves the next cycle.
      if (next < K) {
        bool room = true;
        for (const Pe& pe : pes) room = room && pe.queue.size() < shape_.queue;
        if (room) {
          for (Pe& pe : pes) pe.queue.emplace_back(columns[next], t + shape_.latency);
          ++next;
        } else {
          ++out.broadcast_stalls;
        }
      }
      bool queued = false;
      for (uint32_t p = 0; p < P; ++p) {
        Pe& pe = pes[p];
        if (pe.left == 0 && !pe.queue.empty() && pe.queue.front().second <= t) {
          pe.left = std::max<uint64_t>(1, count_column(r, p, pe.queue.front().first, shape_.width, out));
          pe.queue.pop_front();
          ++pe.started;
          out.waiting[p] += pe.idle;
          pe.idle = 0;
          finish = std::max(finish, t + pe.left);
        } else if (pe.left == 0 && pe.started < K) {
          ++pe.idle;
        }
        if (pe.left > 0) {  // one entry (or the pointer read of an empty column) into the pipeline
          ++out.busy[p];
          --pe.left;
        }
        queued = queued || !pe.queue.empty();
      }
      steps_ += P;
      if (next == K && !queued && t + 1 >= finish) break;
    }
    // The pipeline never stalls (the bypass): the last result is written D cycles after the last issue.
    out.cycles = finish + shape_.drain;
    return out;
  }
  uint64_t pe_steps() const override { return steps_; }

 private:
  uint64_t steps_ = 0;
};

}  // namespace

std::unique_ptr<PeArray> make_pe_array(const SparseEngineParams& params, const std::string& fidelity) {
  if (fidelity == "pe") return std::make_unique<SteppedPeArray>(params);
  return std::make_unique<FastPeArray>(params);
}

}  // namespace tpu::sim
