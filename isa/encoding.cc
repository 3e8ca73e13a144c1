#include "isa/encoding.h"

#include <cstdio>
#include <stdexcept>

namespace tpu::isa {

int Instruction::field_index(std::string_view name) const {
  for (size_t i = 0; i < fields().size; ++i)
    if (fields()[i].name == name) return static_cast<int>(i);
  return -1;
}

int64_t Instruction::get(std::string_view name) const {
  const int i = field_index(name);
  if (i < 0) throw std::out_of_range("'" + std::string(spec->mnemonic) + "' has no field '" + std::string(name) + "'");
  return values[i];
}

void Instruction::set(std::string_view name, int64_t value) {
  const int i = field_index(name);
  if (i < 0) throw std::out_of_range("'" + std::string(spec->mnemonic) + "' has no field '" + std::string(name) + "'");
  values[i] = value;
}

Instruction make_instruction(const InsnSpec& spec) {
  Instruction insn;
  insn.spec = &spec;
  for (size_t i = 0; i < spec.format->fields.size; ++i) {
    const FieldSpec& f = spec.format->fields[i];
    insn.values[i] = f.required() ? f.min() : f.default_value;
    if (f.required() && f.kind == FieldKind::kEnum) insn.values[i] = f.enumeration->values[0].value;
  }
  return insn;
}

namespace {
bool mask_is_valid(const FieldSpec& f, uint64_t v) {
  for (unsigned bit = 0; bit < f.width; ++bit)
    if (((v >> bit) & 1) && f.enumeration->find(bit) == nullptr) return false;
  return true;
}
}  // namespace

std::string describe_range(const FieldSpec& f) {
  if (f.kind == FieldKind::kEnum || f.kind == FieldKind::kMask) {
    std::string s = f.kind == FieldKind::kEnum ? "one of " : "a '|'-separated set of ";
    bool first = true;
    for (const auto& v : f.enumeration->values) {
      if (f.kind == FieldKind::kMask && v.value >= f.width) continue;
      s += (first ? "" : ", ") + std::string(v.name);
      first = false;
    }
    return s;
  }
  if (f.kind == FieldKind::kFlag) return "0 or 1";
  return std::to_string(f.min()) + " to " + std::to_string(f.max());
}

std::string check_value(const FieldSpec& f, int64_t v) {
  const bool in_range = v >= f.min() && v <= f.max();
  bool ok = in_range;
  if (ok && f.kind == FieldKind::kEnum) ok = f.enumeration->find(static_cast<uint64_t>(v)) != nullptr;
  if (ok && f.kind == FieldKind::kMask) ok = mask_is_valid(f, static_cast<uint64_t>(v));
  if (ok) return {};
  return "value " + std::to_string(v) + " is out of range for '" + std::string(f.name) + "' (" +
         std::to_string(f.width) + "-bit field: " + describe_range(f) + ")";
}

Word encode(const Instruction& insn) {
  Word w;
  w.set(0, kOpcodeBits, insn.spec->opcode);
  for (size_t i = 0; i < insn.fields().size; ++i) {
    const FieldSpec& f = insn.fields()[i];
    const std::string err = check_value(f, insn.values[i]);
    if (!err.empty()) throw std::invalid_argument(std::string(insn.spec->mnemonic) + ": " + err);
    w.set(f.lo, f.width, static_cast<uint64_t>(insn.values[i]));
  }
  return w;
}

bool decode(const Word& word, Instruction* out, std::string* error) {
  const uint8_t opcode = static_cast<uint8_t>(word.get(0, kOpcodeBits));
  const InsnSpec* spec = find_insn(opcode);
  if (spec == nullptr) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "illegal opcode 0x%02x", opcode);
    *error = buf;
    return false;
  }
  Instruction insn;
  insn.spec = spec;
  Word covered;
  covered.set(0, kOpcodeBits, ~uint64_t{0});
  for (size_t i = 0; i < spec->format->fields.size; ++i) {
    const FieldSpec& f = spec->format->fields[i];
    const uint64_t raw = word.get(f.lo, f.width);
    insn.values[i] = f.is_signed() ? detail::sign_extend(raw, f.width) : static_cast<int64_t>(raw);
    covered.set(f.lo, f.width, ~uint64_t{0});
    const std::string err = check_value(f, insn.values[i]);
    if (!err.empty()) {
      *error = "'" + std::string(spec->mnemonic) + "': " + err;
      return false;
    }
  }
  for (size_t i = 0; i < word.limbs.size(); ++i) {
    if (word.limbs[i] & ~covered.limbs[i]) {
      *error = "'" + std::string(spec->mnemonic) + "' has reserved bits set (bits no field covers must be zero)";
      return false;
    }
  }
  *out = insn;
  return true;
}

}  // namespace tpu::isa
