#include "isa/disassembler.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "isa/text.h"

namespace tpu::isa {

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string format_value(const FieldSpec& f, int64_t v) {
  switch (f.kind) {
    case FieldKind::kAddr: return hex(static_cast<uint64_t>(v));
    case FieldKind::kEnum: return std::string(f.enumeration->find(static_cast<uint64_t>(v))->name);
    case FieldKind::kMask: {
      if (v == 0) return "0";
      std::string s;
      for (unsigned bit = 0; bit < f.width; ++bit)
        if ((v >> bit) & 1) s += (s.empty() ? "" : "|") + std::string(f.enumeration->find(bit)->name);
      return s;
    }
    default: return std::to_string(v);
  }
}

std::string raw_word(const Word& w) {
  std::string s = "0x";
  char buf[20];
  for (size_t i = w.limbs.size(); i-- > 0;) {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(w.limbs[i]));
    s += buf;
  }
  return s;
}

void emit_image(std::ostringstream& out, const char* section, const MemoryImage& image) {
  if (image.empty()) return;
  out << "\n" << section << "\n";
  for (const auto& [addr, bytes] : image.segments()) {
    out << ".org " << hex(addr) << "\n";
    for (size_t i = 0; i < bytes.size(); i += 16) {
      out << ".byte ";
      for (size_t j = i; j < bytes.size() && j < i + 16; ++j) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%s0x%02x", j == i ? "" : ", ", bytes[j]);
        out << buf;
      }
      out << "\n";
    }
  }
}

}  // namespace

std::string format_instruction(const Instruction& insn) {
  std::string s(insn.spec->mnemonic);
  for (size_t i = 0; i < insn.fields().size; ++i) {
    const FieldSpec& f = insn.fields()[i];
    const int64_t v = insn.values[i];
    if (!f.required() && v == f.default_value) continue;
    s += ' ';
    if (f.kind == FieldKind::kFlag)
      s += f.name;
    else
      s += std::string(f.name) + "=" + format_value(f, v);
  }
  return s;
}

std::string format_word(const Word& word) {
  Instruction insn;
  std::string error;
  if (decode(word, &insn, &error)) return format_instruction(insn);
  return ".insn " + raw_word(word) + "  ; " + error;
}

std::string disassemble(const Program& program, const DisasmOptions& options) {
  std::ostringstream out;
  if (options.comments)
    out << "; tpusim program: " << program.text.size() << " instructions, " << program.dram.total_bytes()
        << " bytes of weight DRAM, " << program.host.total_bytes() << " bytes of host memory\n";
  for (const auto& [key, value] : program.metadata) out << ".meta " << quote(key) << " " << quote(value) << "\n";
  for (const TensorDesc& t : program.tensors) {
    out << ".tensor " << t.name << " " << to_string(t.role) << " " << to_string(t.dtype) << " [";
    for (size_t i = 0; i < t.shape.size(); ++i) out << (i ? "," : "") << t.shape[i];
    // The shortest decimal that reads back as the same double.
    char scale[40];
    for (int digits = 6; digits <= 17; ++digits) {
      std::snprintf(scale, sizeof scale, "%.*g", digits, t.scale);
      if (std::strtod(scale, nullptr) == t.scale) break;
    }
    out << "] " << to_string(t.space) << "=" << hex(t.addr) << " scale=" << scale << " zp=" << t.zero_point << "\n";
  }
  out << "\n.text\n";
  for (size_t pc = 0; pc < program.text.size(); ++pc) {
    std::string line = "    " + format_word(program.text[pc]);
    if (options.comments && line.find(';') == std::string::npos) {
      line.resize(std::max<size_t>(line.size() + 2, 72), ' ');
      line += "; " + std::to_string(pc);
    }
    out << line << "\n";
  }
  if (options.data) {
    emit_image(out, ".dram", program.dram);
    emit_image(out, ".host", program.host);
  }
  return out.str();
}

}  // namespace tpu::isa
