// spmv on the sparse engine: results equal the reference machine's (a dense
// product row by row), the cycles of load, input, compute and output add up
// as the engine's documentation says, a resident image is not read again,
// images that do not fit leave oldest first, and bad images fault by name.

#include <gtest/gtest.h>

#include <random>

#include "isa/sparse_image.h"
#include "sim/top/energy.h"
#include "sim/units/sparse_engine/pe_array.h"
#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

namespace sp = isa::sparse;

const std::vector<std::string> kEngine = {"sparse_engine.pes=4", "sparse_engine.clock_mhz=0"};

std::vector<std::string> with(std::vector<std::string> sets, const std::vector<std::string>& more) {
  sets.insert(sets.end(), more.begin(), more.end());
  return sets;
}

// A rows x cols layer for `pes` PEs with `density` of non-zero weights, codebook values within
// +-`scale` and biases within +-10 `scale`.
sp::SparseLayer random_layer(uint32_t rows, uint32_t cols, double density, uint32_t seed, uint32_t pes = 4,
                             int scale = 1000) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<uint8_t> m(uint64_t{rows} * cols, 0);
  for (uint8_t& v : m)
    if (u(rng) < density) v = static_cast<uint8_t>(1 + rng() % 15);
  std::array<int16_t, sp::kCodebookEntries> codebook{};
  for (int i = 1; i < sp::kCodebookEntries; ++i)
    codebook[i] = static_cast<int16_t>(static_cast<int>(rng() % (2 * scale + 1)) - scale);
  std::vector<int32_t> bias(rows);
  for (int32_t& b : bias) b = static_cast<int32_t>(rng() % (20 * scale + 1)) - 10 * scale;
  return sp::encode(m, rows, cols, pes, codebook, 16, bias);
}

std::vector<int> bytes_of(const std::vector<uint8_t>& v) { return std::vector<int>(v.begin(), v.end()); }

std::string spmv(const sp::SparseLayer& l, uint64_t dram, uint64_t in, uint64_t out, const std::string& rest) {
  return "spmv dram=" + std::to_string(dram) + " in=" + std::to_string(in) + " out=" + std::to_string(out) +
         " rows=" + std::to_string(l.rows) + " cols=" + std::to_string(l.cols) +
         " bytes=" + std::to_string(sp::image_bytes(l)) + " " + rest;
}

// With the identity requantization and small values every output is its row's sum itself: one
// product or bias off shows.
TEST(Spmv, GivesEachRowsSumExactly) {
  for (double density : {0.05, 0.5}) {
    const sp::SparseLayer l = random_layer(40, 12, density, 21, 4, 1);
    InstTester t(kEngine);
    t.dram(0, bytes_of(sp::serialize(l))).host(0, random_bytes(12, 3, -2, 3));
    t.code("rhm host=0 ub=0 len=12\nsync units=host\n" + spmv(l, 0, 0, 64, "mult=1073741824 shift=-1 zin=1")).run();
    t.expect_matches_reference();
    const std::vector<uint8_t> w = sp::decode(l);
    const std::vector<int> x = random_bytes(12, 3, -2, 3);
    for (uint32_t r = 0; r < l.rows; ++r) {
      int64_t sum = l.bias[r];
      for (uint32_t c = 0; c < l.cols; ++c) sum += l.codebook[w[r * l.cols + c]] * (x[c] - 1);
      ASSERT_LT(std::abs(sum), 128);
      EXPECT_EQ(static_cast<int8_t>(t.sim().ub[64 + r]), sum) << "row " << r;
    }
  }
}

TEST(Spmv, MatchesTheReferenceForEveryFunctionAndZeroPoint) {
  const char* cases[] = {"mult=1073741824 shift=8 zin=3 zp=-2",
                         "mult=1500000000 shift=10 zin=0 zp=5 func=relu",
                         "mult=2000000000 shift=12 zin=-7 zp=0 func=sigmoid frac=4",
                         "mult=1200000000 shift=9 zin=1 zp=0 func=tanh frac=5"};
  uint32_t seed = 1;
  for (const char* c : cases)
    for (double density : {0.02, 0.3, 1.0}) {
      const sp::SparseLayer l = random_layer(37, 23, density, ++seed);
      InstTester t(kEngine);
      t.dram(0, bytes_of(sp::serialize(l))).host(0, random_bytes(23, seed, -10, 10));
      t.code("rhm host=0 ub=0 len=23\nsync units=host\n" + spmv(l, 0, 0, 64, c)).run();
      t.expect_matches_reference();
      EXPECT_GT(t.sim().stat("sparse_engine", "macs"), 0u) << c;
    }
}

// Every PE holds one entry of every column and every activation is non-zero: the image streams in
// while the input is read, then L + cols + D cycles of compute (pe_array.h), then the output.
TEST(Spmv, LoadInputComputeAndOutputAddUp) {
  for (const char* fidelity : {"fidelity=fast", "fidelity=pe"}) {
    const uint32_t cols = 40;
    const sp::SparseLayer l = random_layer(4, cols, 1.0, 9);
    InstTester t(with(kEngine, {fidelity}));
    // The buffer holds zeros, so zin=1 makes every activation -1.
    t.dram(0, bytes_of(sp::serialize(l))).code(spmv(l, 0, 0, 64, "mult=1 zin=1")).run();
    ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    const Timing& T = t.timing();
    const uint64_t start = T.issue(0) + 1;
    const uint64_t loaded = start + T.dram_transfer(sp::image_bytes(l)) + T.dram_latency();
    const uint64_t read = start + T.port_cycles(cols);
    const uint64_t compute = sim::detector_levels(4, 4) + cols + static_cast<uint64_t>(T.p.sparse_engine.pipeline_stages);
    EXPECT_EQ(t.sim().cycles(), std::max(loaded, read) + compute + T.port_cycles(4)) << fidelity;
    EXPECT_EQ(t.sim().stat("sparse_engine", "activations"), cols);
    EXPECT_EQ(t.sim().stat("sparse_engine", "entries"), 4u * cols);
    EXPECT_EQ(t.sim().stat("sparse_engine", "layer_loads"), 1u);
    const uint64_t burst = static_cast<uint64_t>(T.p.weight_memory.burst_bytes);
    EXPECT_EQ(t.sim().stat("weight_memory", "read_bytes"), (sp::image_bytes(l) + burst - 1) / burst * burst);
  }
}

// A second spmv of the same image reads no DRAM: it starts when the first is done and takes its
// input, compute and output alone.
TEST(Spmv, AResidentLayerIsNotLoadedAgain) {
  const uint32_t cols = 40;
  const sp::SparseLayer l = random_layer(4, cols, 1.0, 9);
  InstTester t(kEngine);
  t.dram(0, bytes_of(sp::serialize(l)))
      .code(spmv(l, 0, 0, 64, "mult=1 zin=1") + "\n" + spmv(l, 0, 0, 128, "mult=1 zin=1"))
      .run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  InstTester once(kEngine);
  once.dram(0, bytes_of(sp::serialize(l))).code(spmv(l, 0, 0, 64, "mult=1 zin=1")).run();
  const Timing& T = t.timing();
  const uint64_t again = T.port_cycles(cols) + sim::detector_levels(4, 4) + cols +
                         static_cast<uint64_t>(T.p.sparse_engine.pipeline_stages) + T.port_cycles(4);
  EXPECT_EQ(t.sim().cycles(), once.sim().cycles() + again);
  EXPECT_EQ(t.sim().stat("sparse_engine", "layer_loads"), 1u);
  EXPECT_EQ(t.sim().stat("weight_memory", "read_bytes"), once.sim().stat("weight_memory", "read_bytes"));
}

// Zero activations cost nothing: an input of zin alone leaves only the pipeline's depth.
TEST(Spmv, ZeroActivationsCostNothing) {
  const sp::SparseLayer l = random_layer(16, 30, 0.5, 4);
  InstTester t(with(kEngine, {"sparse_engine.pipeline_stages=6"}));
  t.dram(0, bytes_of(sp::serialize(l))).code(spmv(l, 0, 0, 64, "mult=1 zin=0")).run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  EXPECT_EQ(t.sim().stat("sparse_engine", "activations"), 0u);
  EXPECT_EQ(t.sim().stat("sparse_engine", "zero_activations"), 30u);
  EXPECT_EQ(t.sim().stat("sparse_engine", "compute_cycles"), 6u);
  EXPECT_EQ(t.sim().stat("sparse_engine", "entries"), 0u);
}

// Room for two images: A, B, C, A loads four times; C makes A (the oldest) leave, A again makes B
// leave. An ldw over a resident image's bytes makes it stale: the next spmv of it loads it again.
TEST(Spmv, ImagesThatNoLongerFitLeaveOldestFirstAndRewrittenOnesReload) {
  const sp::SparseLayer a = random_layer(16, 20, 0.5, 5), b = random_layer(16, 20, 0.5, 6),
                        c = random_layer(16, 20, 0.5, 8);
  // Any two fit every PE's sparse-matrix SRAM; the three do not.
  uint64_t room = 0;
  for (uint32_t p = 0; p < 4; ++p)
    room = std::max({room, a.entries(p) + b.entries(p), b.entries(p) + c.entries(p), a.entries(p) + c.entries(p)});
  const uint64_t at_b = 4096, at_c = 8192;
  InstTester t(with(kEngine, {"sparse_engine.spmat_bytes=" + std::to_string(room)}));
  t.dram(0, bytes_of(sp::serialize(a))).dram(at_b, bytes_of(sp::serialize(b))).dram(at_c, bytes_of(sp::serialize(c)));
  t.code(spmv(a, 0, 0, 64, "mult=1 zin=1") + "\n" + spmv(b, at_b, 0, 128, "mult=1 zin=1") + "\n" +
         spmv(c, at_c, 0, 192, "mult=1 zin=1") + "\n" + spmv(a, 0, 0, 256, "mult=1 zin=1"))
      .run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  EXPECT_EQ(t.sim().stat("sparse_engine", "layer_loads"), 4u);
  EXPECT_EQ(t.sim().stat("sparse_engine", "evictions"), 2u);
  // A, then its first 64 bytes written again from the host (the same bytes), then A.
  const std::vector<uint8_t> image = sp::serialize(a);
  InstTester w(kEngine);
  w.dram(0, bytes_of(image)).host(0, bytes_of(std::vector<uint8_t>(image.begin(), image.begin() + 64)));
  w.code(spmv(a, 0, 0, 64, "mult=1 zin=1") + "\nsync units=sparse\nldw host=0 dram=0 len=64\nsync units=host\n" +
         spmv(a, 0, 0, 128, "mult=1 zin=1"))
      .run();
  ASSERT_TRUE(w.sim().halted()) << w.sim().fault_reason();
  EXPECT_EQ(w.sim().stat("sparse_engine", "layer_loads"), 2u);
  w.expect_matches_reference();
}

// The engine at 800 MHz on a 700 MHz chip: its cycles are the chip's, rounded up.
TEST(Spmv, AnEngineOnItsOwnClockTakesItsCyclesInTheChips) {
  const sp::SparseLayer l = random_layer(64, 30, 0.4, 12);
  InstTester t({"sparse_engine.pes=4", "sparse_engine.clock_mhz=800", "clock_mhz=700"});
  t.dram(0, bytes_of(sp::serialize(l))).code(spmv(l, 0, 0, 128, "mult=1 zin=1")).run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const uint64_t engine = t.sim().stat("sparse_engine", "array_cycles");
  EXPECT_GT(engine, 30u);
  EXPECT_EQ(t.sim().stat("sparse_engine", "compute_cycles"), (engine * 700 + 799) / 800);
  EXPECT_LE(t.sim().result["sparse_engine"]["pe_utilization"].get<double>(), 1.0);
}

TEST(Spmv, BadImagesAndShapesFaultByName) {
  const sp::SparseLayer l = random_layer(8, 6, 0.5, 7);
  std::vector<uint8_t> image = sp::serialize(l);
  auto run = [&](const std::vector<uint8_t>& img, const std::string& insn, const std::vector<std::string>& sets = {}) {
    InstTester t(with(kEngine, sets));
    t.dram(0, bytes_of(img)).code("nop\n" + insn).run();
    return t;
  };
  {
    std::vector<uint8_t> bad = image;
    bad[sp::kHeaderBytes + 4 * 8 + 4 + 2] = 200;  // PE 0's column 1 pointer
    run(bad, spmv(l, 0, 0, 64, "mult=1 zin=1"))
        .expect_fault(1, "the layer image at weight-DRAM 0: PE 0: column 0 ends at entry 200");
  }
  run(image, "spmv dram=0 in=0 out=64 rows=9 cols=6 bytes=" + std::to_string(image.size()) + " mult=1")
      .expect_fault(1, "holds a 8 x 6 layer of " + std::to_string(image.size()) + " bytes; the instruction names 9 x 6");
  run(image, spmv(l, 0, 0, 64, "mult=1 zin=1"), {"sparse_engine.spmat_bytes=1"})
      .expect_fault(1, "does not fit the sparse engine: PE 0 needs");
  const std::vector<uint8_t> two = sp::serialize(random_layer(8, 6, 0.5, 7, 2));
  run(two, spmv(random_layer(8, 6, 0.5, 7, 2), 0, 0, 64, "mult=1"))
      .expect_fault(1, "the image is for 2 PEs; this engine has 4");
  run(image, spmv(l, 0, 0, 64, "mult=1"), {"sparse_engine.activation_bytes=4"})
      .expect_fault(1, "8 rows need 2 accumulators in a PE; its 4 bytes hold 1");
  run(image, spmv(l, 0, 65532, 64, "mult=1")).expect_fault(1, "input vector [65532, 65538) is outside");
}

// A layer in column slices: the sums carry from slice to slice, so three spmvs over the columns
// [0, 10), [10, 25) and [25, 30) of a layer (the bias in the first) give the whole layer's outputs;
// only the last writes.
TEST(Spmv, ColumnSlicesCarryTheirSumsToTheLast) {
  const uint32_t rows = 21, cols = 30;
  std::mt19937 rng(12);
  std::vector<uint8_t> m(uint64_t{rows} * cols, 0);
  for (uint8_t& v : m) v = rng() % 3 == 0 ? static_cast<uint8_t>(1 + rng() % 15) : 0;
  std::array<int16_t, sp::kCodebookEntries> codebook{};
  for (int i = 1; i < sp::kCodebookEntries; ++i) codebook[i] = static_cast<int16_t>(i * 37 - 300);
  std::vector<int32_t> bias(rows);
  for (int32_t& b : bias) b = static_cast<int32_t>(rng() % 2001) - 1000;
  const sp::SparseLayer whole = sp::encode(m, rows, cols, 4, codebook, 16, bias);
  const uint32_t cuts[] = {0, 10, 25, 30};
  std::vector<sp::SparseLayer> slices;
  for (int s = 0; s < 3; ++s) {
    std::vector<uint8_t> part;
    for (uint32_t r = 0; r < rows; ++r)
      part.insert(part.end(), m.begin() + r * cols + cuts[s], m.begin() + r * cols + cuts[s + 1]);
    slices.push_back(sp::encode(part, rows, cuts[s + 1] - cuts[s], 4, codebook, 16,
                                s == 0 ? bias : std::vector<int32_t>(rows, 0)));
  }
  const std::string q = "mult=1500000000 shift=12 zin=2 zp=-3 func=relu";
  const std::vector<int> x = random_bytes(cols, 8);
  InstTester one(kEngine);
  one.dram(0, bytes_of(sp::serialize(whole))).host(0, x);
  one.code("rhm host=0 ub=0 len=30\nsync units=host\n" + spmv(whole, 0, 0, 64, q)).run();
  InstTester t(kEngine);
  uint64_t at = 0;
  std::string code = "rhm host=0 ub=0 len=30\nsync units=host\n";
  const char* parts[] = {"part=first", "part=middle", "part=last"};
  for (int s = 0; s < 3; ++s) {
    t.dram(at, bytes_of(sp::serialize(slices[s])));
    code += spmv(slices[s], at, cuts[s], 64, q + " " + parts[s]) + "\n";
    at += (sp::image_bytes(slices[s]) + 63) / 64 * 64;
  }
  t.host(0, x).code(code).run();
  t.expect_matches_reference();
  for (uint32_t r = 0; r < rows; ++r) ASSERT_EQ(t.sim().ub[64 + r], one.sim().ub[64 + r]) << "row " << r;
  EXPECT_EQ(t.sim().stat("sparse_engine", "outputs"), rows) << "the first two slices write nothing";
  EXPECT_EQ(t.sim().stat("sparse_engine", "layer_loads"), 3u);
  EXPECT_EQ(t.sim().stat("unified_buffer", "write_bytes"), one.sim().stat("unified_buffer", "write_bytes"));
}

TEST(Spmv, SlicesOutOfOrderFaultByName) {
  const sp::SparseLayer l = random_layer(8, 6, 0.5, 7);
  const sp::SparseLayer other = random_layer(9, 6, 0.5, 8);
  auto run = [&](const std::string& code) {
    InstTester t(kEngine);
    t.dram(0, bytes_of(sp::serialize(l))).dram(4096, bytes_of(sp::serialize(other))).code(code).run();
    return t;
  };
  run(spmv(l, 0, 0, 64, "mult=1 part=last"))
      .expect_fault(0, "part=last adds to the sums an spmv before it kept, but none did");
  run(spmv(l, 0, 0, 64, "mult=1") + "\n" + spmv(l, 0, 0, 64, "mult=1 part=middle"))
      .expect_fault(1, "part=middle adds to the sums an spmv before it kept, but none did");
  run(spmv(l, 0, 0, 64, "mult=1 part=first") + "\n" + spmv(other, 4096, 0, 64, "mult=1 part=last"))
      .expect_fault(1, "part=last adds to the 8 rows' sums the spmv at pc 0 kept, but has 9 rows");
  run(spmv(l, 0, 0, 64, "mult=1 part=first") + "\n" + spmv(l, 0, 0, 64, "mult=1"))
      .expect_fault(1, "part=whole starts new sums while the spmv at pc 0 kept its sums");
}

// The load imbalance the run reports: the busiest PE's work over the mean PE's. With every entry
// in PE 0 (E per column) and the others' columns empty (a pointer read each), it is
// K E / ((K E + 3 K) / 4); in lockstep it is 1.
TEST(Spmv, ReportsTheLoadImbalance) {
  const uint32_t E = 5, K = 12;
  std::vector<uint8_t> m(uint64_t{4} * E * K, 0);
  for (uint32_t local = 0; local < E; ++local)
    for (uint32_t j = 0; j < K; ++j) m[uint64_t{local * 4} * K + j] = 3;
  std::array<int16_t, sp::kCodebookEntries> codebook{};
  codebook[3] = 7;
  const sp::SparseLayer skewed = sp::encode(m, 4 * E, K, 4, codebook, 4, std::vector<int32_t>(4 * E, 0));
  const sp::SparseLayer even = random_layer(4, K, 1.0, 9);
  for (const auto& [layer, want] : {std::pair{skewed, double(K * E) / ((K * E + 3.0 * K) / 4)}, std::pair{even, 1.0}}) {
    InstTester t(kEngine);
    t.dram(0, bytes_of(sp::serialize(layer))).code(spmv(layer, 0, 0, 64, "mult=1 zin=1")).run();
    ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    EXPECT_DOUBLE_EQ(t.sim().result["sparse_engine"]["load_imbalance"].get<double>(), want);
  }
  // Per PE: the skewed layer's PE 0 works K E cycles, each other one K (a pointer read a column) and
  // idles the rest of the array's cycles.
  InstTester t(kEngine);
  t.dram(0, bytes_of(sp::serialize(skewed))).code(spmv(skewed, 0, 0, 64, "mult=1 zin=1")).run();
  const uint64_t cycles = t.sim().stat("sparse_engine", "array_cycles");
  EXPECT_EQ(t.sim().stat("sparse_engine", "pe0.busy_cycles"), uint64_t{K} * E);
  for (const char* pe : {"pe1", "pe2", "pe3"}) {
    EXPECT_EQ(t.sim().stat("sparse_engine", std::string(pe) + ".busy_cycles"), K) << pe;
    EXPECT_EQ(t.sim().stat("sparse_engine", std::string(pe) + ".idle_cycles"), cycles - K) << pe;
  }
  EXPECT_EQ(t.sim().stat("sparse_engine", "pe0.queue_empty_cycles"), sim::detector_levels(4, 4));
}

}  // namespace
}  // namespace tpu::test

namespace tpu::test {
namespace {

// The engine's events are priced like the rest of the chip's: each of its memories per byte at the
// price of a macro of its size (a macro per PE), the arithmetic from the table's operations. A chip
// without an engine prices those events at nothing.
TEST(Spmv, IsPricedByTheEnginesMemoriesAndArithmetic) {
  const sp::SparseLayer l = random_layer(32, 40, 0.4, 14);
  InstTester t(kEngine);
  t.dram(0, bytes_of(sp::serialize(l))).code(spmv(l, 0, 0, 64, "mult=1 zin=1")).run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const sim::EnergyModel m = sim::load_energy_model(t.params());
  const auto& e = t.sim().result["energy"];
  const auto price = [&](const char* name) { return e["derived_prices_pj"][name].get<double>(); };
  const sim::SparseEngineParams& s = t.params().sparse_engine;
  EXPECT_DOUBLE_EQ(price("sparse_spmat_read"), sim::sram_byte_pj(m, t.params(), {"sparse_spmat", 4, s.spmat_bytes, 2}, false));
  EXPECT_DOUBLE_EQ(price("sparse_pointers_read"),
                   sim::sram_byte_pj(m, t.params(), {"sparse_pointers", 8, s.pointer_bytes / 2, 2}, false));
  EXPECT_DOUBLE_EQ(price("sparse_accumulators_write"),
                   sim::sram_byte_pj(m, t.params(), {"sparse_accumulators", 4, s.activation_bytes, 2}, true));
  const std::map<std::string, double> ops = sim::chip_prices(m, t.params());
  const std::map<std::string, double> per_count = {
      {"sparse_engine.spmat_read_bytes", price("sparse_spmat_read")},
      {"sparse_engine.pointer_read_bytes", price("sparse_pointers_read")},
      {"sparse_engine.accumulator_read_bytes", price("sparse_accumulators_read")},
      {"sparse_engine.accumulator_write_bytes", price("sparse_accumulators_write")},
      {"sparse_engine.macs", 2 * ops.at("int8_mult") + ops.at("int32_add")},
      {"sparse_engine.queue_bits", ops.at("register_data")},
      {"sparse_engine.load_bytes", price("sparse_spmat_write")},
      {"sparse_engine.outputs", ops.at("int32_mult") + ops.at("int32_add")}};
  size_t seen = 0;
  for (const auto& ev : e["events"]) {
    const auto it = per_count.find(ev["counter"].get<std::string>());
    if (it == per_count.end()) continue;
    ++seen;
    const std::string stat = it->first.substr(it->first.find('.') + 1);
    EXPECT_EQ(ev["count"].get<uint64_t>(), t.sim().stat("sparse_engine", stat)) << it->first;
    EXPECT_GT(ev["count"].get<uint64_t>(), 0u) << it->first;
    EXPECT_NEAR(ev["pj"].get<double>(), ev["count"].get<double>() * it->second, 1e-9 * ev["pj"].get<double>()) << it->first;
  }
  EXPECT_EQ(seen, per_count.size());
  EXPECT_EQ(t.sim().stat("sparse_engine", "spmat_read_bytes"), 8 * t.sim().stat("sparse_engine", "spmat_reads"));
  EXPECT_EQ(t.sim().stat("sparse_engine", "accumulator_write_bytes"),
            4 * (t.sim().stat("sparse_engine", "macs") + l.rows));
  EXPECT_EQ(t.sim().stat("sparse_engine", "queue_bits"), 24u * 4 * l.cols) << "every activation to 4 PEs";
  InstTester none;
  none.code("nop").run();
  EXPECT_EQ(none.sim().result["energy"]["derived_prices_pj"]["sparse_spmat_read"].get<double>(), 0.0);
}

}  // namespace
}  // namespace tpu::test
