// isa/ISA.md is generated from the table; the checked-in copy must be current.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "isa/isa.h"
#include "isa/reference.h"

namespace tpu::isa {
namespace {

TEST(IsaReference, CheckedInCopyIsCurrent) {
  std::ifstream f(std::string(TPUSIM_SOURCE_DIR) + "/isa/ISA.md");
  ASSERT_TRUE(f) << "isa/ISA.md is missing";
  std::stringstream checked_in;
  checked_in << f.rdbuf();
  EXPECT_TRUE(checked_in.str() == reference_markdown())
      << "isa/ISA.md differs from isa/isa.def: run `cmake --build build --target update-isa-doc` and commit it";
}

TEST(IsaReference, DocumentsEveryInstructionFieldAndEnumerator) {
  const std::string md = reference_markdown();
  for (const auto& insn : kInsns) {
    EXPECT_NE(md.find("### " + std::string(insn.mnemonic) + "\n"), std::string::npos) << insn.mnemonic;
    EXPECT_NE(md.find(std::string(insn.semantics)), std::string::npos) << insn.mnemonic;
    for (const auto& f : insn.format->fields)
      EXPECT_NE(md.find("| `" + std::string(f.name) + "` | " + std::to_string(f.lo + f.width - 1) + ":" +
                        std::to_string(f.lo) + " |"),
                std::string::npos)
          << insn.mnemonic << "." << f.name;
  }
  for (const auto& e : kEnums)
    for (const auto& v : e.values) EXPECT_NE(md.find("| `" + std::string(v.name) + "` |"), std::string::npos);
}

}  // namespace
}  // namespace tpu::isa
