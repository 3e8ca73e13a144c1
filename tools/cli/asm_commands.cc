// tpusim asm, disasm and isa.

#include <iostream>
#include <memory>

#include "isa/assembler.h"
#include "isa/disassembler.h"
#include "isa/program.h"
#include "isa/reference.h"
#include "tools/cli/commands.h"

namespace tpu::cli {

namespace {

std::string default_output(const std::string& input, const std::string& extension) {
  const size_t dot = input.find_last_of('.');
  const size_t slash = input.find_last_of('/');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_ext ? input.substr(0, dot) : input) + extension;
}

struct AsmArgs {
  std::string input, output;
};
struct DisasmArgs {
  std::string input, output;
  bool no_data = false, no_comments = false;
};
struct IsaArgs {
  std::string output;
  bool markdown = false;
};

}  // namespace

void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  isa::write_file_atomically(path, text);
}

void write_output_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  isa::write_file_atomically(path, std::string(bytes.begin(), bytes.end()));
}

void add_asm_commands(CLI::App& app) {
  auto as = std::make_shared<AsmArgs>();
  CLI::App* asm_cmd = app.add_subcommand("asm", "Assemble a .s file into a program container (.tpb)");
  asm_cmd->add_option("source", as->input, "Assembly source")->required()->check(CLI::ExistingFile);
  asm_cmd->add_option("-o,--output", as->output, "Output program (default: the source name with .tpb)");
  asm_cmd->callback([as] {
    const isa::AssembleResult result = isa::assemble_file(as->input);
    if (!result.ok()) {
      for (const auto& d : result.errors) std::cerr << isa::format_diagnostic(d);
      std::cerr << result.errors.size() << " error" << (result.errors.size() == 1 ? "" : "s")
                << "; no output written\n";
      throw CommandExit{1};
    }
    isa::save_program(result.program, as->output.empty() ? default_output(as->input, ".tpb") : as->output);
  });

  auto dis = std::make_shared<DisasmArgs>();
  CLI::App* dis_cmd = app.add_subcommand("disasm", "Print a program as assembly that reassembles to the same binary");
  dis_cmd->add_option("program", dis->input, "Program container (.tpb)")->required()->check(CLI::ExistingFile);
  dis_cmd->add_option("-o,--output", dis->output, "Write the listing to a file instead of stdout");
  dis_cmd->add_flag("--no-data", dis->no_data, "Leave out the memory images (the listing then no longer reassembles)");
  dis_cmd->add_flag("--no-comments", dis->no_comments, "Leave out the header and program-counter comments");
  dis_cmd->callback([dis] {
    const isa::Program program = isa::load_program(dis->input);
    write_output(dis->output, isa::disassemble(program, {!dis->no_data, !dis->no_comments}));
  });

  auto is = std::make_shared<IsaArgs>();
  CLI::App* isa_cmd = app.add_subcommand("isa", "Print the instruction set reference");
  isa_cmd->add_flag("--markdown", is->markdown, "Markdown, as in isa/ISA.md (the default)");
  isa_cmd->add_option("-o,--output", is->output, "Write to a file instead of stdout");
  isa_cmd->callback([is] { write_output(is->output, isa::reference_markdown()); });
}

}  // namespace tpu::cli
