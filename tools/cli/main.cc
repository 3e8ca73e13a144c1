// tpusim: one executable, one subcommand per tool. Each subcommand is a thin
// layer over the libraries; errors go to stderr with a non-zero exit.

#include <cstdlib>
#include <iostream>

#include "isa/program.h"
#include "sim/base/config.h"
#include "sim/base/fault.h"
#include "tools/cli/commands.h"
#include "tools/compiler/graph.h"
#include "tools/tensor_io/npy.h"

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const tpu::cli::CommandExit& e) {
    return e.status;
  } catch (const tpu::isa::ProgramError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const tpu::tensor_io::TensorFileError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const tpu::compiler::ModelError& e) {
    std::cerr << "model error: " << e.what() << "\n";
    return 1;
  } catch (const tpu::sim::ConfigError& e) {
    std::cerr << "configuration error:\n" << e.what() << "\n";
    return 2;
  } catch (const std::runtime_error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory: the model or program needs more memory than this machine has\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "internal error: " << e.what() << "\n";
    return 4;
  }
  return 0;
}
