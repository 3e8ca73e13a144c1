// The unified buffer's shared ports: a unit asking for a port while the
// matrix unit's input stream holds it is served after the stream's current
// grant, and the stream's next grant waits for it: the matrix unit's input
// stalls are exactly the cycles the other unit took. Cycles are formulas of
// the configuration and of when the units started, in both fidelities.

#include <gtest/gtest.h>

#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

class SharedPorts : public testing::TestWithParam<std::string> {
 protected:
  static constexpr uint64_t kGrant = 16;    // stream_grant_cycles
  static constexpr uint64_t kVectors = 48;  // three grants of 8-byte vectors (one port cycle each)
  static constexpr uint64_t kLen = 16;      // vop operand bytes

  // An mmul streaming kVectors vectors, then, after `nops` cycles of nop, a vop reading two operands.
  InstTester run(uint64_t nops, const std::vector<std::string>& more = {}) const {
    std::vector<std::string> sets{"fidelity=" + GetParam(), "unified_buffer.stream_grant_cycles=" + std::to_string(kGrant)};
    sets.insert(sets.end(), more.begin(), more.end());
    InstTester t(sets);
    t.host(0, random_bytes(64, 1)).dram(0, random_bytes(64, 2));
    t.code("rhm host=0 ub=0 len=64\nrdw dram=0 k=8 n=8\nsync units=host\nmmul ub=0 acc=0 rows=" +
           std::to_string(kVectors) + " stride=0 swap\nnop repeat=" + std::to_string(nops) +
           "\nvop op=0 a=1024 b=1100 dst=2048 mult=1073741824 shift=30 len=" + std::to_string(kLen))
        .run();
    EXPECT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    return t;
  }
  // A run whose vop starts 8 cycles into the stream's second grant: a first run finds when the stream starts.
  InstTester vop_in_second_grant(const std::vector<std::string>& more = {}) const {
    const InstTester probe = run(1, more);
    const uint64_t stream = probe.sim().slices("matrix_unit").at(0).start;
    const uint64_t vop = probe.sim().slices("activation_unit").at(0).start;
    EXPECT_LT(vop, stream + kGrant + 8) << "the stream must start before the vop";
    return run(1 + stream + kGrant + 8 - vop, more);  // a cycle of nop holds issue a cycle
  }
};

TEST_P(SharedPorts, AVopDuringTheStreamReadsAfterItsGrantAndTheStreamWaitsForIt) {
  const InstTester t = vop_in_second_grant();
  const Timing& T = t.timing();
  const auto mmul = t.sim().slices("matrix_unit").at(0), vop = t.sim().slices("activation_unit").at(0);
  ASSERT_EQ(vop.start, mmul.start + kGrant + 8);
  // The vop's operands take 2 x port_cycles(len) cycles of the read port from the end of the second grant.
  const uint64_t reads = 2 * T.port_cycles(kLen), second_grant_end = mmul.start + 2 * kGrant;
  EXPECT_EQ(t.sim().stat("matrix_unit", "input_stall_cycles"), reads);
  EXPECT_EQ(mmul.end, mmul.start + kVectors + reads);
  EXPECT_EQ(vop.end, second_grant_end + reads + 1);  // the result streams a row behind operand b
  EXPECT_EQ(t.sim().stat("unified_buffer", "read_port_cycles"), kVectors + reads);
  // The vop waited from its start to the end of the grant under way: 8 cycles into a 16-cycle grant.
  EXPECT_EQ(t.sim().stat("activation_unit", "port_wait_cycles"), kGrant - 8);
  t.expect_matches_reference();
}

TEST_P(SharedPorts, WithASecondReadPortNeitherWaits) {
  const InstTester t = vop_in_second_grant({"unified_buffer.read_ports=2"});
  const Timing& T = t.timing();
  const auto mmul = t.sim().slices("matrix_unit").at(0), vop = t.sim().slices("activation_unit").at(0);
  EXPECT_EQ(t.sim().stat("matrix_unit", "input_stall_cycles"), 0u);
  EXPECT_EQ(mmul.end, mmul.start + kVectors);
  // The stream keeps its port; the vop reads its operands one after the other on the other one, and the
  // result streams a row behind them.
  const uint64_t r = T.port_cycles(kLen);
  EXPECT_EQ(vop.end, vop.start + std::max(2 * r + 1, (kLen + T.lanes() - 1) / T.lanes()));
  std::vector<uint64_t> vop_reads;
  for (uint64_t c : t.sim().rises("unified_buffer read ports"))
    if (c >= vop.start && c < vop.end) vop_reads.push_back(c);
  EXPECT_EQ(vop_reads, (std::vector<uint64_t>{vop.start, vop.start + r}));
  // Alone it would have read both operands at once on the two ports.
  EXPECT_EQ(t.sim().stat("activation_unit", "port_wait_cycles"), r);
}

TEST_P(SharedPorts, ARequestInTheCycleOfAStreamGrantGoesAfterIt) {
  // Grants of 4 cycles: the vop starts 24 cycles into the stream, in the cycle the stream asks for its
  // seventh grant. Requests of one cycle are granted matrix unit first, so the vop waits for that grant.
  const InstTester t = vop_in_second_grant({"unified_buffer.stream_grant_cycles=4"});
  const Timing& T = t.timing();
  const auto mmul = t.sim().slices("matrix_unit").at(0), vop = t.sim().slices("activation_unit").at(0);
  const uint64_t reads = 2 * T.port_cycles(kLen);
  EXPECT_EQ(vop.end, vop.start + 4 + reads + 1);
  EXPECT_EQ(t.sim().stat("matrix_unit", "input_stall_cycles"), reads);
  EXPECT_EQ(mmul.end, mmul.start + kVectors + reads);
}

INSTANTIATE_TEST_SUITE_P(Fidelities, SharedPorts, testing::Values("fast", "pe"));

TEST(ActivationPorts, AnActWritesEachOutputRowAsItIsProduced) {
  // 4 rows of 8 lanes at 4 lanes a cycle: 2 cycles a row; each 8-byte row takes the write port in the last
  // cycle of its computation.
  InstTester t({"activation_unit.lanes=4"});
  t.code("act acc=0 ub=0 rows=4 cols=8 stride=8 mult=1").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const uint64_t s = t.sim().slices("activation_unit").at(0).start;
  EXPECT_EQ(t.sim().rises("unified_buffer write ports"), (std::vector<uint64_t>{s + 1, s + 3, s + 5, s + 7}));
  // Pooled to one row: written once all 16 input rows (32 cycles) are through.
  InstTester pooled({"activation_unit.lanes=4"});
  pooled.code("act acc=0 ub=0 rows=16 cols=8 stride=8 mult=1 pool=max width=4 pool_h=4 pool_w=4").run();
  ASSERT_TRUE(pooled.sim().halted()) << pooled.sim().fault_reason();
  const uint64_t p = pooled.sim().slices("activation_unit").at(0).start;
  EXPECT_EQ(pooled.sim().rises("unified_buffer write ports"), (std::vector<uint64_t>{p + 31}));
}

TEST(ActivationPorts, AVopsResultStreamsARowBehindItsOperands) {
  InstTester t;
  t.code("vop op=0 a=1024 b=1100 dst=2048 mult=1073741824 shift=30 len=16").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const uint64_t s = t.sim().slices("activation_unit").at(0).start;
  // 16 bytes are two 8-byte rows: a in [s, s+2), b in [s+2, s+4), the result in [s+3, s+5).
  EXPECT_EQ(t.sim().rises("unified_buffer read ports"), (std::vector<uint64_t>{s, s + 2}));
  EXPECT_EQ(t.sim().rises("unified_buffer write ports"), (std::vector<uint64_t>{s + 3}));
  EXPECT_EQ(t.sim().slices("activation_unit").at(0).end, s + 5);
  // With two read ports free, both operands at once.
  InstTester two({"unified_buffer.read_ports=2"});
  two.code("vop op=0 a=1024 b=1100 dst=2048 mult=1073741824 shift=30 len=16").run();
  const uint64_t s2 = two.sim().slices("activation_unit").at(0).start;
  EXPECT_EQ(two.sim().rises("unified_buffer read ports"), (std::vector<uint64_t>{s2, s2}));
  EXPECT_EQ(two.sim().rises("unified_buffer write ports"), (std::vector<uint64_t>{s2 + 1}));
  EXPECT_EQ(two.sim().slices("activation_unit").at(0).end, s2 + 3);
}

}  // namespace
}  // namespace tpu::test
