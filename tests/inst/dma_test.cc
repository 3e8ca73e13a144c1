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
  // A unified-buffer port as wide as a packet: each packet's write takes one cycle after it arrives.
  const uint64_t bytes = 3 * 1000;
  InstTester t({"unified_buffer.row_bytes=256"});
  t.code("rhm host=0 ub=0 len=1000 repeat=3 ub_stride=1000 host_stride=1000").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const uint64_t start = T.issue(0) + 1;
  // The last packet (3000 = 11 * 256 + 184 bytes) holds the end of row 2 only.
  ASSERT_EQ(T.rhm_written(start, bytes, 1000), start + T.host_transfer(bytes) + 1);
  EXPECT_EQ(t.sim().cycles(), start + T.host_transfer(bytes) + 1 + T.host_latency());
  EXPECT_EQ(t.sim().stat("host_interface", "busy_cycles"), T.host_transfer(bytes) + 1 + T.host_latency());
}

TEST(HostTransfer, ANarrowUnifiedBufferPortPacesAReadOfHostMemory) {
  // tiny.yaml's port moves 8 bytes a cycle, less than the link: the writes queue behind the packets.
  const uint64_t bytes = 3 * 1000;
  InstTester t;
  t.code("rhm host=0 ub=0 len=1000 repeat=3 ub_stride=1000 host_stride=1000").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const uint64_t start = T.issue(0) + 1;
  const uint64_t packet = static_cast<uint64_t>(T.p.host_interface.packet_bytes);
  ASSERT_GT(T.port_cycles(packet), T.host_transfer(packet)) << "the port must be the narrower";
  // The writes run back to back from the first packet's arrival; 256-byte packets split rows at multiples of 8.
  const uint64_t written = start + T.host_transfer(packet) + bytes / T.row_bytes();
  EXPECT_EQ(T.rhm_written(start, bytes, 1000), written);
  EXPECT_EQ(t.sim().cycles(), written + T.host_latency());
  EXPECT_EQ(t.sim().stat("unified_buffer", "write_port_cycles"), bytes / T.row_bytes());
  EXPECT_EQ(t.sim().stat("host_interface", "port_wait_cycles"), 0u) << "nothing else used the port";
}

// A program of one transfer followed by `tags` tags, with an instruction buffer that never fills.
std::string transfer_then_tags(const std::string& transfer, int tags) {
  std::string code = transfer + "\n";
  for (int i = 0; i < tags; ++i) code += "tag id=" + std::to_string(i) + "\n";
  return code;
}

TEST(HostTransfer, ReadsShareTheHostToChipChannelWithInstructionWordsPacketByPacket) {
  // While the rhm's packets cross the link, the words behind it take turns
  // with them: one word after each packet but the last.
  const uint64_t len = 4000, tags = 40;
  InstTester t({"sequencer.instruction_buffer=64", "unified_buffer.row_bytes=4096"});
  t.code(transfer_then_tags("rhm host=0 ub=0 len=4000", tags)).run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const uint64_t packet = static_cast<uint64_t>(T.p.host_interface.packet_bytes);
  const uint64_t packets = (len + packet - 1) / packet;
  const uint64_t start = T.issue(0) + 1;
  // Word 0 arrives after the latency; words 1, 2, ... stream from then on (Timing::arrival). The
  // rhm's first packet goes when the word on the link at its start has arrived.
  const uint64_t stream = T.arrival(0);
  uint64_t before = 0;  // words 1.. that went on the link before the rhm started
  while (stream + T.host_transfer(32 * before) < start) ++before;
  ASSERT_LT(before + packets, tags) << "words must be waiting for the whole transfer";
  const uint64_t data_end = stream + T.host_transfer(32 * before + len + 32 * (packets - 1));
  const auto s = t.sim().slices("host_interface");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].end, data_end + 1 + T.host_latency());  // the last packet takes a write port for a cycle
  // The word after the interleaved ones follows the last packet in the same stream.
  const uint64_t next = before + packets;  // its pc
  const auto& regions = t.sim().result["regions"];
  EXPECT_EQ(regions[next - 1]["cycle"].get<uint64_t>(),
            std::max(stream + T.host_transfer(32 * next + len) + T.p.sequencer.pipeline_stages - 1,
                     regions[next - 2]["cycle"].get<uint64_t>() + 1));
  EXPECT_EQ(t.sim().stat("host_interface", "instruction_bytes"), 32 * (tags + 2));
}

TEST(HostTransfer, WritesUseTheChipToHostChannelAndLeaveInstructionWordsAlone) {
  // Full duplex: a long whm does not delay the words coming the other way.
  const uint64_t len = 4000, tags = 40;
  InstTester t({"sequencer.instruction_buffer=64"});
  t.code(transfer_then_tags("whm host=0 ub=0 len=4000", tags)).run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const Timing& T = t.timing();
  const auto& regions = t.sim().result["regions"];
  for (uint64_t pc = 1; pc <= tags; ++pc) EXPECT_EQ(regions[pc - 1]["cycle"].get<uint64_t>(), T.issue(pc)) << pc;
  const auto s = t.sim().slices("host_interface");
  ASSERT_EQ(s.size(), 1u);
  // The row is read at the port's 8 bytes a cycle, slower than the link takes it.
  const uint64_t from = T.issue(0) + 1, link_end = from + T.host_transfer(len);
  ASSERT_GT(T.whm_sent(from, link_end, 1, len), link_end);
  EXPECT_EQ(s[0].end, T.whm_sent(from, link_end, 1, len) + T.host_latency());
  EXPECT_EQ(t.sim().stat("unified_buffer", "read_port_cycles"), T.port_cycles(len));
}

TEST(HostTransfer, ALinkBoundWriteToTheHostEndsACycleAfterItsLinkTime) {
  // 256-byte port rows: a 300-byte whm is two reads paced over its 14 link cycles; the link cannot begin
  // before the first read, so it ends one cycle after its link time, whatever the short last row.
  for (const uint64_t len : {300u, 512u}) {
    InstTester t({"unified_buffer.row_bytes=256"});
    t.code("whm host=0 ub=0 len=" + std::to_string(len)).run();
    ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
    const Timing& T = t.timing();
    const uint64_t from = T.issue(0) + 1;
    ASSERT_GT(T.host_transfer(len), 2 * T.port_cycles(len)) << "the link must be the narrower";
    EXPECT_EQ(t.sim().slices("host_interface").at(0).end, from + 1 + T.host_transfer(len) + T.host_latency()) << len;
    EXPECT_EQ(T.whm_sent(from, from + T.host_transfer(len), 1, len), from + 1 + T.host_transfer(len)) << len;
  }
}

TEST(HostTransfer, TransfersOfTheInterfaceDoNotCountAsWaitsForOtherUnits) {
  // Two whm on tiny.yaml's narrow port: the second reads after the first, which is no other unit's doing.
  InstTester t;
  t.code("whm host=0 ub=0 len=2000\nwhm host=4096 ub=2048 len=2000").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto s = t.sim().slices("host_interface");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_GT(s[1].end, s[0].end) << "the second waits for the port";
  EXPECT_EQ(t.sim().stat("host_interface", "port_wait_cycles"), 0u);
}

TEST(HostTransfer, TransfersOfOneDirectionQueueOnItsChannelWithTheLatencyPipelined) {
  InstTester t;
  t.code("rhm host=0 ub=0 len=100\nrhm host=0 ub=100 len=100").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto s = t.sim().slices("host_interface");
  ASSERT_EQ(s.size(), 2u);
  const Timing& T = t.timing();
  EXPECT_EQ(s[0].start, T.issue(0) + 1);
  EXPECT_EQ(s[1].start, T.issue(1) + 1);  // starts at once; its bytes follow the first's on the channel
  const uint64_t first_written = T.rhm_written(s[0].start, 100, 100);
  EXPECT_EQ(s[0].end, first_written + T.host_latency());
  EXPECT_EQ(s[1].end, T.rhm_written(s[0].start, 100, 100, 100, first_written) + T.host_latency());
}

TEST(HostTransfer, ReadsAndWritesOfTheHostOverlapOnTheirTwoChannels) {
  // A whm and an independent rhm run at once; a whm after an rhm of the same bytes waits for it.
  const uint64_t len = 2000;
  InstTester t;
  t.code("whm host=0 ub=0 len=2000\nrhm host=4096 ub=4096 len=2000\nwhm host=8192 ub=4096 len=2000").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto s = t.sim().slices("host_interface");
  ASSERT_EQ(s.size(), 3u);
  const Timing& T = t.timing();
  // Each alone: its bytes on its channel, and the unified buffer's port time (read ports and write ports apart).
  auto whm_end = [&](uint64_t from) { return T.whm_sent(from, from + T.host_transfer(len), 1, len) + T.host_latency(); };
  EXPECT_EQ(s[0].end, whm_end(s[0].start));
  EXPECT_EQ(s[1].start, T.issue(1) + 1);  // at once, beside the whm
  EXPECT_EQ(s[1].end, T.rhm_written(s[1].start, len, len) + T.host_latency());
  EXPECT_EQ(s[2].start, s[1].end);  // reads the unified-buffer bytes the rhm writes
  EXPECT_EQ(s[2].end, whm_end(s[2].start));
  EXPECT_EQ(t.sim().stat("host_interface", "busy_cycles"), s[2].end - s[0].start);
}

TEST(HostTransfer, AHostStepWaitsForTheWriteItReadsAndTheReadAfterItWaitsForTheStep) {
  InstTester t;
  t.code("whm host=0 ub=0 len=64\nhop fn=transpose src=0 dst=256 rows=8 cols=8\nrhm host=256 ub=512 len=64").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto s = t.sim().slices("host_interface");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[1].start, s[0].end);
  EXPECT_EQ(s[2].start, s[1].end);
  t.expect_matches_reference();
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
