// rhm and whm: strided block transfers, their cycles, and hazards with the
// units that read what they write.

#include <gtest/gtest.h>

#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

TEST(HostTransfer, ReadHostMemoryPlacesStridedBlocks) {
  InstTester t;
  std::vector<int> host(64);
  for (int i = 0; i < 64; ++i) host[i] = i;
  t.host(0x1000, host).code("rhm host=0x1000 ub=0x20 len=3 repeat=4 host_stride=10 ub_stride=5").run();
  t.expect_matches_reference();
  for (int b = 0; b < 4; ++b)
    for (int i = 0; i < 3; ++i) EXPECT_EQ(t.sim().ub[0x20 + b * 5 + i], b * 10 + i);
  EXPECT_EQ(t.sim().ub[0x20 + 3], 0);  // the gap between blocks is untouched
}

TEST(HostTransfer, WriteHostMemoryReturnsBlocksToTheHost) {
  InstTester t;
  t.host(0, {1, 2, 3, 4, 5, 6, 7, 8});
  t.code("rhm host=0 ub=0 len=8\nsync units=host\nwhm host=0x40 ub=0 len=2 repeat=4 ub_stride=2 host_stride=4").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  EXPECT_EQ(t.sim().stat("host_interface", "host_write_bytes"), 8u);
  EXPECT_EQ(t.sim().stat("host_interface", "host_read_bytes"), 8u);
}

TEST(HostTransfer, TakesTheLinkLatencyPlusItsBytesAtTheLinkBandwidth) {
  const uint64_t bytes = 3 * 1000;
  InstTester t;
  t.code("rhm host=0 ub=0 len=1000 repeat=3 ub_stride=1000 host_stride=1000").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const uint64_t start = T.issue(0) + 1;
  EXPECT_EQ(t.sim().cycles(), start + T.host_transfer(bytes) + T.host_latency());
  EXPECT_EQ(t.sim().stat("host_interface", "busy_cycles"), T.host_transfer(bytes) + T.host_latency());
}

TEST(HostTransfer, TransfersRunOneAfterAnother) {
  InstTester t;
  t.code("rhm host=0 ub=0 len=100\nrhm host=0 ub=100 len=100").run();
  const auto s = t.sim().slices("host_interface");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].start, s[0].end);
}

TEST(HostTransfer, MultiplyingDataStillArrivingIsAHazard) {
  InstTester t;
  t.code("rhm host=0 ub=0 len=64\nrdw dram=0 k=8 n=8\nmmul ub=0 acc=0 rows=8 stride=8 swap").run();
  t.expect_fault(2, "hazard: this instruction reads unified-buffer bytes");
  EXPECT_NE(t.sim().fault_reason().find("add `sync units=host`"), std::string::npos);
}

TEST(HostTransfer, MoreThanAGibibyteInOneInstructionFaults) {
  InstTester t({}, "configs/tpu_v1.yaml");  // blocks overwriting each other: in range, but 1.6 GB of copying
  t.code("rhm host=0 ub=0 len=0xffffff repeat=100").run();
  t.expect_fault(0,
                 "transfer of 1677721500 bytes (len * repeat) exceeds the 1073741824 bytes one instruction may move");
}

TEST(HostTransfer, BlocksOutsideTheBufferFault) {
  InstTester t;
  t.code("rhm host=0 ub=65000 len=100 repeat=6 ub_stride=100").run();
  t.expect_fault(0, "unified-buffer range [65000, 65600) is outside the 65536 bytes");
}

}  // namespace
}  // namespace tpu::test
