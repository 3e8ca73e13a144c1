// The sparse engine's PE array (sim/units/sparse_engine/pe_array.h): the two
// fidelities agree on cycles and every counter over thousands of random layers
// (sizes, densities, 1 to 256 PEs, queues 1 to 256 deep, skewed rows that
// starve some PEs, long gaps that need fillers), and the cycles match what is
// derived by hand for layers whose schedule is plain.

#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "sim/units/sparse_engine/pe_array.h"

namespace tpu::sim {
namespace {

namespace sp = isa::sparse;

SparseEngineParams engine(int64_t pes, int64_t queue, int64_t stages = 4, int64_t fanin = 4, int64_t width = 64) {
  SparseEngineParams p{};
  p.pes = pes;
  p.queue_depth = queue;
  p.spmat_bytes = 1 << 20;
  p.spmat_width_bits = width;
  p.pointer_bytes = 1 << 16;
  p.activation_bytes = 1 << 12;
  p.pipeline_stages = stages;
  p.detector_fanin = fanin;
  return p;
}

std::array<int16_t, sp::kCodebookEntries> codebook() {
  std::array<int16_t, sp::kCodebookEntries> c{};
  for (int i = 0; i < sp::kCodebookEntries; ++i) c[i] = static_cast<int16_t>(i);
  return c;
}

ResidentLayer layer_of(const std::vector<uint8_t>& m, uint32_t rows, uint32_t cols, uint32_t pes) {
  return ResidentLayer(sp::encode(m, rows, cols, pes, codebook(), 16, std::vector<int32_t>(rows, 0)));
}

std::vector<uint32_t> all_columns(uint32_t cols) {
  std::vector<uint32_t> c(cols);
  std::iota(c.begin(), c.end(), 0u);
  return c;
}

TEST(PeArray, DetectorTreeLevels) {
  EXPECT_EQ(detector_levels(64, 4), 3u);  // 16 + 4 + 1 = 21 detectors, as EIE
  EXPECT_EQ(detector_levels(1, 4), 1u);
  EXPECT_EQ(detector_levels(4, 4), 1u);
  EXPECT_EQ(detector_levels(5, 4), 2u);
  EXPECT_EQ(detector_levels(256, 2), 8u);
}

// Every PE holds one entry of every column: one activation a cycle, no stall, the work in lockstep.
TEST(PeArray, OneEntryPerColumnInEveryPeStreamsOneActivationACycle) {
  for (const char* fidelity : {"fast", "pe"}) {
    const uint32_t P = 16, K = 50;
    const ResidentLayer r = layer_of(std::vector<uint8_t>(P * K, 1), P, K, P);
    const PeArrayRun run = make_pe_array(engine(P, 8), fidelity)->run(r, all_columns(K));
    const uint64_t L = detector_levels(P, 4);
    EXPECT_EQ(run.cycles, L + K + 4) << fidelity;  // arrival of the first, K cycles of work, the pipeline
    EXPECT_EQ(run.broadcast_stalls, 0u) << fidelity;
    EXPECT_EQ(run.entries, uint64_t{P} * K);
    EXPECT_EQ(run.macs, uint64_t{P} * K);
    for (uint32_t p = 0; p < P; ++p) {
      EXPECT_EQ(run.busy[p], K);
      EXPECT_EQ(run.waiting[p], L) << "each PE waits for the first activation only";
    }
  }
}

// All the work in PE 0 (E entries of every column), the others' columns empty: PE 0 never starves;
// with a queue of Q the broadcast of activation k waits for PE 0 to start activation k - Q.
TEST(PeArray, AllWorkInOnePeHoldsTheBroadcastBehindItsQueue) {
  const uint32_t P = 8, E = 3, K = 10, Q = 2;
  std::vector<uint8_t> m(uint64_t{P} * E * K, 0);  // rows P * E: PE 0 has local rows 0 .. E-1
  for (uint32_t local = 0; local < E; ++local)
    for (uint32_t j = 0; j < K; ++j) m[uint64_t{local * P} * K + j] = 5;
  const ResidentLayer r = layer_of(m, P * E, K, P);
  const uint64_t L = detector_levels(P, 4);
  // S_0k = L + k E; B_k = max(B_{k-1} + 1, S_0(k-Q) + 1) = L + (k - Q) E + 1 once that is the larger.
  uint64_t b = 0, stalls = 0;
  for (uint64_t k = 1; k < K; ++k) {
    uint64_t next = b + 1;
    if (k >= Q) next = std::max(next, L + (k - Q) * E + 1);
    stalls += next - (b + 1);
    b = next;
  }
  for (const char* fidelity : {"fast", "pe"}) {
    const PeArrayRun run = make_pe_array(engine(P, Q), fidelity)->run(r, all_columns(K));
    EXPECT_EQ(run.cycles, L + uint64_t{K} * E + 4) << fidelity;
    EXPECT_EQ(run.busy[0], uint64_t{K} * E);
    EXPECT_EQ(run.waiting[0], L);
    EXPECT_EQ(run.busy[1], K) << "an empty column still takes its pointer read";
    EXPECT_EQ(run.broadcast_stalls, stalls) << fidelity;
    EXPECT_GT(stalls, 0u);
  }
}

// A queue of depth 1: each broadcast waits until every PE has started the activation before. PE 1
// holds 4 entries of every column, the others 1; L = 1, D = 4. By hand: B = 0, 2, 6, 10, 14, 18
// (each the cycle after PE 1 starts the one before: S = 1, 5, 9, 13, 17, 21), stalls
// 1 + 3 + 3 + 3 + 3 = 13, PE 1 done at 21 + 4 = 25, results at 25 + 4 = 29.
TEST(PeArray, AQueueOfOneSerializesBroadcastAndWork) {
  const uint32_t P = 4, K = 6;
  std::vector<uint8_t> m;
  uint32_t rows = 0;
  for (uint32_t local = 0; local < 4; ++local)
    for (uint32_t p = 0; p < P; ++p, ++rows)
      for (uint32_t j = 0; j < K; ++j) m.push_back(p == 1 || local == 0 ? 1 : 0);
  const ResidentLayer r = layer_of(m, rows, K, P);
  ASSERT_EQ(detector_levels(P, 4), 1u);
  for (const char* fidelity : {"fast", "pe"}) {
    const PeArrayRun run = make_pe_array(engine(P, 1), fidelity)->run(r, all_columns(K));
    EXPECT_EQ(run.cycles, 29u) << fidelity;
    EXPECT_EQ(run.broadcast_stalls, 13u) << fidelity;
    EXPECT_EQ(run.busy[1], 24u);
  }
}

TEST(PeArray, NoActivationsTakeOnlyThePipeline) {
  const ResidentLayer r = layer_of(std::vector<uint8_t>(64, 1), 8, 8, 4);
  for (const char* fidelity : {"fast", "pe"}) {
    const PeArrayRun run = make_pe_array(engine(4, 8, 5), fidelity)->run(r, {});
    EXPECT_EQ(run.cycles, 5u);
    EXPECT_EQ(run.entries, 0u);
  }
}

// Counters against the layer itself: entries, fillers and 64-bit reads of the activated columns.
TEST(PeArray, CountsEntriesFillersAndReadsOfTheActivatedColumns) {
  std::mt19937_64 rng(3);
  const uint32_t rows = 200, cols = 30, P = 4;
  std::vector<uint8_t> m(rows * cols, 0);
  for (uint8_t& v : m) v = rng() % 20 == 0 ? static_cast<uint8_t>(1 + rng() % 15) : 0;
  const sp::SparseLayer l = sp::encode(m, rows, cols, P, codebook(), 16, std::vector<int32_t>(rows, 0));
  const std::vector<uint32_t> active = {0, 3, 4, 9, 17, 29};
  uint64_t entries = 0, fillers = 0, reads = 0;
  for (uint32_t p = 0; p < P; ++p)
    for (uint32_t j : active)
      for (uint32_t e = l.pe[p].pointers[j]; e < l.pe[p].pointers[j + 1]; ++e) {
        ++entries;
        fillers += sp::entry_index(l.pe[p].entries[e]) == 0;
        if (e == l.pe[p].pointers[j] || e % 8 == 0) ++reads;  // a new 8-entry word
      }
  ASSERT_GT(fillers, 0u);
  const PeArrayRun run = make_pe_array(engine(P, 8), "fast")->run(ResidentLayer(l), active);
  EXPECT_EQ(run.entries, entries);
  EXPECT_EQ(run.fillers, fillers);
  EXPECT_EQ(run.macs, entries - fillers);
  EXPECT_EQ(run.spmat_reads, reads);
  EXPECT_EQ(run.pointer_reads, 2u * P * active.size());
}

// The two fidelities agree on everything over thousands of random layers.
TEST(PeArray, FidelitiesAgreeOnRandomLayers) {
  std::mt19937_64 rng(11);
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  for (int trial = 0; trial < 3000; ++trial) {
    const uint32_t P = 1 + static_cast<uint32_t>(rng() % (trial % 10 == 0 ? 256 : 32));
    const uint32_t rows = 1 + static_cast<uint32_t>(rng() % 400), cols = 1 + static_cast<uint32_t>(rng() % 60);
    const double density = uniform(0, 1) < 0.2 ? uniform(0, 0.03) : uniform(0, 1);
    // Skew: some rows (so some PEs) far denser than others.
    const double skew = uniform(0, 1) < 0.3 ? uniform(1, 20) : 1;
    std::vector<uint8_t> m(uint64_t{rows} * cols, 0);
    for (uint32_t i = 0; i < rows; ++i) {
      const double d = std::min(1.0, density * (i % 7 == 0 ? skew : 1.0));
      for (uint32_t j = 0; j < cols; ++j)
        if (uniform(0, 1) < d) m[uint64_t{i} * cols + j] = static_cast<uint8_t>(1 + rng() % 15);
    }
    std::vector<uint32_t> active;
    const double act = uniform(0, 1);
    for (uint32_t j = 0; j < cols; ++j)
      if (uniform(0, 1) < act) active.push_back(j);
    const int64_t queue = trial % 5 == 0 ? 1 + static_cast<int64_t>(rng() % 256) : 1 + static_cast<int64_t>(rng() % 10);
    const SparseEngineParams e = engine(P, queue, 1 + static_cast<int64_t>(rng() % 8),
                                        2 + static_cast<int64_t>(rng() % 6), 8 * (1 + static_cast<int64_t>(rng() % 16)));
    const ResidentLayer r = layer_of(m, rows, cols, P);
    const PeArrayRun fast = make_pe_array(e, "fast")->run(r, active);
    const PeArrayRun pe = make_pe_array(e, "pe")->run(r, active);
    ASSERT_TRUE(fast == pe) << "trial " << trial << ": " << P << " PEs, queue " << queue << ", " << rows << " x "
                            << cols << ": cycles " << fast.cycles << " vs " << pe.cycles << ", stalls "
                            << fast.broadcast_stalls << " vs " << pe.broadcast_stalls;
  }
}

}  // namespace
}  // namespace tpu::sim
