// tpusim compile: a model to a program for a chip configuration.

#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>

#include "isa/program.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/cli/commands.h"
#include "tools/compiler/compiler.h"
#include "tools/tensor_io/npy.h"

namespace tpu::cli {

namespace {
struct CompileArgs {
  std::string model, output, config = "configs/tpu_v1.yaml";
  int64_t batch = 0;
  bool quiet = false;
  std::string calibrate;
  double percentile = 100;
  bool timing_only = false;
  std::string sparse = "model";
  double density = 0.1;
  bool sparse_slices = false;
};
}  // namespace

void add_compile_command(CLI::App& app) {
  auto args = std::make_shared<CompileArgs>();
  CLI::App* cmd = app.add_subcommand("compile", "Compile a model (models/*.yaml) into a program");
  cmd->add_option("model", args->model, "Model file")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->output, "Program to write (.tpb)")->required();
  cmd->add_option("-c,--config", args->config, "Chip configuration the program is for")->check(CLI::ExistingFile);
  cmd->add_option("--batch", args->batch, "Batch size (default: the model's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_flag("-q,--quiet", args->quiet, "Do not print the compile report");
  CLI::Option* calibrate = cmd->add_option("--calibrate", args->calibrate, "Calibration samples (.npy, float32, [samples, ...input shape])")
      ->check(CLI::ExistingFile);
  CLI::Option* percentile = cmd->add_option("--percentile", args->percentile,
                  "Percentile of |activation| mapped to 127 (default 100: the maximum)")
      ->check(CLI::Range(50.0, 100.0));
  cmd->add_flag("--timing-only", args->timing_only,
                "No weights or calibration: a program for timing-only runs (tpusim run --no-values), "
                "with the same timing, compiled much faster")
      ->excludes(calibrate)
      ->excludes(percentile);
  cmd->add_option("--sparse", args->sparse,
                  "Dense layers on the sparse engine: model (as each layer's `engine:` says), all (compressed to "
                  "their `density`, or --density), none, auto (each where the cost model of "
                  "tools/compiler/compiler.h says it is faster)")
      ->check(CLI::IsMember({"model", "all", "none", "auto"}));
  CLI::Option* density = cmd->add_option("--density", args->density, "With --sparse all or auto: the density of the layers the model does not already put on the sparse engine")
      ->check(CLI::Range(1e-6, 1.0));
  cmd->add_flag("--sparse-slices", args->sparse_slices,
                "A sparse layer too large for the engine's SRAMs runs in column slices, each loaded from weight "
                "DRAM every inference (as a layer's `slices: true` says for it)");
  cmd->callback([args, density] {
    if (density->count() > 0 && args->sparse != "all" && args->sparse != "auto")
      throw CLI::ValidationError("--density", "goes with --sparse all or auto (a layer the model puts on the sparse engine takes its density from the model)");
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(args->config));
    compiler::CompileOptions options;
    options.batch = args->batch;
    options.percentile = args->percentile;
    options.timing_only = args->timing_only;
    options.sparse = args->sparse == "all"    ? compiler::CompileOptions::Sparse::kAll
                     : args->sparse == "none" ? compiler::CompileOptions::Sparse::kNone
                     : args->sparse == "auto" ? compiler::CompileOptions::Sparse::kAuto
                                              : compiler::CompileOptions::Sparse::kAsModel;
    options.density = args->density;
    options.sparse_slices = args->sparse_slices;
    if (!args->calibrate.empty()) {
      const tensor_io::Array a = tensor_io::read_npy(args->calibrate);
      if (a.dtype != isa::DType::kF32)
        throw tensor_io::TensorFileError(args->calibrate + ": calibration data must be float32");
      options.calibration.resize(static_cast<size_t>(a.elements()));
      std::memcpy(options.calibration.data(), a.bytes.data(), a.bytes.size());
      for (size_t i = 0; i < options.calibration.size(); ++i)
        if (!std::isfinite(options.calibration[i]))
          throw tensor_io::TensorFileError(args->calibrate + ": element " + std::to_string(i) +
                                           " is not a finite number; calibration takes finite values only");
    }
    const compiler::Compiled c = compiler::compile_model(args->model, chip, options);
    isa::save_program(c.lowered.program, args->output);
    if (!args->quiet) std::cout << compiler::report_text(c);
  });
}

}  // namespace tpu::cli
