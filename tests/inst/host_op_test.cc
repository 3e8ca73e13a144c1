// hop (host steps) and ldw (host memory -> weight DRAM): values against
// independent float definitions and the reference machine, cycles as
// formulas of the config, and the hazards a missing sync leaves.

#include <gtest/gtest.h>

#include <cmath>

#include "isa/host_ops.h"
#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

std::vector<int> as_ints(const std::vector<uint8_t>& bytes) { return {bytes.begin(), bytes.end()}; }

TEST(HostOp, TransposeWritesColumnsAsRows) {
  const auto src = random_bytes(15, 1);
  InstTester t;
  t.host(0, src).code("hop fn=transpose src=0 dst=0x100 rows=3 cols=5\nrhm host=0x100 ub=0 len=15").run();
  t.expect_matches_reference();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(int8_t(t.sim().ub[c * 3 + r]), src[r * 5 + c]) << r << "," << c;
}

TEST(HostOp, SoftmaxRoundsProbabilitiesToSevenBits) {
  const double scale = 0.07;
  const int rows = 4, cols = 37;
  const auto x = random_bytes(rows * cols, 2);
  InstTester t;
  t.host(0, x).host(0x1000, as_ints(isa::host::softmax_params(scale)));
  t.code("hop fn=softmax src=0 dst=0x200 rows=4 cols=37 params=0x1000\nrhm host=0x200 ub=0 len=148").run();
  t.expect_matches_reference();
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    for (int j = 0; j < cols; ++j) sum += std::exp(scale * x[r * cols + j]);
    for (int j = 0; j < cols; ++j) {
      const double p = std::exp(scale * x[r * cols + j]) / sum;
      EXPECT_NEAR(int8_t(t.sim().ub[r * cols + j]), 127 * p, 0.51) << r << "," << j;
    }
  }
}

TEST(HostOp, LayerNormMatchesTheFloatDefinition) {
  const int rows = 3, cols = 24, zp = -5;
  const double in_scale = 0.05, out_scale = 0.03, out_zp = 4, eps = 1e-3;
  const auto x = random_bytes(rows * cols, 3);
  std::vector<double> gamma(cols), beta(cols), a(cols), b(cols);
  for (int j = 0; j < cols; ++j) {
    gamma[j] = 0.5 + 0.05 * j, beta[j] = 0.1 * (j % 5) - 0.2;
    a[j] = gamma[j] / out_scale, b[j] = beta[j] / out_scale + out_zp;
  }
  InstTester t;
  t.host(0, x).host(0x1000, as_ints(isa::host::layernorm_params(eps / (in_scale * in_scale), zp, a, b)));
  t.code("hop fn=layernorm src=0 dst=0x200 rows=3 cols=24 params=0x1000\nrhm host=0x200 ub=0 len=72").run();
  t.expect_matches_reference();
  for (int r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int j = 0; j < cols; ++j) mean += in_scale * (x[r * cols + j] - zp) / cols;
    for (int j = 0; j < cols; ++j) var += std::pow(in_scale * (x[r * cols + j] - zp) - mean, 2) / cols;
    for (int j = 0; j < cols; ++j) {
      const double y = (in_scale * (x[r * cols + j] - zp) - mean) / std::sqrt(var + eps) * gamma[j] + beta[j];
      const double q = std::clamp(y / out_scale + out_zp, -128.0, 127.0);
      EXPECT_NEAR(int8_t(t.sim().ub[r * cols + j]), q, 0.5 + 1e-9) << r << "," << j;
    }
  }
}

TEST(HostOp, TakesTheInterruptRoundTripPlusItsBytesAtTheHostRate) {
  InstTester t;
  t.code("hop fn=transpose src=0 dst=0x1000 rows=40 cols=100").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const uint64_t busy = T.ns(T.p.host_interface.op_latency_ns) + T.transfer(2 * 4000, T.p.host_interface.op_bandwidth_gb_s);
  EXPECT_EQ(t.sim().cycles(), T.issue(0) + 1 + busy);
  EXPECT_EQ(t.sim().stat("host_interface", "host_op_cycles"), busy);
  EXPECT_EQ(t.sim().stat("host_interface", "host_ops"), 1u);
}

TEST(HostOp, LayerNormOfAConstantRowWithoutEpsIsZero) {
  // 0 / sqrt(0) is NaN, which the host writes as 0 (and never as an undefined conversion).
  std::vector<int> x(8, 5);
  InstTester t;
  t.host(0, x).host(0x200, std::vector<int>(8, 99));  // the result overwrites these
  t.host(0x1000, as_ints(isa::host::layernorm_params(0, 0, std::vector<double>(8, 3.0), std::vector<double>(8, 7.0))));
  t.code("hop fn=layernorm src=0 dst=0x200 rows=1 cols=8 params=0x1000\nrhm host=0x200 ub=0 len=8").run();
  t.expect_matches_reference();
  for (int j = 0; j < 8; ++j) EXPECT_EQ(t.sim().ub[j], 0) << j;
}

TEST(HostOp, AnOperandBeyondTheLimitFaultsAtIssue) {
  InstTester t;
  t.code("hop fn=transpose src=0 dst=0 rows=0x100000 cols=0x100000").run();
  t.expect_fault(0, "exceeds the host operation limit of 268435456 bytes");
}

TEST(HostOp, OperandsOutsideHostMemoryFault) {
  InstTester t;
  t.code("hop fn=transpose src=0xffffffffff dst=0 rows=2 cols=2").run();
  t.expect_fault(0, "source range");
}

// An activation tile computed on the chip goes out to the host, into weight
// DRAM and back through the weight FIFO: x * W with W loaded by ldw.
TEST(WeightLoad, LoadedBytesServeAsAWeightTile) {
  const int k = 6, n = 5, rows = 4;
  const auto w = random_bytes(k * n, 4), x = random_bytes(rows * k, 5);
  InstTester t;
  t.host(0, w).host(0x100, x);
  t.code("ldw host=0 dram=0x40 len=5 repeat=6 host_stride=5 dram_stride=5\n"
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
         " repeat=" + std::to_string(tiles) + "\nsync units=weights\nldw host=0 dram=" +
         std::to_string((tiles - 1) * tile) + " len=16")
      .run();
  t.expect_fault(2, "has not streamed into the weight FIFO yet");
}

// Weight DRAM reused: a tile is read, multiplied, then overwritten by ldw and read again.
TEST(WeightLoad, ReloadingATileAfterItsMultiplyIsExact) {
  const auto w1 = random_bytes(16, 6), w2 = random_bytes(16, 7), x = random_bytes(8, 8);
  InstTester t;
  t.host(0, w2).host(0x100, x).dram(0, w1);
  t.code("rhm host=0x100 ub=0 len=8\n"
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
  t.code("rdw dram=0 k=8 n=8 repeat=" + std::to_string(depth + 2) + "\nrdw dram=0x10000 k=8 n=8\nldw host=0 dram=0x10000 len=16")
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
