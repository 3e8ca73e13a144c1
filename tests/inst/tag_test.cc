// tag: the instructions after it form a region (a layer), and every count is
// charged to the region of the instruction that caused it, however the units'
// work overlaps in time.

#include <gtest/gtest.h>

#include "tests/support/inst_tester.h"

namespace tpu::test {
namespace {

class Tag : public testing::TestWithParam<std::string> {};

const nlohmann::json& row(const SimRun& run, const std::string& name) {
  for (const auto& l : run.result["layers"])
    if (l["name"] == name) return l;
  static const nlohmann::json none;
  ADD_FAILURE() << "no layer row named " << name;
  return none;
}

TEST_P(Tag, CountsBelongToTheRegionOfTheInstructionThatMadeThem) {
  // The mmul of region 1 waits for its tile while region 2's rhm runs; its
  // vectors, its buffer reads and its accumulator writes stay in region 1.
  const uint64_t B = 4, k = 8, n = 8, len = 16;
  InstTester t({"fidelity=" + GetParam()});
  t.host(0, random_bytes(len, 1));
  t.code("tag id=1\nrdw dram=0 k=8 n=8\nmmul ub=0 acc=0 rows=4 stride=8 swap\ntag id=2\nrhm host=0 ub=64 len=16").run();
  ASSERT_TRUE(t.sim().halted()) << t.sim().fault_reason();
  const auto slices = t.sim().slices("matrix_unit");
  ASSERT_EQ(slices.size(), 1u);
  const auto& regions = t.sim().result["regions"];
  ASSERT_EQ(regions.size(), 2u);
  ASSERT_LT(regions[1]["cycle"].get<uint64_t>(), slices[0].start) << "the mmul must start after the second tag";

  const auto& one = row(t.sim(), "tag 1");
  const auto& two = row(t.sim(), "tag 2");
  EXPECT_EQ(one["array_active_cycles"].get<uint64_t>(), B);
  EXPECT_EQ(one["array_macs"].get<uint64_t>(), B * k * n);
  EXPECT_EQ(one["unified_buffer_bytes"].get<uint64_t>(), B * k);
  EXPECT_EQ(one["weight_dram_bytes"].get<uint64_t>(), k * n);
  EXPECT_EQ(one["host_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(two["array_active_cycles"].get<uint64_t>(), 0u);
  EXPECT_EQ(two["unified_buffer_bytes"].get<uint64_t>(), len);
  EXPECT_EQ(two["host_bytes"].get<uint64_t>(), len);
  EXPECT_EQ(two["weight_dram_bytes"].get<uint64_t>(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Fidelity, Tag, testing::Values("fast", "pe"),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace tpu::test
