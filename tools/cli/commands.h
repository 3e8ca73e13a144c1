#pragma once

// Each file of tools/cli adds its subcommands to the tpusim command. A
// subcommand's callback returns through CommandExit; errors are exceptions
// (tpu::isa::ProgramError, tpu::sim::ConfigError, ...) that main reports.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace tpu::cli {

// Thrown by a subcommand that ends with a non-zero status after reporting why.
struct CommandExit {
  int status;
};

void add_asm_commands(CLI::App& app);
void add_run_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_compile_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_onnx_test_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_train_command(CLI::App& app);
// `tpusim train continual`, under train.
CLI::App* add_continual_command(CLI::App& train);
void add_compress_command(CLI::App& app);
void add_unpack_command(CLI::App& app);
void add_accuracy_command(CLI::App& app);

// Writes text to a file (atomically) or, for "" or "-", to stdout.
void write_output(const std::string& path, const std::string& text);
// Writes bytes to a file, atomically.
void write_output_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace tpu::cli
