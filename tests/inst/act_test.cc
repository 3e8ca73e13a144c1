// act: requantization, nonlinearities, pooling and per-lane parameters against
// the reference machine; cycles against the activation pipeline's rules.

#include <gtest/gtest.h>

#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

class Activate : public testing::TestWithParam<std::string> {
 protected:
  // Fills accumulator rows [0, rows) with random products: x (rows x 8) times W (8 x 8).
  InstTester& with_products(InstTester& t, int rows, uint32_t seed) {
    t.host(0, random_bytes(rows * 8, seed)).dram(0, random_bytes(64, seed + 1));
    t.code("rhm host=0 ub=0 len=" + std::to_string(rows * 8) +
           "\nrdw dram=0 k=8 n=8\nsync units=host\nmmul ub=0 acc=0 rows=" + std::to_string(rows) +
           " stride=8 swap\nsync units=matrix");
    return t;
  }
  std::vector<std::string> sets(std::vector<std::string> more = {}) const {
    more.push_back("fidelity=" + GetParam());
    return more;
  }
};

TEST_P(Activate, EveryFunctionMatchesTheReference) {
  for (const char* func : {"identity", "relu", "relu6", "sigmoid", "tanh"}) {
    InstTester t(sets());
    with_products(t, 6, 11);
    t.code(std::string("act acc=0 ub=0x400 rows=6 cols=8 stride=8 mult=0x1234567 shift=3 zp=-5 frac=4 func=") + func)
        .run();
    SCOPED_TRACE(func);
    t.expect_matches_reference();
  }
}

TEST_P(Activate, EveryRoundingModeMatchesTheReference) {
  for (int mode = 0; mode < 3; ++mode) {
    InstTester t(sets());
    with_products(t, 4, 12);
    t.code("setcfg reg=round value=" + std::to_string(mode) +
           "\nact acc=0 ub=0x400 rows=4 cols=8 stride=8 mult=0x40000000 shift=4")
        .run();
    SCOPED_TRACE(mode);
    t.expect_matches_reference();
  }
}

TEST_P(Activate, MaxAndAveragePoolingMatchTheReference) {
  for (const char* pool : {"max", "avg"}) {
    InstTester t(sets());
    with_products(t, 16, 13);  // a 4x4 image of 8 channels
    t.code(std::string("act acc=0 ub=0x400 rows=16 cols=8 stride=8 mult=0x10000000 shift=2 width=4 pool_h=2 "
                       "pool_w=3 pool_sy=2 pool_sx=1 func=relu pool=") +
           pool)
        .run();
    SCOPED_TRACE(pool);
    t.expect_matches_reference();
  }
}

TEST_P(Activate, PerLaneTableSuppliesBiasMultiplierAndShift) {
  InstTester t(sets());
  std::vector<int> table;
  for (int lane = 0; lane < 8; ++lane)
    for (int32_t word : {lane * 1000 - 3000, (lane + 1) * 0x1000000, lane - 2})
      for (int b = 0; b < 4; ++b) table.push_back((static_cast<uint32_t>(word) >> (8 * b)) & 0xff);
  t.host(0x100, table);
  with_products(t, 3, 14);
  t.code(
       "rhm host=0x100 ub=0x800 len=96\nsync units=host\nact acc=0 ub=0x400 rows=3 cols=8 stride=8 mult=0 perlane "
       "params=0x800")
      .run();
  t.expect_matches_reference();
}

TEST_P(Activate, RawWritesTheInt32SumsWithTheirPerLaneBias) {
  InstTester t(sets());
  std::vector<int> table;
  for (int lane = 0; lane < 8; ++lane)
    for (int32_t word : {lane * 100000 - 300000, 7, 99})  // the multiplier and a bad shift are ignored
      for (int b = 0; b < 4; ++b) table.push_back((static_cast<uint32_t>(word) >> (8 * b)) & 0xff);
  t.host(0x100, table);
  with_products(t, 3, 15);
  t.code(
       "rhm host=0x100 ub=0x800 len=96\nsync units=host\nact acc=0 ub=0x400 rows=3 cols=8 stride=40 mult=0 perlane "
       "params=0x800 raw")
      .run();
  t.expect_matches_reference();
}

TEST_P(Activate, RawOutputTakesNoPooling) {
  InstTester t(sets());
  t.code("act acc=0 ub=0 rows=4 cols=8 stride=32 mult=1 pool=max width=2 pool_h=2 raw").run();
  t.expect_fault(0, "a raw (int32) output takes no pooling");
}

TEST_P(Activate, RawRowsTakeFourTimesTheWriteCycles) {
  const uint64_t rows = 6, cols = 8;
  InstTester t(sets({"activation_unit.lanes=8"}));
  t.code("act acc=0 ub=0 rows=6 cols=8 stride=32 mult=0 raw").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const uint64_t compute = rows * ((cols + T.lanes() - 1) / T.lanes());
  const uint64_t write = rows * ((4 * cols + T.row_bytes() - 1) / T.row_bytes());
  EXPECT_EQ(t.sim().stat("activation_unit", "busy_cycles"), std::max(compute, write));
}

TEST_P(Activate, OccupiesThePipelineForItsElementsThenItsLatency) {
  const uint64_t rows = 10, cols = 5;
  InstTester t(sets({"activation_unit.lanes=2"}));
  t.code("act acc=0 ub=0 rows=10 cols=5 stride=5 mult=1").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const uint64_t start = T.issue(0) + 1;
  const uint64_t compute = rows * ((cols + T.lanes() - 1) / T.lanes());        // lanes per cycle
  const uint64_t write = rows * ((cols + T.row_bytes() - 1) / T.row_bytes());  // one port row per cycle
  const uint64_t busy = std::max(compute, write);
  EXPECT_EQ(t.sim().cycles(), start + busy + static_cast<uint64_t>(T.p.activation_unit.latency_cycles));
  EXPECT_EQ(t.sim().stat("activation_unit", "busy_cycles"), busy);
  EXPECT_EQ(t.sim().stat("activation_unit", "elements"), rows * cols);
}

TEST_P(Activate, ReadingAccumulatorsBeforeTheirMultiplyFinishesIsAHazard) {
  InstTester t(sets());
  t.code("rdw dram=0 k=8 n=8\nmmul ub=0 acc=0 rows=4 stride=8 swap\nact acc=2 ub=0x400 rows=1 cols=8 stride=8 mult=1")
      .run();
  t.expect_fault(2, "hazard: this instruction reads accumulator rows [2, 3) that the earlier instruction at pc 1");
  EXPECT_NE(t.sim().fault_reason().find("add `sync units=matrix`"), std::string::npos);
}

TEST_P(Activate, ShiftOutsideTheRangeFaultsAtIssue) {
  InstTester t(sets());
  t.code("act acc=0 ub=0 rows=1 cols=8 stride=8 mult=1 shift=40").run();
  t.expect_fault(0, "shift 40 is outside [-31, 31]");
}

TEST_P(Activate, PoolingWindowLargerThanTheImageFaults) {
  InstTester t(sets());
  t.code("act acc=0 ub=0 rows=4 cols=8 stride=8 mult=1 pool=max width=2 pool_h=3").run();
  t.expect_fault(0, "pooling window 3x1 is larger than the 2x2 image");
}

TEST_P(Activate, BadPerLaneShiftFaultsWhenRead) {
  InstTester t(sets());
  std::vector<int> table(96, 0);
  table[8] = 99;  // lane 0 shift
  t.host(0, table);
  t.code(
       "rhm host=0 ub=0x800 len=96\nsync units=host\nact acc=0 ub=0 rows=1 cols=8 stride=8 mult=0 perlane params=0x800")
      .run();
  t.expect_fault(2, "lane 0: shift 99 is outside [-31, 31]");
}

INSTANTIATE_TEST_SUITE_P(Fidelity, Activate, testing::Values("fast", "pe"),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace tpu::test
