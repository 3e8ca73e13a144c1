// Encoder and decoder, generated from the table: every opcode round-trips
// random and boundary values of every field, through the generic and the
// typed interfaces, and through disassembly and reassembly.

#include <gtest/gtest.h>

#include <random>

#include "isa/assembler.h"
#include "isa/disassembler.h"
#include "isa/encoding.h"

namespace tpu::isa {
namespace {

// A uniformly random valid value for a field.
int64_t random_value(const FieldSpec& f, std::mt19937_64& rng) {
  switch (f.kind) {
    case FieldKind::kEnum: {
      std::uniform_int_distribution<size_t> pick(0, f.enumeration->values.size - 1);
      return f.enumeration->values[pick(rng)].value;
    }
    case FieldKind::kMask: {
      int64_t m = 0;
      for (const auto& v : f.enumeration->values)
        if (v.value < f.width && (rng() & 1)) m |= int64_t{1} << v.value;
      return m;
    }
    default: {
      std::uniform_int_distribution<int64_t> pick(f.min(), f.max());
      return pick(rng);
    }
  }
}

Instruction random_instruction(const InsnSpec& spec, std::mt19937_64& rng) {
  Instruction insn = make_instruction(spec);
  for (size_t i = 0; i < insn.fields().size; ++i) insn.values[i] = random_value(insn.fields()[i], rng);
  return insn;
}

// Extremes of a field: its range ends, and for enums every value.
std::vector<int64_t> boundary_values(const FieldSpec& f) {
  if (f.kind == FieldKind::kEnum) {
    std::vector<int64_t> v;
    for (const auto& e : f.enumeration->values) v.push_back(e.value);
    return v;
  }
  if (f.kind == FieldKind::kMask) return {0, (int64_t{1} << f.width) - 1};
  std::vector<int64_t> v = {f.min(), f.max()};
  if (f.min() + 1 <= f.max()) v.push_back(f.min() + 1);
  if (f.max() - 1 >= f.min()) v.push_back(f.max() - 1);
  if (f.is_signed()) v.insert(v.end(), {-1, 0, 1});
  return v;
}

void expect_round_trip(const Instruction& insn) {
  const Word w = encode(insn);
  Instruction back;
  std::string error;
  ASSERT_TRUE(decode(w, &back, &error)) << error << " for " << format_instruction(insn);
  EXPECT_EQ(back.spec, insn.spec);
  for (size_t i = 0; i < insn.fields().size; ++i)
    EXPECT_EQ(back.values[i], insn.values[i]) << insn.spec->mnemonic << "." << insn.fields()[i].name;
}

// The assembly of one instruction, reassembled, gives the same word.
void expect_text_round_trip(const Instruction& insn) {
  const std::string line = format_instruction(insn);
  const AssembleResult r = assemble(line + "\n", "round_trip.s");
  ASSERT_TRUE(r.ok()) << format_diagnostic(r.errors[0]);
  ASSERT_EQ(r.program.text.size(), 1u);
  EXPECT_EQ(r.program.text[0], encode(insn)) << line;
}

// Fields of the typed <Format>Args agree with the generic view bit for bit.
template <class Args>
void expect_typed_matches(const Word& w) {
  Args args;
  unpack(w, args);
  EXPECT_EQ(pack(static_cast<Opcode>(w.get(0, kOpcodeBits)), args), w);
}

void expect_typed_round_trip(const Instruction& insn) {
  const Word w = encode(insn);
  switch (static_cast<FormatId>(insn.spec->format - kFormats.data)) {
#define TPU_FORMAT(name, doc)            \
  case FormatId::name:                   \
    expect_typed_matches<name##Args>(w); \
    break;
#include "isa/isa.def"
  }
}

class EveryOpcode : public testing::TestWithParam<const InsnSpec*> {};

TEST_P(EveryOpcode, RandomValuesRoundTrip) {
  std::mt19937_64 rng(0x7055 + GetParam()->opcode);
  for (int i = 0; i < 2000; ++i) {
    const Instruction insn = random_instruction(*GetParam(), rng);
    expect_round_trip(insn);
    expect_typed_round_trip(insn);
  }
}

TEST_P(EveryOpcode, BoundaryValuesOfEveryFieldRoundTrip) {
  std::mt19937_64 rng(0xb0d + GetParam()->opcode);
  const Instruction base = random_instruction(*GetParam(), rng);
  for (size_t i = 0; i < base.fields().size; ++i) {
    for (const int64_t v : boundary_values(base.fields()[i])) {
      Instruction insn = base;
      insn.values[i] = v;
      expect_round_trip(insn);
      expect_typed_round_trip(insn);
      expect_text_round_trip(insn);
    }
  }
}

TEST_P(EveryOpcode, DisassemblyReassemblesIdentically) {
  std::mt19937_64 rng(0xd15 + GetParam()->opcode);
  for (int i = 0; i < 200; ++i) expect_text_round_trip(random_instruction(*GetParam(), rng));
}

TEST_P(EveryOpcode, OutOfRangeValuesAreRefused) {
  const Instruction base = make_instruction(*GetParam());
  for (size_t i = 0; i < base.fields().size; ++i) {
    const FieldSpec& f = base.fields()[i];
    for (const int64_t bad : {f.min() - 1, f.max() + 1}) {
      Instruction insn = base;
      insn.values[i] = bad;
      EXPECT_FALSE(check_value(f, bad).empty()) << f.name << "=" << bad;
      EXPECT_THROW(encode(insn), std::invalid_argument);
    }
  }
}

TEST_P(EveryOpcode, ReservedBitsMakeTheWordIllegal) {
  const Word good = encode(make_instruction(*GetParam()));
  Word covered;
  covered.set(0, kOpcodeBits, ~uint64_t{0});
  for (const auto& f : GetParam()->format->fields) covered.set(f.lo, f.width, ~uint64_t{0});
  int checked = 0;
  for (unsigned bit = 0; bit < kWordBits; ++bit) {
    if (covered.get(bit, 1)) continue;
    Word w = good;
    w.set(bit, 1, 1);
    Instruction insn;
    std::string error;
    EXPECT_FALSE(decode(w, &insn, &error)) << "bit " << bit;
    EXPECT_NE(error.find("reserved bits"), std::string::npos) << error;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST_P(EveryOpcode, DefaultsMatchTheTable) {
  const Instruction insn = make_instruction(*GetParam());
  for (size_t i = 0; i < insn.fields().size; ++i) {
    const FieldSpec& f = insn.fields()[i];
    if (!f.required()) {
      EXPECT_EQ(insn.values[i], f.default_value) << f.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, EveryOpcode, testing::ValuesIn([] {
                           std::vector<const InsnSpec*> v;
                           for (const auto& insn : kInsns) v.push_back(&insn);
                           return v;
                         }()),
                         [](const testing::TestParamInfo<const InsnSpec*>& info) {
                           return std::string(info.param->mnemonic);
                         });

TEST(Decode, EveryOpcodeOutsideTheTableIsIllegal) {
  for (unsigned op = 0; op < 256; ++op) {
    if (find_insn(static_cast<uint8_t>(op))) continue;
    Word w;
    w.set(0, kOpcodeBits, op);
    Instruction insn;
    std::string error;
    EXPECT_FALSE(decode(w, &insn, &error));
    char want[32];
    std::snprintf(want, sizeof want, "illegal opcode 0x%02x", op);
    EXPECT_EQ(error, want);
  }
}

TEST(Decode, EnumValueThatNamesNothingIsIllegal) {
  Instruction insn = make_instruction(spec_of(Opcode::act));
  Word w = encode(insn);
  const FieldSpec& func = insn.fields()[static_cast<size_t>(insn.field_index("func"))];
  w.set(func.lo, func.width, 9);  // ActFunc has no value 9
  Instruction out;
  std::string error;
  EXPECT_FALSE(decode(w, &out, &error));
  EXPECT_NE(error.find("'func'"), std::string::npos) << error;
}

TEST(Word, FieldsStraddlingLimbsKeepTheirBits) {
  Word w;
  w.set(60, 8, 0xa5);
  EXPECT_EQ(w.get(60, 8), 0xa5u);
  EXPECT_EQ(w.limbs[0] >> 60, 0x5u);
  EXPECT_EQ(w.limbs[1] & 0xf, 0xau);
  w.set(120, 40, 0xffffffffffull);
  EXPECT_EQ(w.get(120, 40), 0xffffffffffull);
  EXPECT_EQ(w.get(60, 8), 0xa5u);
  uint8_t bytes[kWordBytes];
  w.to_bytes(bytes);
  EXPECT_EQ(Word::from_bytes(bytes), w);
  EXPECT_EQ(bytes[7], 0x50);  // bit 60..63 of byte 7 hold the low nibble
}

}  // namespace
}  // namespace tpu::isa
