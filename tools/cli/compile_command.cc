// tpusim compile: a model to a program for a chip configuration.

#include <iostream>
#include <memory>

#include "isa/program.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/cli/commands.h"
#include "tools/compiler/compiler.h"

namespace tpu::cli {

namespace {
struct CompileArgs {
  std::string model, output, config = "configs/tpu_v1.yaml";
  int64_t batch = 0;
  bool quiet = false;
};
}  // namespace

void add_compile_command(CLI::App& app) {
  auto args = std::make_shared<CompileArgs>();
  CLI::App* cmd = app.add_subcommand("compile", "Compile a model (models/*.yaml) into a program");
  cmd->add_option("model", args->model, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->output, "Program to write (.tpb)")->required();
  cmd->add_option("-c,--config", args->config, "Chip configuration the program is for")->check(CLI::ExistingFile);
  cmd->add_option("--batch", args->batch, "Batch size (default: the model's)")->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_flag("-q,--quiet", args->quiet, "Do not print the compile report");
  cmd->callback([args] {
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(args->config));
    compiler::CompileOptions options;
    options.batch = args->batch;
    const compiler::Compiled c = compiler::compile_model(args->model, chip, options);
    isa::save_program(c.lowered.program, args->output);
    if (!args->quiet) std::cout << compiler::report_text(c);
  });
}

}  // namespace tpu::cli
