// The instruction table: the shipped one is consistent, and the checker
// catches every kind of mistake in hand-made bad tables.

#include <gtest/gtest.h>

#include "isa/isa.h"

namespace tpu::isa {
namespace {

TEST(IsaTable, ShippedTableIsConsistent) {
  const TableCheck check = check_table(kInsns);
  EXPECT_TRUE(check.ok()) << describe(check);
}

TEST(IsaTable, LookupsAgreeWithTheTable) {
  for (const InsnSpec& insn : kInsns) {
    EXPECT_EQ(find_insn(insn.mnemonic), &insn);
    EXPECT_EQ(find_insn(static_cast<uint8_t>(insn.opcode)), &insn);
    EXPECT_EQ(&spec_of(static_cast<Opcode>(insn.opcode)), &insn);
    EXPECT_EQ(to_string(static_cast<Opcode>(insn.opcode)), insn.mnemonic);
  }
  EXPECT_EQ(find_insn(uint8_t{0}), nullptr);
  EXPECT_EQ(find_insn("mmult"), nullptr);
}

TEST(IsaTable, OpcodeEnumMatchesTable) {
  EXPECT_EQ(spec_of(Opcode::mmul).mnemonic, "mmul");
  EXPECT_EQ(spec_of(Opcode::halt).format->fields.size, 0u);
  EXPECT_EQ(spec_of(Opcode::rdw).unit, Unit::weights);
}

TEST(IsaTable, EveryUnitButControlFitsTheSyncMask) {
  const FieldSpec& units = spec_of(Opcode::sync).format->fields[0];
  for (const auto& v : kEnumOf<Unit>->values)
    if (static_cast<Unit>(v.value) != Unit::control) {
      EXPECT_LT(v.value, units.width) << v.name;
    }
}

// Builders for hand-made tables.
constexpr FieldSpec F(std::string_view name, unsigned lo, unsigned width, FieldKind kind = FieldKind::kUint,
                      int64_t def = kRequired, const EnumSpec* e = nullptr) {
  return FieldSpec{name, lo, width, kind, e, def, "doc"};
}

struct BadTable {
  const char* name;
  std::vector<FieldSpec> fields;
  std::vector<std::pair<std::string_view, uint32_t>> insns;  // mnemonic, opcode; all share the format
  TableProblem expected;
  std::vector<std::string> words;  // must appear in describe()
};

constexpr EnumValueSpec kColors[] = {{"red", 0, ""}, {"green", 1, ""}, {"blue", 7, ""}, {}};
constexpr EnumSpec kColorEnum{"Color", "", span_of(kColors)};
constexpr EnumValueSpec kDupColors[] = {{"red", 0, ""}, {"red", 1, ""}, {}};
constexpr EnumSpec kDupColorEnum{"Dup", "", span_of(kDupColors)};

void PrintTo(const BadTable& t, std::ostream* os) { *os << t.name; }

class BadTables : public testing::TestWithParam<BadTable> {};

TEST_P(BadTables, AreRejectedWithTheRightProblem) {
  const BadTable& t = GetParam();
  const FormatSpec format{"Fmt", "", Span<FieldSpec>{t.fields.data(), t.fields.size()}};
  std::vector<InsnSpec> insns;
  for (const auto& [mnemonic, opcode] : t.insns) insns.push_back({mnemonic, opcode, &format, Unit::control, "", ""});
  const TableCheck check = check_table(Span<InsnSpec>{insns.data(), insns.size()});
  EXPECT_EQ(check.problem, t.expected) << describe(check);
  const std::string text = describe(check);
  for (const auto& w : t.words) EXPECT_NE(text.find(w), std::string::npos) << text << " lacks " << w;
}

INSTANTIATE_TEST_SUITE_P(
    IsaTable, BadTables,
    testing::Values(
        BadTable{"Overlap", {F("a", 8, 16), F("b", 20, 8)}, {{"x", 1}}, TableProblem::kFieldOverlap, {"'a'", "'b'"}},
        BadTable{"OverlapContained",
                 {F("a", 8, 32), F("b", 16, 1, FieldKind::kFlag, 0)},
                 {{"x", 1}},
                 TableProblem::kFieldOverlap,
                 {"overlap"}},
        BadTable{"PastWord", {F("a", 250, 8)}, {{"x", 1}}, TableProblem::kFieldPastWord, {"'a'", "256"}},
        BadTable{"InOpcode", {F("a", 4, 8)}, {{"x", 1}}, TableProblem::kFieldInOpcode, {"opcode"}},
        BadTable{"ZeroWidth", {F("a", 8, 0)}, {{"x", 1}}, TableProblem::kBadWidth, {"'a'"}},
        BadTable{"TooWide", {F("a", 8, 64)}, {{"x", 1}}, TableProblem::kBadWidth, {"width"}},
        BadTable{"WideFlag", {F("a", 8, 2, FieldKind::kFlag, 0)}, {{"x", 1}}, TableProblem::kBadWidth, {"flag"}},
        BadTable{
            "DuplicateOpcode", {F("a", 8, 8)}, {{"x", 3}, {"y", 3}}, TableProblem::kDuplicateOpcode, {"'x'", "'y'"}},
        BadTable{"DuplicateMnemonic", {F("a", 8, 8)}, {{"x", 3}, {"x", 4}}, TableProblem::kDuplicateMnemonic, {"'x'"}},
        BadTable{"OpcodeZero", {F("a", 8, 8)}, {{"x", 0}}, TableProblem::kOpcodeZero, {"reserved"}},
        BadTable{"OpcodeTooWide", {F("a", 8, 8)}, {{"x", 256}}, TableProblem::kOpcodeTooWide, {"8 bits"}},
        BadTable{"BadMnemonic", {F("a", 8, 8)}, {{"m mul", 2}}, TableProblem::kBadName, {"identifier"}},
        BadTable{"BadFieldName", {F("a-b", 8, 8)}, {{"x", 2}}, TableProblem::kBadName, {"'a-b'"}},
        BadTable{"DuplicateField", {F("a", 8, 8), F("a", 16, 8)}, {{"x", 2}}, TableProblem::kDuplicateField, {"'a'"}},
        BadTable{"EnumWithoutEnumeration",
                 {F("a", 8, 4, FieldKind::kEnum)},
                 {{"x", 2}},
                 TableProblem::kMissingEnum,
                 {"'a'"}},
        BadTable{"EnumValueTooWide",
                 {F("a", 8, 2, FieldKind::kEnum, kRequired, &kColorEnum)},
                 {{"x", 2}},
                 TableProblem::kEnumValueTooWide,
                 {"'blue'"}},
        BadTable{"EnumRepeatsAName",
                 {F("a", 8, 2, FieldKind::kEnum, kRequired, &kDupColorEnum)},
                 {{"x", 2}},
                 TableProblem::kDuplicateEnumValue,
                 {"'red'"}},
        BadTable{"DefaultOutOfRange",
                 {F("a", 8, 4, FieldKind::kUint, 16)},
                 {{"x", 2}},
                 TableProblem::kDefaultOutOfRange,
                 {"'a'"}},
        BadTable{"CountDefaultZero",
                 {F("a", 8, 4, FieldKind::kCount, 0)},
                 {{"x", 2}},
                 TableProblem::kDefaultOutOfRange,
                 {"default"}},
        BadTable{"EnumDefaultNamesNothing",
                 {F("a", 8, 4, FieldKind::kEnum, 5, &kColorEnum)},
                 {{"x", 2}},
                 TableProblem::kDefaultOutOfRange,
                 {"'a'"}}),
    [](const testing::TestParamInfo<BadTable>& info) { return std::string(info.param.name); });

// The checker also runs at compile time, which is how isa.h guards the shipped table.
constexpr FieldSpec kOverlapping[] = {F("a", 8, 16), F("b", 20, 8), {}};
constexpr FormatSpec kOverlappingFormat{"Fmt", "", span_of(kOverlapping)};
constexpr InsnSpec kOverlappingInsns[] = {{"x", 1, &kOverlappingFormat, Unit::control, "", ""}, {}};
static_assert(check_table(span_of(kOverlappingInsns)).problem == TableProblem::kFieldOverlap);

}  // namespace
}  // namespace tpu::isa
