// The example programs users start from: each assembles, and its disassembly
// reassembles to the identical binary.

#include <gtest/gtest.h>

#include "tests/support/files.h"

#include <algorithm>
#include <filesystem>

#include "isa/assembler.h"
#include "isa/disassembler.h"

namespace tpu::isa {
namespace {

class Example : public testing::TestWithParam<std::string> {};

TEST_P(Example, AssemblesAndItsDisassemblyReassemblesIdentically) {
  const AssembleResult first = assemble_file(GetParam());
  ASSERT_TRUE(first.ok()) << format_diagnostic(first.errors[0]);
  EXPECT_FALSE(first.program.text.empty());
  const std::string listing = disassemble(first.program);
  const AssembleResult second = assemble(listing, "listing.s");
  ASSERT_TRUE(second.ok()) << format_diagnostic(second.errors[0]) << listing;
  EXPECT_EQ(serialize(second.program), serialize(first.program));
  EXPECT_EQ(disassemble(second.program), listing);
}

INSTANTIATE_TEST_SUITE_P(Workloads, Example, testing::ValuesIn(test::source_files("workloads/asm", ".s")),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).parent_path().filename().string() +
                                              "_" + std::filesystem::path(info.param).stem().string();
                           std::replace_if(
                               name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
                           return name;
                         });

TEST(Examples, ThereAreSome) { EXPECT_GE(test::source_files("workloads/asm", ".s").size(), 3u); }

}  // namespace
}  // namespace tpu::isa
