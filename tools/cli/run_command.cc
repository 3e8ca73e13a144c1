// tpusim run: simulate a program on a chip configuration.

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "isa/program.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/chip.h"
#include "sim/top/energy.h"
#include "sim/top/results.h"
#include "tools/cli/commands.h"
#include "tools/report/workload.h"
#include "tools/tensor_io/npy.h"
#include "tools/tensor_io/onnx_pb.h"

namespace tpu::cli {

namespace {

struct RunArgs {
  std::string config = "configs/tpu_v1.yaml";
  std::string program, workload;
  std::vector<std::string> sets, inputs, outputs;
  std::string out, trace, vcd;
  bool no_values = false, quiet = false, layers = false, csv = false;
};

std::pair<std::string, std::string> split_assignment(const std::string& s, const char* option) {
  const size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
    throw std::invalid_argument(std::string(option) + " " + s + ": expected NAME=FILE");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

bool is_npy(const std::string& path) { return path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0; }

// An input tensor's bytes from a file: .npy or ONNX .pb (int8, or float32 to quantize), or raw bytes.
std::vector<uint8_t> read_input(const std::string& path, const isa::Program& program, const std::string& name) {
  const isa::TensorDesc* t = nullptr;
  for (const auto& d : program.tensors)
    if (d.name == name) t = &d;
  if (is_npy(path) && t) return tensor_io::tensor_bytes(tensor_io::read_npy(path), *t, path);
  if (tensor_io::is_onnx_pb(path) && t)
    return tensor_io::tensor_bytes(tensor_io::read_onnx_pb(path, t->shape), *t, path);
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::invalid_argument(path + ": cannot open");
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void run(const RunArgs& args) {
  if (args.no_values && !args.outputs.empty())
    throw std::invalid_argument(
        "--no-values and --output cannot go together: a timing-only run computes no values to write");
  sim::Config config = sim::Config::load(args.config);
  for (const std::string& s : args.sets) config.set(s);
  const sim::ChipParams params = sim::read_chip_params(config);
  const sim::EnergyModel energy_model = sim::load_energy_model(params);
  if (args.program.empty() == args.workload.empty()) throw std::invalid_argument("give either --program or --workload");
  std::optional<report::Workload> workload;
  if (!args.workload.empty()) workload = report::load_workload(args.workload);
  const isa::Program program = workload ? report::workload_program(*workload, params, args.no_values) : isa::load_program(args.program);

  sim::RunOptions options;
  options.compute_values = !args.no_values;
  options.trace = !args.trace.empty();
  options.vcd_path = args.vcd;
  sim::Chip chip(params, program, options);
  if (workload && args.inputs.empty() && !args.no_values)
    for (const auto& [name, bytes] : report::workload_inputs(*workload, program)) chip.set_input(name, bytes);
  for (const std::string& in : args.inputs) {
    const auto [name, file] = split_assignment(in, "--input");
    chip.set_input(name, read_input(file, program, name));
  }
  std::vector<std::pair<std::string, std::string>> output_files;
  for (const std::string& o : args.outputs) {
    const auto [name, file] = split_assignment(o, "--output");
    const bool known = std::any_of(program.tensors.begin(), program.tensors.end(), [&](const isa::TensorDesc& t) {
      return t.name == name && t.role == isa::TensorRole::kOutput;
    });
    if (!known) throw std::invalid_argument("--output " + o + ": the program has no output tensor '" + name + "'");
    output_files.emplace_back(name, file);
  }

  const sim::RunOutcome outcome = chip.run();
  const sim::EnergyReport energy = sim::price(energy_model, params, outcome.stats, outcome.cycles);
  sim::RunRecord record{outcome, params, program, energy, {}, &energy_model};
  if (!args.no_values)
    for (const isa::TensorDesc& t : program.tensors)
      if (t.role == isa::TensorRole::kOutput) record.outputs[t.name] = chip.tensor_bytes(t);

  nlohmann::json result = sim::to_json(record);
  nlohmann::json verdict;
  if (workload) {
    verdict = report::workload_verdict(*workload, result);
    result["workload"] = {{"name", workload->name}, {"file", workload->file}, {"batch", workload->batch}};
    result["workload"].update(verdict);
  }
  if (!args.out.empty()) write_output(args.out, result.dump(2) + "\n");
  if (!args.trace.empty()) write_output(args.trace, sim::trace_json(outcome, params, program).dump() + "\n");
  for (const auto& [name, file] : output_files) {
    const std::vector<uint8_t>& bytes = record.outputs[name];
    if (is_npy(file) || tensor_io::is_onnx_pb(file)) {
      for (const auto& t : program.tensors)
        if (t.name == name) {
          if (is_npy(file))
            tensor_io::write_npy(file, {t.dtype, t.shape, bytes});
          else
            tensor_io::write_onnx_pb(file, {t.dtype, t.shape, bytes});
        }
    } else {
      isa::write_file_atomically(file, std::string(bytes.begin(), bytes.end()));
    }
  }
  if (!args.quiet && !args.csv)
    std::cout << sim::summary(record, result) << (workload ? report::verdict_text(*workload, verdict) : "");
  if (args.layers || args.csv) std::cout << sim::layers_text(result["layers"], args.csv);
  if (outcome.fault) {
    if (args.quiet) std::cerr << sim::SimFault::describe(*outcome.fault) << "\n";
    throw CommandExit{3};
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Simulate a program on a chip configuration");
  cmd->add_option("-c,--config", args->config, "Chip configuration (YAML)")->check(CLI::ExistingFile);
  cmd->add_option("-p,--program", args->program, "Program container (.tpb)")->check(CLI::ExistingFile);
  cmd->add_option("-w,--workload", args->workload, "Workload (workloads/*.yaml): compiles its model, cached")
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", args->sets, "Override a configuration value: PATH=VALUE (repeatable)");
  cmd->add_option("--input", args->inputs,
                  "An input tensor from NAME=FILE: .npy or ONNX .pb (int8, or float32 to quantize; .pb images NCHW) or "
                  "raw bytes (repeatable)");
  cmd->add_option("--output", args->outputs,
                  "Write an output tensor to NAME=FILE: .npy, ONNX .pb (images NCHW) or raw bytes (repeatable)");
  cmd->add_option("--out", args->out, "Write the results as JSON");
  cmd->add_option("--trace", args->trace, "Write a Chrome/Perfetto trace (JSON)");
  cmd->add_option("--vcd", args->vcd, "Write a waveform of the units' activity (VCD)");
  cmd->add_flag("--no-values", args->no_values, "Timing only: skip the arithmetic (so no --output)");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  cmd->add_flag("--layers", args->layers, "Print the per-layer breakdown (cycles, MACs, stalls, bytes, energy)");
  cmd->add_flag("--csv", args->csv, "Print the per-layer breakdown as CSV (and nothing else)");
  cmd->callback([args] { run(*args); });
}

}  // namespace tpu::cli
