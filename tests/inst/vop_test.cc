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
  // Lanes as wide as the port's row, and narrower (lanes-bound).
  for (const char* lanes : {"activation_unit.lanes=8", "activation_unit.lanes=2"}) {
    const uint64_t len = 37;
    InstTester t({lanes});
    t.code("vop op=mul a=0 b=64 dst=128 len=37 mult=1").run();
    ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    const Timing& T = t.timing();
    // One read port: operand a, then b; the lanes start a row into b and the result streams to the write
    // port as they finish its rows, one a cycle at most.
    const uint64_t r = T.port_cycles(len);
    const uint64_t busy = r + 1 + std::max(r, (len + T.lanes() - 1) / T.lanes());
    EXPECT_EQ(t.sim().cycles(), T.issue(0) + 1 + busy + static_cast<uint64_t>(T.p.activation_unit.latency_cycles))
        << lanes;
    EXPECT_EQ(t.sim().stat("activation_unit", "vector_elements"), len);
  }
}

TEST(VectorOp, OperandOutsideTheBufferFaults) {
  InstTester t;
  t.code("vop op=add a=0 b=65535 dst=0 len=2 mult=1").run();
  t.expect_fault(0, "operand range [65535, 65537) is outside the 65536 bytes");
}

}  // namespace
}  // namespace tpu::test
