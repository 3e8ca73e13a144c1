#pragma once

// Assembly text -> Program. Syntax (documented in full in isa/ISA.md):
//   label:                       names the current location (pc in .text, address in data)
//   mnemonic op op ...           operands `name=expr`, bare flag names, or positional values
//   .text | .dram | .host        switch section (weight-DRAM and host-memory images)
//   .org .align .byte .half .word .quad .fill .incbin   place data in .dram/.host
//   .equ NAME, expr              symbolic constant
//   .tensor NAME input|output DTYPE [dims] host|ub|dram=ADDR [scale=F] [zp=N]
//   .meta KEY "VALUE"            free-form metadata
//   .insn 0x<64 hex digits>      a raw instruction word
//   .expect .config .set         directives for `tpusim check`, passed through untouched
// Comments start with ';', '#' or '//'. Operands are separated by spaces or
// commas; an expression contains no spaces unless inside parentheses.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "isa/program.h"

namespace tpu::isa {

struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;  // 1-based
  int length = 1;  // characters underlined
  std::string message;
  std::string source_line;
};

// "file:line:column: error: message", the source line, and a caret under the culprit.
std::string format_diagnostic(const Diagnostic& d);

struct AssembleResult {
  Program program;                         // meaningful only when ok()
  std::vector<Diagnostic> errors;          // in source order
  std::map<std::string, int64_t> symbols;  // labels and .equ constants
  // Lines of `tpusim check` directives (.expect, .config, .set), which are not part of the program.
  std::vector<std::pair<int, std::string>> check_directives;
  bool ok() const { return errors.empty(); }
};

// `filename` names the source in diagnostics; `.incbin` paths are relative to its directory.
AssembleResult assemble(std::string_view source, const std::string& filename);
AssembleResult assemble_file(const std::string& path);

}  // namespace tpu::isa
