// The sequencer's own instructions: nop, sync, setcfg, intr, tag, halt, and
// what it does with programs that are not well formed.

#include <gtest/gtest.h>

#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

TEST(Sequencer, InstructionsIssueOnePerCycleAfterThePipeline) {
  InstTester t({"host_interface.bandwidth_gb_s=1000"});  // words arrive faster than they issue
  t.code("tag id=1\ntag id=2\ntag id=3").run();
  ASSERT_TRUE(t.sim().halted());
  const auto& r = t.sim().result["regions"];
  ASSERT_EQ(r.size(), 3u);
  const Timing& T = t.timing();
  for (uint64_t pc = 0; pc < 3; ++pc) EXPECT_EQ(r[pc]["cycle"].get<uint64_t>(), T.issue(pc)) << pc;
  EXPECT_EQ(t.sim().cycles(), T.issue(3));  // halt, with nothing to wait for
}

TEST(Sequencer, NopHoldsIssueForItsRepeatCount) {
  InstTester t;
  t.code("tag id=0\nnop repeat=50\ntag id=1").run();
  const auto& r = t.sim().result["regions"];
  const Timing& T = t.timing();
  EXPECT_EQ(r[1]["cycle"].get<uint64_t>(), std::max(T.arrival(2) + T.p.sequencer.pipeline_stages - 1, T.issue(1) + 50));
  EXPECT_EQ(t.sim().stat("sequencer", "nop_cycles"), 50u);
}

TEST(Sequencer, SyncWaitsForTheNamedUnit) {
  InstTester t;
  t.code("rhm host=0 ub=0 len=2000\nsync units=host\ntag id=7").run();
  ASSERT_TRUE(t.sim().halted());
  const auto s = t.sim().slices("host_interface");
  const Timing& T = t.timing();
  const uint64_t tag_cycle = t.sim().result["regions"][0]["cycle"].get<uint64_t>();
  EXPECT_EQ(tag_cycle, s[0].end + 1);  // sync issues when the transfer is done, the tag the cycle after
  EXPECT_EQ(t.sim().stat("sequencer", "sync_wait_cycles"), s[0].end - T.issue(1));
  // No mmul waits behind it: not a RAW stall of the matrix unit.
  EXPECT_EQ(t.sim().stat("matrix_unit", "raw_stall_cycles"), 0u);
}

TEST(Sequencer, RawStallsAreTheMatrixUnitsIdleCyclesBehindASyncOnAnotherUnit) {
  // Layer 1 multiplies the host's input; layer 2 multiplies layer 1's
  // activations. The matrix unit waits behind `sync units=host` for the input
  // and behind `sync units=activation` for the activations: RAW stalls. The
  // wait in `sync units=matrix` is its own drain, not a RAW stall.
  InstTester t;
  t.host(0, random_bytes(64, 1)).dram(0, random_bytes(128, 2));
  t.code(
       "rhm host=0 ub=0 len=64\nrdw dram=0 k=8 n=8 repeat=2\nsync units=host\n"
       "mmul ub=0 acc=0 rows=8 stride=8 swap\nsync units=matrix\n"
       "act acc=0 ub=64 rows=8 cols=8 stride=8 mult=1073741824 shift=0\nsync units=activation\n"
       "mmul ub=64 acc=8 rows=8 stride=8 swap")
      .run();
  t.expect_matches_reference();
  const Timing& T = t.timing();
  const auto host = t.sim().slices("host_interface");
  const auto act = t.sim().slices("activation_unit");
  ASSERT_EQ(host.size(), 1u);
  ASSERT_EQ(act.size(), 1u);
  // sync units=host, from its issue (nothing stalls issue before it) until the rhm (timed by the dma tests) is done.
  const uint64_t input_wait = host[0].end - T.issue(2);
  // The act issues the cycle its sync ends and the activation sync the cycle after, when the act starts:
  // that sync waits the act's 8 rows through the pipeline (each row one port row and 8/lanes cycles) and its latency.
  const uint64_t rows = 8, cols = 8;
  const uint64_t act_busy = std::max(rows * ((cols + T.lanes() - 1) / T.lanes()),
                                     rows * ((cols + T.row_bytes() - 1) / T.row_bytes()));
  const uint64_t act_wait = act_busy + static_cast<uint64_t>(T.p.activation_unit.latency_cycles);
  EXPECT_EQ(act[0].end - act[0].start, act_busy);
  EXPECT_EQ(t.sim().stat("matrix_unit", "raw_stall_cycles"), input_wait + act_wait);
  EXPECT_GT(t.sim().stat("sequencer", "sync_wait_cycles"), input_wait + act_wait) << "the drain is not a RAW stall";
  const auto& c = t.sim().result["counters"];
  EXPECT_LE(c["raw_stall"]["cycles"].get<uint64_t>(), c["non_matrix"]["cycles"].get<uint64_t>());
}

TEST(Sequencer, ASyncAlsoNamingAnIdleUnitIsNoRawStallWhileItWaitsForTheMatrixUnitsDrain) {
  // sync units=matrix|host with the host idle: the whole wait is the matrix unit's own drain.
  InstTester t;
  t.code("rdw dram=0 k=8 n=8 repeat=2\nmmul ub=0 acc=0 rows=8 stride=8 swap\nsync units=matrix|host\n"
         "mmul ub=0 acc=8 rows=8 stride=8 swap")
      .run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  EXPECT_GT(t.sim().stat("sequencer", "sync_wait_cycles"), 0u);
  EXPECT_EQ(t.sim().stat("matrix_unit", "raw_stall_cycles"), 0u);
}

TEST(Sequencer, SyncOnAnotherUnitDoesNotWait) {
  InstTester t;
  t.code("rhm host=0 ub=0 len=2000\nsync units=matrix|activation\ntag id=7").run();
  EXPECT_EQ(t.sim().stat("sequencer", "sync_wait_cycles"), 0u);
  EXPECT_EQ(t.sim().result["regions"][0]["cycle"].get<uint64_t>(), t.timing().issue(2));
}

TEST(Sequencer, HaltWaitsForEveryUnit) {
  InstTester t;
  t.code("rhm host=0 ub=0 len=5000").run();
  EXPECT_EQ(t.sim().cycles(), t.sim().slices("host_interface")[0].end);
}

TEST(Sequencer, InterruptWaitsForEverythingAndRecordsItsCode) {
  InstTester t;
  t.code("rhm host=0 ub=0 len=500\nintr code=42").run();
  const auto& irq = t.sim().result["interrupts"];
  ASSERT_EQ(irq.size(), 1u);
  EXPECT_EQ(irq[0]["code"], 42);
  EXPECT_EQ(irq[0]["pc"], 1);
  EXPECT_EQ(irq[0]["cycle"].get<uint64_t>(), t.sim().slices("host_interface")[0].end);
}

TEST(Sequencer, SetcfgRejectsAValueThatNamesNoRoundingMode) {
  InstTester t;
  t.code("setcfg reg=round value=3").run();
  t.expect_fault(0, "value 3 names no rounding mode");
}

TEST(Sequencer, AProgramWithoutHaltFaults) {
  InstTester t;
  t.code("nop\nnop").run(/*with_halt=*/false);
  t.expect_fault(1, "ran past its last instruction without `halt`");
}

TEST(Sequencer, AnIllegalOpcodeFaultsWithItsPc) {
  InstTester t;
  t.code("nop\n.insn 0x7f").run();
  t.expect_fault(1, "illegal instruction: illegal opcode 0x7f");
  EXPECT_EQ(t.sim().result["fault"]["instruction"], ".insn 0x" + std::string(62, '0') + "7f  ; illegal opcode 0x7f");
}

TEST(Sequencer, ReservedBitsFault) {
  InstTester t;
  t.code(".insn 0x8" + std::string(59, '0') + "0101").run();  // nop repeat=1 with bit 255 set
  t.expect_fault(0, "reserved bits set");
}

TEST(Sequencer, SparseInstructionsFaultOnAChipWithoutASparseEngine) {
  InstTester t;
  t.code("spmv dram=0 in=0 out=0 mult=1 rows=4 cols=4 bytes=64").run();
  t.expect_fault(0, "this chip has no sparse unit to execute 'spmv'");
}

TEST(Sequencer, WatchdogStopsARunThatOutlivesIt) {
  InstTester t({"watchdog_cycles=2000"});
  t.code("nop repeat=60000").run();
  t.expect_fault(0, "watchdog: no halt within 2000 cycles");
}

TEST(Sequencer, AFullUnitQueueStallsIssue) {
  InstTester t({"sequencer.unit_queue=1"});
  t.code("rhm host=0 ub=0 len=900\nrhm host=0 ub=0 len=900 \nrhm host=0 ub=0 len=900").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto s = t.sim().slices("host_interface");
  // The third waits for the second to leave the queue, which it does when the first ends.
  EXPECT_GT(t.sim().stat("sequencer", "queue_full_cycles"), 0u);
  EXPECT_EQ(t.sim().stat("sequencer", "queue_full_cycles"), s[0].end - t.timing().issue(2));
}

}  // namespace
}  // namespace tpu::test
