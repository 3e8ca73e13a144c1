#pragma once

// The instruction set as C++: types describing the table, and everything
// isa.def expands into (enums, per-format argument structs, the spec tables).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "isa/word.h"

namespace tpu::isa {

// A read-only view of a constexpr array (C++17 has no std::span).
template <class T>
struct Span {
  const T* data = nullptr;
  size_t size = 0;
  constexpr const T* begin() const { return data; }
  constexpr const T* end() const { return data + size; }
  constexpr const T& operator[](size_t i) const { return data[i]; }
  constexpr bool empty() const { return size == 0; }
};

// Generated tables end with a blank sentinel entry (an empty format has no
// fields, and C++ has no empty arrays); the span leaves it out.
template <class T, size_t N>
constexpr Span<T> span_of(const T (&a)[N]) {
  return Span<T>{a, N - 1};
}

enum class FieldKind : uint8_t { kAddr, kUint, kCount, kSint, kEnum, kMask, kFlag };

inline constexpr int64_t kRequired = std::numeric_limits<int64_t>::min();

struct EnumValueSpec {
  std::string_view name;
  uint32_t value = 0;
  std::string_view doc;
};

struct EnumSpec {
  std::string_view name;
  std::string_view doc;
  Span<EnumValueSpec> values;

  constexpr const EnumValueSpec* find(uint64_t value) const {
    for (const auto& v : values)
      if (v.value == value) return &v;
    return nullptr;
  }
  constexpr const EnumValueSpec* find(std::string_view name_) const {
    for (const auto& v : values)
      if (v.name == name_) return &v;
    return nullptr;
  }
};

struct FieldSpec {
  std::string_view name;
  unsigned lo = 0;
  unsigned width = 0;
  FieldKind kind = FieldKind::kUint;
  const EnumSpec* enumeration = nullptr;  // kEnum and kMask only
  int64_t default_value = kRequired;
  std::string_view doc;

  constexpr bool required() const { return default_value == kRequired; }
  constexpr bool is_signed() const { return kind == FieldKind::kSint; }
  // Smallest and largest values the field may hold (enum fields: the raw range).
  constexpr int64_t min() const {
    if (kind == FieldKind::kSint) return -(int64_t{1} << (width - 1));
    return kind == FieldKind::kCount ? 1 : 0;
  }
  constexpr int64_t max() const {
    if (kind == FieldKind::kSint) return (int64_t{1} << (width - 1)) - 1;
    return static_cast<int64_t>((uint64_t{1} << width) - 1);
  }
};

struct FormatSpec {
  std::string_view name;
  std::string_view doc;
  Span<FieldSpec> fields;
};

struct TermSpec {
  std::string_view name;
  std::string_view definition;
};

// ---------------------------------------------------------------- generated enums

// Marks a field that names no enumeration.
enum class NoEnum : uint32_t {};

#define TPU_ENUM(name, doc) enum class name : uint32_t {
#define TPU_ENUM_VALUE(enum_name, name, value, doc) name = value,
#define TPU_ENUM_END(name) \
  }                        \
  ;
#include "isa/isa.def"

#define TPU_INSN(mnemonic, opcode, format, unit, summary, semantics) mnemonic = opcode,
enum class Opcode : uint8_t {
#include "isa/isa.def"
};

#define TPU_FORMAT(name, doc) name,
enum class FormatId : uint8_t {
#include "isa/isa.def"
};

struct InsnSpec {
  std::string_view mnemonic;
  uint32_t opcode = 0;  // wider than the opcode field so the table check can see overflow
  const FormatSpec* format = nullptr;
  Unit unit = Unit::control;
  std::string_view summary;
  std::string_view semantics;
};

// ---------------------------------------------------------------- generated tables

namespace tables {
#define TPU_ENUM(name, doc) inline constexpr EnumValueSpec k##name##Values[] = {
#define TPU_ENUM_VALUE(enum_name, name, value, doc) {#name, value, doc},
#define TPU_ENUM_END(name) \
  {}                       \
  }                        \
  ;
#include "isa/isa.def"

#define TPU_ENUM(name, doc) inline constexpr EnumSpec k##name = {#name, doc, span_of(k##name##Values)};
#include "isa/isa.def"
}  // namespace tables

template <class E>
inline constexpr const EnumSpec* kEnumOf = nullptr;
#define TPU_ENUM(name, doc) \
  template <>               \
  inline constexpr const EnumSpec* kEnumOf<name> = &tables::k##name;
#include "isa/isa.def"

// The table's name of an enum value ("?" for one it does not list).
template <class E>
std::string_view name_of(E value) {
  const EnumValueSpec* v = kEnumOf<E>->find(static_cast<uint64_t>(value));
  return v ? v->name : std::string_view("?");
}

namespace tables {
#define TPU_FORMAT(name, doc) inline constexpr FieldSpec k##name##Fields[] = {
#define TPU_FIELD(format, name, lo, width, kind, enum_name, default_value, doc) \
  {#name, lo, width, FieldKind::k##kind, kEnumOf<enum_name>, default_value, doc},
#define TPU_FORMAT_END(name) \
  {}                         \
  }                          \
  ;
#include "isa/isa.def"

inline constexpr FormatSpec kFormats[] = {
#define TPU_FORMAT(name, doc) {#name, doc, span_of(k##name##Fields)},
#include "isa/isa.def"
    {}};

inline constexpr InsnSpec kInsns[] = {
#define TPU_INSN(mnemonic, opcode, format, unit, summary, semantics) \
  {#mnemonic, opcode, &kFormats[static_cast<size_t>(FormatId::format)], Unit::unit, summary, semantics},
#include "isa/isa.def"
    {}};

inline constexpr EnumSpec kEnums[] = {
#define TPU_ENUM(name, doc) k##name,
#include "isa/isa.def"
    {}};

inline constexpr TermSpec kTerms[] = {
#define TPU_TERM(name, definition) {name, definition},
#include "isa/isa.def"
    {}};
}  // namespace tables

inline constexpr Span<InsnSpec> kInsns = span_of(tables::kInsns);
inline constexpr Span<FormatSpec> kFormats = span_of(tables::kFormats);
inline constexpr Span<EnumSpec> kEnums = span_of(tables::kEnums);
inline constexpr Span<TermSpec> kTerms = span_of(tables::kTerms);

constexpr size_t max_fields(Span<FormatSpec> formats) {
  size_t n = 0;
  for (const auto& f : formats) n = f.fields.size > n ? f.fields.size : n;
  return n;
}
inline constexpr size_t kMaxFields = max_fields(kFormats);

// ---------------------------------------------------------------- lookup

const InsnSpec* find_insn(std::string_view mnemonic);
const InsnSpec* find_insn(uint8_t opcode);  // nullptr: illegal opcode
const InsnSpec& spec_of(Opcode op);
std::string_view to_string(Opcode op);
std::string_view to_string(Unit unit);

// ---------------------------------------------------------------- table check

enum class TableProblem : uint8_t {
  kNone,
  kOpcodeZero,     // opcode 0 is reserved
  kOpcodeTooWide,  // opcode does not fit the opcode field
  kDuplicateOpcode,
  kDuplicateMnemonic,
  kBadName,        // mnemonic or field name that is not an identifier
  kBadWidth,       // width 0 or over 63 bits, or a flag wider than 1
  kFieldInOpcode,  // field overlaps the opcode bits
  kFieldPastWord,  // field extends past the word
  kFieldOverlap,   // two fields of one format share bits
  kDuplicateField,
  kMissingEnum,         // enum or mask field without an enumeration
  kEnumValueTooWide,    // an enum value does not fit its field
  kDuplicateEnumValue,  // two values or two names repeat within an enumeration
  kDefaultOutOfRange,
};

struct TableCheck {
  TableProblem problem = TableProblem::kNone;
  std::string_view insn;   // the instruction or format concerned
  std::string_view field;  // the field concerned, if any
  std::string_view other;  // the second party of a clash, if any
  constexpr bool ok() const { return problem == TableProblem::kNone; }
};

namespace detail {
constexpr bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (digit && i > 0))) return false;
  }
  return true;
}

constexpr TableCheck check_enum(const EnumSpec& e, std::string_view where, std::string_view field) {
  for (size_t i = 0; i < e.values.size; ++i)
    for (size_t j = i + 1; j < e.values.size; ++j)
      if (e.values[i].value == e.values[j].value || e.values[i].name == e.values[j].name)
        return {TableProblem::kDuplicateEnumValue, where, field, e.values[j].name};
  return {};
}

constexpr bool default_in_range(const FieldSpec& f) {
  if (f.required()) return true;
  const int64_t d = f.default_value;
  if (f.kind == FieldKind::kEnum) return d >= 0 && f.enumeration->find(static_cast<uint64_t>(d)) != nullptr;
  return d >= f.min() && d <= f.max();
}

constexpr TableCheck check_format(const FormatSpec& fmt, std::string_view where) {
  for (size_t i = 0; i < fmt.fields.size; ++i) {
    const FieldSpec& f = fmt.fields[i];
    if (!is_identifier(f.name)) return {TableProblem::kBadName, where, f.name, {}};
    if (f.width == 0 || f.width > 63 || (f.kind == FieldKind::kFlag && f.width != 1))
      return {TableProblem::kBadWidth, where, f.name, {}};
    if (f.lo < kOpcodeBits) return {TableProblem::kFieldInOpcode, where, f.name, {}};
    if (f.lo + f.width > kWordBits) return {TableProblem::kFieldPastWord, where, f.name, {}};
    const bool enumerated = f.kind == FieldKind::kEnum || f.kind == FieldKind::kMask;
    if (enumerated && f.enumeration == nullptr) return {TableProblem::kMissingEnum, where, f.name, {}};
    if (enumerated) {
      const TableCheck e = check_enum(*f.enumeration, where, f.name);
      if (!e.ok()) return e;
    }
    if (f.kind == FieldKind::kEnum)
      for (const auto& v : f.enumeration->values)
        if (v.value > static_cast<uint64_t>(f.max())) return {TableProblem::kEnumValueTooWide, where, f.name, v.name};
    if (!default_in_range(f)) return {TableProblem::kDefaultOutOfRange, where, f.name, {}};
    for (size_t j = i + 1; j < fmt.fields.size; ++j) {
      const FieldSpec& g = fmt.fields[j];
      if (f.name == g.name) return {TableProblem::kDuplicateField, where, f.name, {}};
      if (f.lo < g.lo + g.width && g.lo < f.lo + f.width) return {TableProblem::kFieldOverlap, where, f.name, g.name};
    }
  }
  return {};
}
}  // namespace detail

// Checks a table of instructions (and the formats and enums they use) for
// every structural mistake the encoder would otherwise turn into silent
// corruption. The shipped table is checked by a static_assert below.
constexpr TableCheck check_table(Span<InsnSpec> insns) {
  for (size_t i = 0; i < insns.size; ++i) {
    const InsnSpec& a = insns[i];
    if (!detail::is_identifier(a.mnemonic)) return {TableProblem::kBadName, a.mnemonic, {}, {}};
    if (a.opcode == 0) return {TableProblem::kOpcodeZero, a.mnemonic, {}, {}};
    if (a.opcode >= (1u << kOpcodeBits)) return {TableProblem::kOpcodeTooWide, a.mnemonic, {}, {}};
    for (size_t j = i + 1; j < insns.size; ++j) {
      if (a.opcode == insns[j].opcode) return {TableProblem::kDuplicateOpcode, a.mnemonic, {}, insns[j].mnemonic};
      if (a.mnemonic == insns[j].mnemonic) return {TableProblem::kDuplicateMnemonic, a.mnemonic, {}, {}};
    }
    const TableCheck f = detail::check_format(*a.format, a.mnemonic);
    if (!f.ok()) return f;
  }
  return {};
}

// One line naming the problem, the instruction and the field, for tests and tools.
std::string describe(const TableCheck& check);

static_assert(check_table(kInsns).ok(), "isa/isa.def is inconsistent: run the IsaTable tests for details");

// ---------------------------------------------------------------- typed arguments

// The C++ type of a field's value in the per-format argument structs.
template <FieldKind K, class E>
struct FieldValue {
  using type = uint64_t;
};
template <class E>
struct FieldValue<FieldKind::kSint, E> {
  using type = int64_t;
};
template <class E>
struct FieldValue<FieldKind::kFlag, E> {
  using type = bool;
};
template <class E>
struct FieldValue<FieldKind::kEnum, E> {
  using type = E;
};

// One struct per format, named <Format>Args, with a member per field
// (for example MatMulArgs::ub), filled by unpack() and encoded by pack().
#define TPU_FORMAT(name, doc) struct name##Args {
#define TPU_FIELD(format, name, lo, width, kind, enum_name, default_value, doc) \
  FieldValue<FieldKind::k##kind, enum_name>::type name{};
#define TPU_FORMAT_END(name) \
  }                          \
  ;
#include "isa/isa.def"

// An spmv's part: whether its sums start from those the spmv before kept, and whether it writes
// its outputs (or keeps the sums for the next).
constexpr bool continues_sums(SparsePart p) { return p == SparsePart::middle || p == SparsePart::last; }
constexpr bool writes_outputs(SparsePart p) { return p == SparsePart::whole || p == SparsePart::last; }

namespace detail {
constexpr int64_t sign_extend(uint64_t v, unsigned width) {
  const uint64_t sign = uint64_t{1} << (width - 1);
  return static_cast<int64_t>((v ^ sign) - sign);
}
}  // namespace detail

// unpack(word, args): fields of an already decoded (and so valid) word.
#define TPU_FORMAT(name, doc)                        \
  inline void unpack(const Word& w, name##Args& a) { \
    (void)w;                                         \
    (void)a;
#define TPU_FIELD(format, name, lo, width, kind, enum_name, default_value, doc)           \
  if constexpr (FieldKind::k##kind == FieldKind::kSint)                                   \
    a.name = static_cast<decltype(a.name)>(detail::sign_extend(w.get(lo, width), width)); \
  else                                                                                    \
    a.name = static_cast<decltype(a.name)>(w.get(lo, width));
#define TPU_FORMAT_END(name) }
#include "isa/isa.def"

// pack(opcode, args): the word for args, which the caller keeps in range.
#define TPU_FORMAT(name, doc)                        \
  inline Word pack(Opcode op, const name##Args& a) { \
    (void)a;                                         \
    Word w;                                          \
    w.set(0, kOpcodeBits, static_cast<uint64_t>(op));
#define TPU_FIELD(format, name, lo, width, kind, enum_name, default_value, doc) \
  w.set(lo, width, static_cast<uint64_t>(a.name));
#define TPU_FORMAT_END(name) \
  return w;                  \
  }
#include "isa/isa.def"

}  // namespace tpu::isa
