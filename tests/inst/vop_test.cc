// vop: every operation and function against the reference; cycles.

#include <gtest/gtest.h>

#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

TEST(VectorOp, EveryOperationAndFunctionMatchesTheReference) {
  for (const char* op : {"add", "mul", "max", "min"})
    for (const char* func : {"identity", "relu", "sigmoid", "tanh"}) {
      InstTester t;
      t.host(0, random_bytes(64, 21));
      t.code(std::string("rhm host=0 ub=0 len=64\nsync units=host\nvop op=") + op +
             " a=0 b=32 dst=0x100 len=32 za=3 zb=-7 ma=3 mb=-2 mult=0x2345678 shift=-1 zp=4 frac=5 func=" + func)
          .run();
      SCOPED_TRACE(std::string(op) + "/" + func);
      t.expect_matches_reference();
    }
}

TEST(VectorOp, OperandsMayOverlapTheResult) {
  InstTester t;
  t.host(0, random_bytes(40, 22));
  t.code("rhm host=0 ub=0 len=40\nsync units=host\nvop op=add a=0 b=8 dst=4 len=32 mult=0x7fffffff").run();
  t.expect_matches_reference();
}

TEST(VectorOp, TakesItsElementsAtTheNarrowerOfLanesAndPorts) {
  const uint64_t len = 37;
  InstTester t;
  t.code("vop op=mul a=0 b=64 dst=128 len=37 mult=1").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  // One read port: operand a, then b; the result streams to the write port a row behind b.
  const uint64_t busy = std::max((len + T.lanes() - 1) / T.lanes(), 2 * T.port_cycles(len) + 1);
  EXPECT_EQ(t.sim().cycles(), T.issue(0) + 1 + busy + static_cast<uint64_t>(T.p.activation_unit.latency_cycles));
  EXPECT_EQ(t.sim().stat("activation_unit", "vector_elements"), len);
}

TEST(VectorOp, OperandOutsideTheBufferFaults) {
  InstTester t;
  t.code("vop op=add a=0 b=65535 dst=0 len=2 mult=1").run();
  t.expect_fault(0, "operand range [65535, 65537) is outside the 65536 bytes");
}

}  // namespace
}  // namespace tpu::test
