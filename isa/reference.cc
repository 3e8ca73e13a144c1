#include "isa/reference.h"

#include <sstream>

#include "isa/isa.h"
#include "isa/program.h"

namespace tpu::isa {

namespace {

std::string_view kind_name(FieldKind k) {
  switch (k) {
    case FieldKind::kAddr: return "address";
    case FieldKind::kUint: return "unsigned";
    case FieldKind::kCount: return "count";
    case FieldKind::kSint: return "signed";
    case FieldKind::kEnum: return "enum";
    case FieldKind::kMask: return "unit set";
    case FieldKind::kFlag: return "flag";
  }
  return "?";
}

std::string default_text(const FieldSpec& f) {
  if (f.required()) return "required";
  if (f.kind == FieldKind::kEnum) return std::string(f.enumeration->find(static_cast<uint64_t>(f.default_value))->name);
  return std::to_string(f.default_value);
}

std::string range_text(const FieldSpec& f) {
  if (f.kind == FieldKind::kEnum || f.kind == FieldKind::kMask) return "`" + std::string(f.enumeration->name) + "`";
  if (f.kind == FieldKind::kFlag) return "0, 1";
  return std::to_string(f.min()) + " … " + std::to_string(f.max());
}

}  // namespace

std::string reference_markdown() {
  std::ostringstream md;
  md << "# tpusim instruction set\n\n"
     << "<!-- Generated from isa/isa.def by `tpusim isa --markdown`; do not edit by hand. -->\n\n"
     << "Every instruction is one " << kWordBits << "-bit (" << kWordBytes << "-byte) little-endian word. Bits ["
     << kOpcodeBits - 1
     << ":0] hold the opcode; opcode 0 is reserved, so zeroed memory never decodes. "
        "Bits that no field covers must be zero, or the word is illegal. "
        "The host writes instructions into the chip's instruction buffer; the sequencer issues them in order "
        "to the unit named below, and units run decoupled until a `sync` or a data dependence makes one wait.\n\n";

  md << "## Summary\n\n| mnemonic | opcode | unit | format | summary |\n|---|---|---|---|---|\n";
  for (const auto& i : kInsns) {
    char op[8];
    std::snprintf(op, sizeof op, "0x%02x", i.opcode);
    md << "| [`" << i.mnemonic << "`](#" << i.mnemonic << ") | " << op << " | " << to_string(i.unit) << " | "
       << i.format->name << " | " << i.summary << " |\n";
  }

  md << "\n## Arithmetic\n\n";
  for (const auto& t : kTerms) md << "- **" << t.name << "**: " << t.definition << "\n";

  md << "\n## Instructions\n";
  for (const auto& i : kInsns) {
    char op[8];
    std::snprintf(op, sizeof op, "0x%02x", i.opcode);
    md << "\n### " << i.mnemonic << "\n\n**" << i.summary << "** — opcode " << op << ", unit `" << to_string(i.unit)
       << "`, format " << i.format->name << " (" << i.format->doc << ")\n\n"
       << i.semantics << "\n\n";
    if (i.format->fields.empty()) {
      md << "No operands.\n";
      continue;
    }
    md << "| operand | bits | kind | range | default | meaning |\n|---|---|---|---|---|---|\n";
    for (const auto& f : i.format->fields)
      md << "| `" << f.name << "` | " << f.lo + f.width - 1 << ":" << f.lo << " | " << kind_name(f.kind) << " | "
         << range_text(f) << " | " << default_text(f) << " | " << f.doc << " |\n";
  }

  md << "\n## Enumerations\n";
  for (const auto& e : kEnums) {
    md << "\n### " << e.name << "\n\n" << e.doc << "\n\n| name | value | meaning |\n|---|---|---|\n";
    for (const auto& v : e.values) md << "| `" << v.name << "` | " << v.value << " | " << v.doc << " |\n";
  }

  md << "\n## Assembly syntax\n\n"
        "One statement per line; comments start with `;`, `#` or `//`.\n\n"
        "- `label:` names the current location: the instruction index in `.text`, the byte address in `.dram` "
        "and `.host`.\n"
        "- `mnemonic operand ...`: operands are `name=value`, a bare flag name (`accumulate`), or positional "
        "values taken by the non-flag operands in table order. Operands are separated by spaces or commas; an "
        "expression holds no spaces unless inside parentheses.\n"
        "- Values are integer expressions: decimal, `0x` hex, `0b` binary and `0o` octal literals (`_` may "
        "separate digits), symbols, `+ - * / % << >> & | ^ ~` and parentheses. Enum operands also take their "
        "value names (`func=relu`); unit sets join names with `|` (`units=matrix|activation`).\n"
        "- `.text`, `.dram`, `.host` switch between the instruction stream, the weight-DRAM image and the "
        "host-memory image. `.org ADDR` and `.align N` move the data location; `.byte`, `.half`, `.word`, "
        "`.quad` place 1-, 2-, 4- and 8-byte little-endian values; `.fill COUNT, VALUE[, SIZE]` repeats one; "
        "`.incbin \"FILE\"[, OFFSET[, LENGTH]]` places a file's bytes (paths relative to the source file). "
        "Data may not overlap.\n"
        "- `.equ NAME, VALUE` defines a constant from symbols defined above it.\n"
        "- `.tensor NAME input|output DTYPE [DIMS] host|ub|dram=ADDR [scale=REAL] [zp=INT]` declares a named "
        "tensor; DTYPE is one of ";
  bool first = true;
  for (auto n : dtype_names()) {
    md << (first ? "" : ", ") << "`" << n << "`";
    first = false;
  }
  md << ". The real value of an element q is scale · (q − zp).\n"
        "- `.meta KEY \"VALUE\"` records free-form metadata.\n"
        "- `.insn 0x…` places a raw instruction word (the disassembler keeps words that do not decode this way).\n"
        "- `.expect`, `.config` and `.set` lines are expectations for `tpusim check`; they are not part of the "
        "program.\n\n"
        "`tpusim disasm` prints any program in this syntax, and `tpusim asm` turns that listing back into the "
        "identical binary.\n";

  md << "\n## Program container (.tpb)\n\n"
        "All integers little-endian.\n\n"
        "| part | layout |\n|---|---|\n"
        "| header ("
     << kProgramHeaderBytes << " bytes) | magic `TPUSIMPB`, u32 version (" << kProgramVersion
     << "), u32 section count, u64 payload bytes, u32 instruction-word bytes (" << kWordBytes
     << "), u32 reserved |\n"
        "| payload | sections, each u32 kind, u32 reserved, u64 length, then the body padded to 8 bytes |\n"
        "| trailer | u32 CRC-32 (IEEE 802.3) of header and payload |\n\n"
        "| section | kind | body |\n|---|---|---|\n"
        "| text | 1 | the instruction words |\n"
        "| dram | 2 | weight-DRAM image: u64 segment count; per segment u64 address, u64 length, bytes padded to 8 |\n"
        "| host | 3 | host-memory image, as dram |\n"
        "| tensors | 4 | u32 count; per tensor: u32-length name, u8 role, u8 dtype, u8 space, u8 rank, u64 "
        "dims, u64 address, f64 scale, i32 zero point |\n"
        "| metadata | 5 | u32 count; per entry u32-length key and value |\n\n"
        "Readers reject a wrong magic, another version, a size other than the header promises, a checksum "
        "mismatch, and any section that runs past its length.\n";
  return md.str();
}

}  // namespace tpu::isa
