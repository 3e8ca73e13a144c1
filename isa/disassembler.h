#pragma once

// Program -> assembly text. The listing of any program assembles back to the
// identical binary: words that do not decode are kept as `.insn` directives.

#include <string>

#include "isa/encoding.h"
#include "isa/program.h"

namespace tpu::isa {

// One instruction in assembly syntax, e.g. "mmul ub=0x100 acc=0 rows=200 stride=256 accumulate".
// Fields at their default value are left out.
std::string format_instruction(const Instruction& insn);

// The instruction at word, or `.insn 0x...` with the reason it does not decode.
std::string format_word(const Word& word);

struct DisasmOptions {
  bool data = true;      // include the weight-DRAM and host-memory images (needed to reassemble)
  bool comments = true;  // program counters as comments
};

std::string disassemble(const Program& program, const DisasmOptions& options = {});

}  // namespace tpu::isa
