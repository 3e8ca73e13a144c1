#pragma once

// Generic, table-driven view of one instruction: its spec and one value per
// field of its format. The assembler, disassembler and tests work on this
// view; the simulator unpacks words straight into the typed <Format>Args.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "isa/isa.h"

namespace tpu::isa {

struct Instruction {
  const InsnSpec* spec = nullptr;
  std::array<int64_t, kMaxFields> values{};  // in the order of spec->format->fields

  Opcode opcode() const { return static_cast<Opcode>(spec->opcode); }
  Span<FieldSpec> fields() const { return spec->format->fields; }
  // Index of the named field, or -1.
  int field_index(std::string_view name) const;
  int64_t get(std::string_view name) const;  // throws std::out_of_range for a field the format lacks
  void set(std::string_view name, int64_t value);
};

// An instruction with every field at its default (required fields at their minimum).
Instruction make_instruction(const InsnSpec& spec);

// Empty when value fits the field; otherwise why not, with the valid range.
std::string check_value(const FieldSpec& field, int64_t value);
// The field's valid values in words, e.g. "1 to 65535" or "one of identity, relu".
std::string describe_range(const FieldSpec& field);

// Encodes an instruction whose values all pass check_value (throws std::invalid_argument otherwise).
Word encode(const Instruction& insn);

// Decodes a word; on failure returns false and says why (illegal opcode,
// reserved bits set, a value no enumerator names).
bool decode(const Word& word, Instruction* out, std::string* error);

}  // namespace tpu::isa
