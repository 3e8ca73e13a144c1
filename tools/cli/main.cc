// tpusim: one executable, one subcommand per tool. Each subcommand is a thin
// layer over the libraries; errors go to stderr with a non-zero exit.

#include <cstdlib>
#include <iostream>

#include "tools/cli/commands.h"
#include "tools/cli/exit_status.h"

// Debian's libsystemc.so carries a main() that calls sc_main(); the linker
// needs the symbol even though tpusim has its own main and never calls it.
extern "C" int sc_main(int, char**) { return 1; }

int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  CLI::App app{"tpusim: a cycle-level simulator of a TPU-v1-like inference accelerator"};
  app.require_subcommand(1);
  tpu::cli::add_asm_commands(app);
  tpu::cli::add_run_command(app);
  tpu::cli::add_check_command(app);
  tpu::cli::add_compile_command(app);
  tpu::cli::add_report_command(app);
  tpu::cli::add_onnx_test_command(app);
  tpu::cli::add_bench_command(app);
  tpu::cli::add_sweep_command(app);
  tpu::cli::add_train_command(app);
  tpu::cli::add_compress_command(app);
  tpu::cli::add_unpack_command(app);
  tpu::cli::add_accuracy_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return tpu::cli::report_usage_error(app, e, std::cout, std::cerr);
  } catch (...) {
    return tpu::cli::report_error(std::current_exception(), std::cerr);
  }
  return 0;
}
