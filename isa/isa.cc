#include "isa/isa.h"

#include <array>

namespace tpu::isa {
namespace {

constexpr std::array<const InsnSpec*, 256> build_opcode_index() {
  std::array<const InsnSpec*, 256> index{};
  for (const auto& insn : kInsns) index[insn.opcode] = &insn;
  return index;
}
constexpr std::array<const InsnSpec*, 256> kByOpcode = build_opcode_index();

}  // namespace

const InsnSpec* find_insn(std::string_view mnemonic) {
  for (const auto& insn : kInsns)
    if (insn.mnemonic == mnemonic) return &insn;
  return nullptr;
}

const InsnSpec* find_insn(uint8_t opcode) { return kByOpcode[opcode]; }

const InsnSpec& spec_of(Opcode op) { return *kByOpcode[static_cast<uint8_t>(op)]; }

std::string_view to_string(Opcode op) { return spec_of(op).mnemonic; }

std::string_view to_string(Unit unit) { return name_of(unit); }

std::string describe(const TableCheck& c) {
  const std::string where(c.insn), field(c.field), other(c.other);
  switch (c.problem) {
    case TableProblem::kNone: return "table is consistent";
    case TableProblem::kOpcodeZero: return "'" + where + "': opcode 0 is reserved for illegal instructions";
    case TableProblem::kOpcodeTooWide:
      return "'" + where + "': opcode does not fit in " + std::to_string(kOpcodeBits) + " bits";
    case TableProblem::kDuplicateOpcode: return "'" + where + "' and '" + other + "' share an opcode";
    case TableProblem::kDuplicateMnemonic: return "mnemonic '" + where + "' is defined twice";
    case TableProblem::kBadName:
      return "'" + where + "': name '" + (field.empty() ? where : field) + "' is not an identifier";
    case TableProblem::kBadWidth:
      return "'" + where + "': field '" + field + "' has an invalid width (1 to 63 bits; flags exactly 1)";
    case TableProblem::kFieldInOpcode:
      return "'" + where + "': field '" + field + "' overlaps the opcode bits [0, " + std::to_string(kOpcodeBits) + ")";
    case TableProblem::kFieldPastWord:
      return "'" + where + "': field '" + field + "' extends past the " + std::to_string(kWordBits) + "-bit word";
    case TableProblem::kFieldOverlap: return "'" + where + "': fields '" + field + "' and '" + other + "' overlap";
    case TableProblem::kDuplicateField: return "'" + where + "': field '" + field + "' is defined twice";
    case TableProblem::kMissingEnum: return "'" + where + "': field '" + field + "' needs an enumeration";
    case TableProblem::kEnumValueTooWide:
      return "'" + where + "': value '" + other + "' does not fit field '" + field + "'";
    case TableProblem::kDuplicateEnumValue:
      return "'" + where + "': enumeration of field '" + field + "' repeats '" + other + "'";
    case TableProblem::kDefaultOutOfRange:
      return "'" + where + "': default of field '" + field + "' is outside the field's range";
  }
  return "unknown table problem";
}

}  // namespace tpu::isa
