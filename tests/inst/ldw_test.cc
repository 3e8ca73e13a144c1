// ldw (host memory -> weight DRAM): loaded bytes serve as weight tiles,
// cycles as formulas of the config, and the hazards a missing sync leaves
// in both directions (an rdw reading bytes still arriving, an ldw
// overwriting bytes an rdw has not streamed yet).

#include <gtest/gtest.h>

#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

// An activation tile computed on the chip goes out to the host, into weight
// DRAM and back through the weight FIFO: x * W with W loaded by ldw.
TEST(WeightLoad, LoadedBytesServeAsAWeightTile) {
  const int k = 6, n = 5, rows = 4;
  const auto w = random_bytes(k * n, 4), x = random_bytes(rows * k, 5);
  InstTester t;
  t.host(0, w).host(0x100, x);
  t.code(
       "ldw host=0 dram=0x40 len=5 repeat=6 host_stride=5 dram_stride=5\n"
       "rhm host=0x100 ub=0 len=24\n"
       "sync units=host\n"
       "rdw dram=0x40 k=6 n=5\n"
       "mmul ub=0 acc=0 rows=4 stride=6 swap")
      .run();
  t.expect_matches_reference();
  for (int i = 0; i < rows; ++i)
    for (int c = 0; c < n; ++c) {
      int32_t sum = 0;
      for (int r = 0; r < k; ++r) sum += x[i * k + r] * w[r * n + c];
      EXPECT_EQ(t.sim().acc[i * t.timing().cols() + c], sum) << i << "," << c;
    }
  EXPECT_EQ(t.sim().stat("host_interface", "weight_load_bytes"), 30u);
  EXPECT_EQ(t.sim().stat("weight_memory", "write_bytes"), 30u);
}

TEST(WeightLoad, TakesTheLinkLatencyPlusItsBytesAtTheLinkBandwidth) {
  InstTester t;
  t.code("ldw host=0 dram=0 len=1000 repeat=3 host_stride=1000 dram_stride=1000").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  EXPECT_EQ(t.sim().cycles(), T.issue(0) + 1 + T.host_transfer(3000) + T.host_latency());
}

TEST(WeightLoad, ReadingWeightsStillArrivingIsAHazard) {
  InstTester t;
  t.code("ldw host=0 dram=0 len=64\nrdw dram=32 k=8 n=8").run();
  t.expect_fault(1, "hazard: this instruction reads weight-DRAM bytes");
  EXPECT_NE(t.sim().fault_reason().find("add `sync units=host`"), std::string::npos);
}

TEST(WeightLoad, OverwritingTilesNotYetStreamedIsAHazard) {
  // More tiles than the FIFO holds: the rdw is still streaming when ldw writes its last tile.
  InstTester t;
  const uint64_t depth = static_cast<uint64_t>(t.params().weight_fifo.depth_tiles);
  const uint64_t tiles = depth + 2, tile = t.timing().rows() * t.timing().cols();
  t.code("rdw dram=0 k=" + std::to_string(t.timing().rows()) + " n=" + std::to_string(t.timing().cols()) +
         " repeat=" + std::to_string(tiles) +
         "\nsync units=weights\nldw host=0 dram=" + std::to_string((tiles - 1) * tile) + " len=16")
      .run();
  t.expect_fault(2, "has not streamed into the weight FIFO yet");
}

// Weight DRAM reused: a tile is read, multiplied, then overwritten by ldw and read again.
TEST(WeightLoad, ReloadingATileAfterItsMultiplyIsExact) {
  const auto w1 = random_bytes(16, 6), w2 = random_bytes(16, 7), x = random_bytes(8, 8);
  InstTester t;
  t.host(0, w2).host(0x100, x).dram(0, w1);
  t.code(
       "rhm host=0x100 ub=0 len=8\n"
       "rdw dram=0 k=4 n=4\n"
       "sync units=host\n"
       "mmul ub=0 acc=0 rows=2 stride=4 swap\n"
       "sync units=matrix\n"
       "ldw host=0 dram=0 len=16\n"
       "sync units=host\n"
       "rdw dram=0 k=4 n=4\n"
       "mmul ub=0 acc=2 rows=2 stride=4 swap")
      .run();
  t.expect_matches_reference();
  for (int i = 0; i < 2; ++i)
    for (int c = 0; c < 4; ++c) {
      int32_t first = 0, second = 0;
      for (int r = 0; r < 4; ++r) {
        first += x[i * 4 + r] * w1[r * 4 + c];
        second += x[i * 4 + r] * w2[r * 4 + c];
      }
      EXPECT_EQ(t.sim().acc[i * t.timing().cols() + c], first) << i << "," << c;
      EXPECT_EQ(t.sim().acc[(2 + i) * t.timing().cols() + c], second) << i << "," << c;
    }
}

TEST(WeightLoad, OverwritingTilesOfAQueuedRdwNamesTheMmulToWaitFor) {
  // The first rdw fills the FIFO and keeps streaming; the second waits in the weights unit's queue.
  InstTester t;
  const uint64_t depth = static_cast<uint64_t>(t.params().weight_fifo.depth_tiles);
  t.code("rdw dram=0 k=8 n=8 repeat=" + std::to_string(depth + 2) +
         "\nrdw dram=0x10000 k=8 n=8\nldw host=0 dram=0x10000 len=16")
      .run();
  t.expect_fault(2, "wait for the mmul that swaps in its last tile (`sync units=matrix`)");
}

TEST(WeightLoad, BlocksOutsideWeightDramFault) {
  InstTester t;
  t.code("ldw host=0 dram=0xffffffffff len=16").run();
  t.expect_fault(0, "weight DRAM range");
}

}  // namespace
}  // namespace tpu::test
