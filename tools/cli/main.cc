// tpusim: one executable, one subcommand per tool. Each subcommand is a thin
// layer over the libraries; errors go to stderr with a non-zero exit.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "isa/assembler.h"
#include "isa/disassembler.h"
#include "isa/program.h"
#include "isa/reference.h"

namespace {

using tpu::isa::ProgramError;

std::string default_output(const std::string& input, const std::string& extension) {
  const size_t dot = input.find_last_of('.');
  const size_t slash = input.find_last_of('/');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_ext ? input.substr(0, dot) : input) + extension;
}

void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  tpu::isa::write_file_atomically(path, text);
}

int run_asm(const std::string& input, std::string output) {
  const tpu::isa::AssembleResult result = tpu::isa::assemble_file(input);
  if (!result.ok()) {
    for (const auto& d : result.errors) std::cerr << tpu::isa::format_diagnostic(d);
    std::cerr << result.errors.size() << " error" << (result.errors.size() == 1 ? "" : "s") << "; no output written\n";
    return 1;
  }
  if (output.empty()) output = default_output(input, ".tpb");
  tpu::isa::save_program(result.program, output);
  return 0;
}

int run_disasm(const std::string& input, const std::string& output, bool data, bool comments) {
  const tpu::isa::Program program = tpu::isa::load_program(input);
  write_output(output, tpu::isa::disassemble(program, {data, comments}));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tpusim: a cycle-level simulator of a TPU-v1-like inference accelerator"};
  app.require_subcommand(1);

  std::string asm_input, asm_output;
  CLI::App* asm_cmd = app.add_subcommand("asm", "Assemble a .s file into a program container (.tpb)");
  asm_cmd->add_option("source", asm_input, "Assembly source")->required()->check(CLI::ExistingFile);
  asm_cmd->add_option("-o,--output", asm_output, "Output program (default: the source name with .tpb)");

  std::string dis_input, dis_output;
  bool no_data = false, no_comments = false;
  CLI::App* dis_cmd = app.add_subcommand("disasm", "Print a program as assembly that reassembles to the same binary");
  dis_cmd->add_option("program", dis_input, "Program container (.tpb)")->required()->check(CLI::ExistingFile);
  dis_cmd->add_option("-o,--output", dis_output, "Write the listing to a file instead of stdout");
  dis_cmd->add_flag("--no-data", no_data, "Leave out the memory images (the listing then no longer reassembles)");
  dis_cmd->add_flag("--no-comments", no_comments, "Leave out the header and program-counter comments");

  std::string isa_output;
  bool markdown = false;
  CLI::App* isa_cmd = app.add_subcommand("isa", "Print the instruction set reference");
  isa_cmd->add_flag("--markdown", markdown, "Markdown, as in isa/ISA.md (the default)");
  isa_cmd->add_option("-o,--output", isa_output, "Write to a file instead of stdout");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    if (asm_cmd->parsed()) return run_asm(asm_input, asm_output);
    if (dis_cmd->parsed()) return run_disasm(dis_input, dis_output, !no_data, !no_comments);
    if (isa_cmd->parsed()) {
      write_output(isa_output, tpu::isa::reference_markdown());
      return 0;
    }
  } catch (const ProgramError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
