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

  static constexpr const char* kVop = "vop op=0 a=1024 b=1100 dst=2048 mult=1073741824 shift=30 len=16";

  // An mmul streaming kVectors vectors, then, after `nops` cycles of nop, `other` (a vop reading two operands).
  InstTester run(uint64_t nops, const std::vector<std::string>& more = {}, const std::string& other = kVop) const {
    std::vector<std::string> sets{"fidelity=" + GetParam(), "unified_buffer.stream_grant_cycles=" + std::to_string(kGrant)};
    sets.insert(sets.end(), more.begin(), more.end());
    InstTester t(sets);
    t.host(0, random_bytes(64, 1)).dram(0, random_bytes(64, 2));
    t.code("rhm host=0 ub=0 len=64\nrdw dram=0 k=8 n=8\nsync units=host\nmmul ub=0 acc=0 rows=" +
           std::to_string(kVectors) + " stride=0 swap\nnop repeat=" + std::to_string(nops) + "\n" + other)
        .run();
    EXPECT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    return t;
  }
  // A run whose `other` instruction (of `unit`) starts 8 cycles into the stream's second grant: a first run
  // finds when the stream starts.
  InstTester in_second_grant(const std::vector<std::string>& more = {}, const std::string& other = kVop,
                             const std::string& unit = "activation_unit") const {
    const InstTester probe = run(1, more, other);
    const uint64_t stream = probe.sim().slices("matrix_unit").at(0).start;
    const uint64_t start = probe.sim().slices(unit).back().start;  // the host interface also ran the rhm
    EXPECT_LT(start, stream + kGrant + 8) << "the stream must start before " << other;
    return run(1 + stream + kGrant + 8 - start, more, other);  // a cycle of nop holds issue a cycle
  }
  InstTester vop_in_second_grant(const std::vector<std::string>& more = {}) const { return in_second_grant(more); }
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

TEST_P(SharedPorts, AWhmDuringTheStreamReadsItsRowsAfterTheGrantAndTheStreamWaitsForThem) {
  // 256 bytes at tiny.yaml's 8 bytes a cycle: 32 read cycles, more than the link needs for them.
  const InstTester t = in_second_grant({}, "whm host=4096 ub=1024 len=256", "host_interface");
  const Timing& T = t.timing();
  const auto mmul = t.sim().slices("matrix_unit").at(0), whm = t.sim().slices("host_interface").at(1);
  ASSERT_EQ(whm.start, mmul.start + kGrant + 8);
  const uint64_t reads = T.port_cycles(256);
  ASSERT_GT(reads, T.host_transfer(256));
  EXPECT_EQ(t.sim().stat("matrix_unit", "input_stall_cycles"), reads);
  EXPECT_EQ(mmul.end, mmul.start + kVectors + reads);
  // Its reads began at the end of the second grant instead of at its start: 8 cycles later.
  EXPECT_EQ(t.sim().stat("host_interface", "port_wait_cycles"), kGrant - 8);
  EXPECT_EQ(whm.end, mmul.start + 2 * kGrant + reads + T.host_transfer(T.row_bytes()) + T.host_latency());
}

TEST_P(SharedPorts, WithASecondReadPortTheStreamDoesNotWait) {
  const InstTester t = vop_in_second_grant({"unified_buffer.read_ports=2"});
  const Timing& T = t.timing();
  const auto mmul = t.sim().slices("matrix_unit").at(0), vop = t.sim().slices("activation_unit").at(0);
  EXPECT_EQ(t.sim().stat("matrix_unit", "input_stall_cycles"), 0u);
  EXPECT_EQ(mmul.end, mmul.start + kVectors);
  // The stream keeps its port; the vop reads its operands one after the other on the other one, and the
  // result streams a row behind them.
  const uint64_t r = T.port_cycles(kLen);
  EXPECT_EQ(vop.end, vop.start + r + 1 + std::max(r, (kLen + T.lanes() - 1) / T.lanes()));
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
  // 2x2 windows, stride 2, over a 4 x 4 image: output (oy, ox) is complete with input row
  // (2 oy + 1) * 4 + 2 ox + 1 (5, 7, 13, 15), done 2 cycles a row in, and written in that row's last cycle.
  InstTester windows({"activation_unit.lanes=4"});
  windows.code("act acc=0 ub=0 rows=16 cols=8 stride=8 mult=1 pool=max width=4 pool_h=2 pool_w=2 pool_sy=2 pool_sx=2")
      .run();
  ASSERT_TRUE(windows.sim().halted()) << windows.sim().fault_reason();
  const uint64_t q = windows.sim().slices("activation_unit").at(0).start;
  EXPECT_EQ(windows.sim().rises("unified_buffer write ports"), (std::vector<uint64_t>{q + 11, q + 15, q + 27, q + 31}));
  EXPECT_EQ(windows.sim().stat("activation_unit", "busy_cycles"), 32u);
}

TEST(HostPorts, BlocksThatFollowEachOtherInTheBufferTakeThePortAsOneStretch) {
  // Eight 3-byte blocks: 24 bytes, three 8-byte rows when they follow each other, eight port cycles when not.
  for (const auto& [stride, cycles] : {std::pair<int, uint64_t>{3, 3}, {4, 8}}) {
    InstTester t;
    t.code("rhm host=0 ub=0 len=3 repeat=8 host_stride=3 ub_stride=" + std::to_string(stride) +
           "\nsync units=host\nwhm host=256 ub=0 len=3 repeat=8 host_stride=3 ub_stride=" + std::to_string(stride))
        .run();
    ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    EXPECT_EQ(t.sim().stat("unified_buffer", "write_port_cycles"), cycles) << stride;
    EXPECT_EQ(t.sim().stat("unified_buffer", "read_port_cycles"), cycles) << stride;
  }
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
