// rdw and mmul: values against the reference machine, cycles against the
// timing rules written as formulas of the configuration, in both fidelities.

#include <gtest/gtest.h>

#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

class MatrixMultiply : public testing::TestWithParam<std::string> {
 protected:
  std::vector<std::string> sets(std::vector<std::string> more = {}) const {
    more.push_back("fidelity=" + GetParam());
    return more;
  }
};

TEST_P(MatrixMultiply, ValuesOfAPartialTileEqualTheReference) {
  InstTester t(sets());
  t.host(0, random_bytes(3 * 5, 1)).dram(0, random_bytes(5 * 6, 2));
  t.code("rhm host=0 ub=0 len=15\nrdw dram=0 k=5 n=6\nsync units=host\nmmul ub=0 acc=4 rows=3 stride=5 swap").run();
  t.expect_matches_reference();
}

TEST_P(MatrixMultiply, AccumulateAddsToExistingPartialSums) {
  InstTester t(sets());
  t.host(0, random_bytes(16, 3)).dram(0, random_bytes(2 * 64, 4));
  t.code(
       "rhm host=0 ub=0 len=16\nrdw dram=0 k=8 n=8 repeat=2\nsync units=host\n"
       "mmul ub=0 acc=0 rows=2 stride=8 swap\nmmul ub=0 acc=0 rows=2 stride=8 swap accumulate")
      .run();
  t.expect_matches_reference();
  // Without accumulate the second product would simply replace the first.
  InstTester overwrite(sets());
  overwrite.host(0, random_bytes(16, 3)).dram(0, random_bytes(2 * 64, 4));
  overwrite
      .code(
          "rhm host=0 ub=0 len=16\nrdw dram=0 k=8 n=8 repeat=2\nsync units=host\n"
          "mmul ub=0 acc=0 rows=2 stride=8 swap\nmmul ub=0 acc=0 rows=2 stride=8 swap")
      .run();
  EXPECT_NE(overwrite.sim().acc, t.sim().acc);
}

TEST_P(MatrixMultiply, AnAccumulateReadsTheOldSumsItAddsTo) {
  // Two mmuls of 2 vectors; the second accumulates: its rows are read (all array columns) and written.
  InstTester t(sets());
  t.code("rdw dram=0 k=8 n=8 repeat=2\nmmul ub=0 acc=0 rows=2 stride=8 swap\nmmul ub=0 acc=0 rows=2 stride=8 swap "
         "accumulate")
      .run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const uint64_t row_bytes = 4 * t.timing().cols();
  EXPECT_EQ(t.sim().stat("accumulators", "write_bytes"), 4 * row_bytes);
  EXPECT_EQ(t.sim().stat("accumulators", "accumulate_read_bytes"), 2 * row_bytes);
}

TEST_P(MatrixMultiply, UnsignedInputsAndWeights) {
  InstTester t(sets());
  t.host(0, random_bytes(16, 5, 0, 255)).dram(0, random_bytes(64, 6, 0, 255));
  t.code("rhm host=0 ub=0 len=16\nrdw dram=0 k=8 n=8 uw\nsync units=host\nmmul ub=0 acc=0 rows=2 stride=8 swap uin")
      .run();
  t.expect_matches_reference();
  const auto x = random_bytes(16, 5, 0, 255), w = random_bytes(64, 6, 0, 255);
  int expected = 0;
  for (int k = 0; k < 8; ++k) expected += x[k] * w[k * 8];
  EXPECT_EQ(t.sim().acc[0], expected);
}

TEST_P(MatrixMultiply, ConvolutionTapsWalkTheImageWithStrides) {
  // A 2x2 convolution of a 4x4 image with 3 channels (3 bytes per pixel), output 3x3.
  InstTester t(sets());
  t.host(0, random_bytes(16 * 3, 7)).dram(0, random_bytes(4 * 3 * 4, 8));
  std::string code = "rhm host=0 ub=0 len=48\nrdw dram=0 k=3 n=4 repeat=4\nsync units=host\n";
  for (int tap = 0; tap < 4; ++tap) {
    const int dy = tap / 2, dx = tap % 2;
    code += "mmul ub=" + std::to_string((dy * 4 + dx) * 3) + " acc=0 rows=3 lines=3 stride=3 line_stride=12 swap" +
            (tap ? " accumulate" : "") + "\n";
  }
  t.code(code).run();
  t.expect_matches_reference();
}

TEST_P(MatrixMultiply, OneMultiplyTakesItsVectorsPlusFillAndDrain) {
  const uint64_t B = 5, k = 6, n = 7;
  InstTester t(sets());
  t.code("rdw dram=0 k=6 n=7\nmmul ub=0 acc=0 rows=5 stride=8 swap").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const uint64_t R = T.rows(), C = T.cols(), v = (k + T.row_bytes() - 1) / T.row_bytes();
  const uint64_t taken = T.issue(0) + 1;                                       // the weight engine takes rdw
  const uint64_t arrival = taken + T.tile_transfer(k, n) + T.dram_latency();  // the tile is in the FIFO
  const uint64_t ready = T.issue(1) + 1;                                       // mmul could start
  const uint64_t first = std::max(ready, arrival + R);                         // shifted in: R cycles
  const uint64_t done = first + (B - 1) * v + R + C;                           // last result written
  EXPECT_EQ(t.sim().cycles(), done);                                           // halt waits for it
  EXPECT_EQ(t.sim().stat("matrix_unit", "weight_stall_cycles"), std::max(ready, arrival) - ready);
  EXPECT_EQ(t.sim().stat("matrix_unit", "weight_shift_cycles"), first - std::max(ready, arrival));
  EXPECT_EQ(t.sim().stat("matrix_unit", "array_active_cycles"), B);
  EXPECT_EQ(t.sim().stat("matrix_unit", "useful_macs"), B * k * n);
  EXPECT_EQ(t.sim().stat("matrix_unit", "unused_macs"), B * (R * C - k * n));
  const auto slices = t.sim().slices("matrix_unit");
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(slices[0].start, first);
  EXPECT_EQ(slices[0].end, first + B * v);
}

// A partial tile moves the array's rows x cols bytes with whole-tile reads (TPU v1's fixed tiles),
// only its own k x n with exact ones: bytes, padding and the multiply's start follow.
TEST_P(MatrixMultiply, APartialTileMovesTheWholeArrayOrItsOwnBytes) {
  const uint64_t k = 3, n = 5, tiles = 2;
  for (const char* reads : {"whole", "exact"}) {
    InstTester t(sets({"weight_memory.burst_bytes=1", std::string("weight_memory.tile_reads=") + reads}));
    t.code("rdw dram=0 k=3 n=5 repeat=2\nmmul ub=0 acc=0 rows=2 stride=3 swap\nmmul ub=0 acc=2 rows=2 stride=3 swap")
        .run();
    ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    const Timing& T = t.timing();
    const uint64_t moved = std::string(reads) == "whole" ? T.rows() * T.cols() : k * n;
    EXPECT_EQ(t.sim().stat("weight_memory", "read_bytes"), tiles * moved) << reads;
    EXPECT_EQ(t.sim().stat("weight_memory", "padding_bytes"), tiles * (moved - k * n)) << reads;
    EXPECT_EQ(t.sim().stat("weight_fifo", "bytes"), tiles * moved) << reads << ": the FIFO holds the tile as moved";
    // The first tile is in the FIFO after its own bytes, shifted in R cycles later.
    const uint64_t arrival = T.issue(0) + 1 + T.dram_transfer(moved) + T.dram_latency();
    const auto slices = t.sim().slices("matrix_unit");
    ASSERT_EQ(slices.size(), 2u);
    EXPECT_EQ(slices[0].start, std::max(T.issue(1) + 1, arrival + T.rows())) << reads;
  }
}

TEST_P(MatrixMultiply, NarrowBufferPortsStallTheInput) {
  const uint64_t B = 4, k = 7;
  InstTester t(sets({"unified_buffer.row_bytes=3"}));
  t.code("rdw dram=0 k=7 n=8\nmmul ub=0 acc=0 rows=4 stride=7 swap").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const uint64_t v = (k + 2) / 3;  // cycles to read one vector through a 3-byte port
  EXPECT_EQ(t.sim().stat("matrix_unit", "input_stall_cycles"), B * (v - 1));
  const auto s = t.sim().slices("matrix_unit");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].end - s[0].start, B * v);
  EXPECT_EQ(t.sim().cycles(), s[0].start + (B - 1) * v + t.timing().rows() + t.timing().cols());
}

TEST_P(MatrixMultiply, ConsecutiveMultipliesStreamWithoutDraining) {
  InstTester t(sets());
  t.code("rdw dram=0 k=8 n=8\nmmul ub=0 acc=0 rows=6 stride=8 swap\nmmul ub=0 acc=8 rows=3 stride=8").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto s = t.sim().slices("matrix_unit");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].start, s[0].start + 6);  // the second block follows the first vector for vector
  EXPECT_EQ(t.sim().cycles(), s[1].start + 2 + t.timing().rows() + t.timing().cols());
}

TEST_P(MatrixMultiply, DoubleBufferingHidesTheShiftBehindALongBlock) {
  const uint64_t B1 = 40;  // longer than the 8-cycle shift
  InstTester t(sets());
  t.code("rdw dram=0 k=8 n=8 repeat=2\nmmul ub=0 acc=0 rows=40 stride=0 swap\nmmul ub=0 acc=40 rows=2 stride=0 swap")
      .run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto s = t.sim().slices("matrix_unit");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].start, s[0].start + B1);  // no wait for the second tile
  EXPECT_EQ(t.sim().stat("matrix_unit", "tiles_shifted"), 2u);
}

TEST_P(MatrixMultiply, AReplacedRegisterFreesColsCyclesAfterItsLastVector) {
  // Three tiles, blocks of one vector: the third tile goes into the register
  // the first used, which frees only when that block's vector has left row 0.
  InstTester t(sets());
  t.code(
       "rdw dram=0 k=8 n=8 repeat=3\nmmul ub=0 acc=0 rows=1 stride=0 swap\n"
       "mmul ub=0 acc=1 rows=1 stride=0 swap\nmmul ub=0 acc=2 rows=1 stride=0 swap")
      .run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto s = t.sim().slices("matrix_unit");
  ASSERT_EQ(s.size(), 3u);
  const uint64_t R = t.timing().rows(), C = t.timing().cols();
  // Tile 3 shifts from max(first block's vector + C, the second swap); arrivals are long past.
  const uint64_t shift3 = std::max(s[0].start + C, s[1].start);
  EXPECT_EQ(s[2].start, shift3 + R);
}

TEST_P(MatrixMultiply, AFaultCutsItsCountsAtTheFaultCycle) {
  // A long multiply is under way when an unsynchronized write to its inputs
  // faults: the run counts the vectors that entered before the fault, not the
  // whole instruction, and reports no throughput.
  const uint64_t k = 8, n = 8, gap = 200;
  InstTester t(sets({"accumulators.entries=65536"}));
  // The program states the multiply's MACs, as a compiled one would; only what ran counts.
  t.code(".meta macs \"4160000\"\n.meta macs.1 \"4160000\"\nrdw dram=0 k=8 n=8\nmmul ub=0 acc=0 rows=65000 stride=0 "
         "swap\nnop repeat=" + std::to_string(gap) + "\nrhm host=0 ub=0 len=8")
      .run();
  t.expect_fault(3, "hazard");
  const Timing& T = t.timing();
  const uint64_t R = T.rows(), C = T.cols();
  const uint64_t arrival = T.issue(0) + 1 + T.tile_transfer(k, n) + T.dram_latency();
  const uint64_t first = std::max(T.issue(1) + 1, arrival + R);  // the first vector enters
  const uint64_t fault = std::max(T.arrival(3) + T.p.sequencer.pipeline_stages - 1, T.issue(2) + gap) + 1;
  ASSERT_EQ(t.sim().result["fault"]["cycle"].get<uint64_t>(), fault);
  ASSERT_GT(fault, first + R + C);
  const uint64_t entered = fault - first;  // one vector a cycle until the fault
  EXPECT_EQ(t.sim().cycles(), fault);
  EXPECT_EQ(t.sim().stat("matrix_unit", "array_active_cycles"), entered);
  EXPECT_EQ(t.sim().stat("matrix_unit", "useful_macs"), entered * k * n);
  EXPECT_EQ(t.sim().stat("unified_buffer", "read_bytes"), entered * k);
  // A vector's row is written when its last column leaves the array, R + C - 1 cycles after it entered.
  EXPECT_EQ(t.sim().stat("accumulators", "row_writes"), entered - (R + C - 1));
  const auto& c = t.sim().result["counters"];
  EXPECT_EQ(c["non_matrix"]["cycles"].get<uint64_t>(),
            fault - entered - c["weight_stall"]["cycles"].get<uint64_t>() - c["weight_shift"]["cycles"].get<uint64_t>());
  for (const char* share : {"array_active", "weight_stall", "weight_shift", "non_matrix"}) {
    EXPECT_GE(c[share]["share"].get<double>(), 0.0) << share;
    EXPECT_LE(c[share]["share"].get<double>(), 1.0) << share;
  }
  EXPECT_TRUE(t.sim().result["throughput"]["tops"].is_null());
  EXPECT_TRUE(t.sim().result["throughput"]["inferences_per_s"].is_null());
  EXPECT_EQ(t.sim().result["throughput"]["macs"].get<uint64_t>(), entered * k * n);
  for (const auto& row : t.sim().result["layers"]) EXPECT_LE(row["macs"].get<uint64_t>(), entered * k * n);
}

TEST_P(MatrixMultiply, ThroughputBelievesStatedMacsOnlyUpToWhatTheArrayDid) {
  const uint64_t B = 2, k = 8, n = 8;
  for (const uint64_t stated : {B * k * n / 2, B * k * n * 1000}) {
    InstTester t(sets());
    t.code(".meta macs \"" + std::to_string(stated) + "\"\n.meta macs.1 \"" + std::to_string(stated) +
           "\"\ntag id=1\nrdw dram=0 k=8 n=8\nmmul ub=0 acc=0 rows=2 stride=8 swap")
        .run();
    ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    const auto& tp = t.sim().result["throughput"];
    const bool believed = stated <= B * k * n;
    const uint64_t macs = believed ? stated : B * k * n;
    EXPECT_EQ(tp["macs"].get<uint64_t>(), macs);
    EXPECT_EQ(tp["macs_from"], believed ? "program" : "matrix_unit.useful_macs");
    EXPECT_EQ(tp.contains("warning"), !believed);
    if (!believed) {
      EXPECT_EQ(tp["stated_macs"].get<uint64_t>(), stated);
    }
    const double seconds = t.sim().cycles() / (t.params().clock_mhz * 1e6);
    EXPECT_NEAR(tp["tops"].get<double>(), 2.0 * macs / seconds / 1e12, 1e-15);
    // The layer's row believes its statement on the same terms.
    const auto& rows = t.sim().result["layers"];
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[1]["macs"].get<uint64_t>(), macs);
  }
}

TEST_P(MatrixMultiply, MultiplyBeforeAnyTileFaultsAtIssue) {
  InstTester t(sets());
  t.code("nop\nmmul ub=0 acc=0 rows=1 stride=8").run();
  t.expect_fault(1, "no weight tile has been made active");
}

TEST_P(MatrixMultiply, TileTallerThanTheArrayFaults) {
  InstTester t(sets());
  t.code("rdw dram=0 k=9 n=8").run();
  t.expect_fault(0, "tile rows k=9 exceed the array's 8 rows");
}

TEST_P(MatrixMultiply, AccumulatorRowsOutOfRangeFault) {
  InstTester t(sets());
  t.code("rdw dram=0 k=8 n=8\nmmul ub=0 acc=250 rows=3 lines=3 stride=8 swap").run();
  t.expect_fault(1, "accumulator rows [250, 259) are outside the 256 accumulator rows");
}

TEST_P(MatrixMultiply, InputsOutsideTheBufferFault) {
  InstTester t(sets());
  t.code("rdw dram=0 k=8 n=8\nmmul ub=65530 acc=0 rows=1 stride=8 swap").run();
  t.expect_fault(1, "unified-buffer range [65530, 65538) is outside the 65536 bytes");
}

TEST_P(MatrixMultiply, SwapThatNoReadFeedsIsADeadlock) {
  InstTester t(sets());
  t.code("mmul ub=0 acc=0 rows=1 stride=8 swap").run();
  t.expect_fault(0, "deadlock: this mmul waits for a weight tile");
}

INSTANTIATE_TEST_SUITE_P(Fidelity, MatrixMultiply, testing::Values("fast", "pe"),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace tpu::test
