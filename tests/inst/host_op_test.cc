// hop (host steps): values against independent float definitions and the
// reference machine, cycles as formulas of the config, operand limits.

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
  const uint64_t busy =
      T.ns(T.p.host_interface.op_latency_ns) + T.transfer(2 * 4000, T.p.host_interface.op_bandwidth_gb_s);
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

}  // namespace
}  // namespace tpu::test
