// A timing-only compile (no weights generated, no calibration, no weight or
// parameter bytes) gives the program of a full compile up to the numbers
// calibration sets: the same instructions with the same addresses and sizes,
// and so the same timing, counter for counter. Checked on every network in
// models/ against the full compile, on TPU v1 and on a smaller, oblong array.

#include <gtest/gtest.h>

#include "tests/support/files.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "isa/encoding.h"
#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"

#include <yaml-cpp/yaml.h>

namespace tpu::test {
namespace {

// The fields whose values come from calibration: a vop's input weights, requantization, zero point and fraction bits.
bool calibrated(std::string_view field) {
  static const std::set<std::string_view> fields = {"ma", "mb", "mult", "shift", "zp", "frac"};
  return fields.count(field) > 0;
}

isa::Instruction decoded(const isa::Word& w) {
  isa::Instruction insn;
  std::string error;
  EXPECT_TRUE(isa::decode(w, &insn, &error)) << error;
  return insn;
}

// Compiles `model` at `batch` both ways for `params` and checks the programs agree but for
// calibrated numbers, and time the same.
void expect_same_program_and_timing(const std::string& model, const sim::ChipParams& params, int64_t batch) {
  compiler::CompileOptions options;
  options.batch = batch;
  const compiler::Compiled full = compiler::compile_model(model, params, options);
  options.timing_only = true;
  const compiler::Compiled timing = compiler::compile_model(model, params, options);
  EXPECT_EQ(full.passes, timing.passes) << "sub-batches";
  const isa::Program& a = full.lowered.program;
  const isa::Program& b = timing.lowered.program;

  EXPECT_FALSE(isa::timing_only(a));
  EXPECT_TRUE(isa::timing_only(b));
  EXPECT_TRUE(b.dram.empty()) << "no weights";
  EXPECT_TRUE(b.host.empty()) << "no tables or parameters";
  EXPECT_FALSE(a.dram.empty());
  ASSERT_EQ(a.text.size(), b.text.size());
  size_t differing = 0;
  for (size_t pc = 0; pc < a.text.size(); ++pc) {
    const isa::Instruction x = decoded(a.text[pc]), y = decoded(b.text[pc]);
    ASSERT_EQ(x.spec, y.spec) << "pc " << pc;
    for (size_t f = 0; f < x.fields().size; ++f) {
      const std::string_view name = x.fields()[f].name;
      if (calibrated(name)) {
        differing += x.values[f] != y.values[f];
        continue;
      }
      EXPECT_EQ(x.values[f], y.values[f]) << "pc " << pc << " " << x.spec->mnemonic << " " << name;
    }
  }
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (size_t t = 0; t < a.tensors.size(); ++t) {
    EXPECT_EQ(a.tensors[t].name, b.tensors[t].name);
    EXPECT_EQ(a.tensors[t].shape, b.tensors[t].shape);
    EXPECT_EQ(a.tensors[t].addr, b.tensors[t].addr);
  }
  // Compile reports agree: weight bytes, tiles and instructions per layer.
  ASSERT_EQ(full.lowered.report.layers.size(), timing.lowered.report.layers.size());
  for (size_t l = 0; l < full.lowered.report.layers.size(); ++l) {
    const auto& x = full.lowered.report.layers[l];
    const auto& y = timing.lowered.report.layers[l];
    EXPECT_EQ(x.macs, y.macs) << x.name;
    EXPECT_EQ(x.weight_bytes, y.weight_bytes) << x.name;
    EXPECT_EQ(x.tiles, y.tiles) << x.name;
  }
  EXPECT_EQ(full.lowered.report.dram_bytes, timing.lowered.report.dram_bytes);

  SimOptions no_values;
  no_values.compute_values = false;
  const SimRun ra = simulate(params, a, no_values), rb = simulate(params, b, no_values);
  ASSERT_TRUE(ra.halted()) << ra.fault_reason();
  EXPECT_EQ(ra.cycles(), rb.cycles());
  EXPECT_EQ(ra.result["counters"], rb.result["counters"]);
  EXPECT_EQ(ra.result["units"], rb.result["units"]);
  EXPECT_EQ(ra.result["energy"]["total_uj"], rb.result["energy"]["total_uj"]);
  testing::Test::RecordProperty("calibrated_fields_differing", static_cast<int>(differing));
}

class TimingOnly : public testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(TimingOnly, HasTheFullCompilesInstructionsAndTiming) {
  const auto& [model, chip] = GetParam();
  const sim::ChipParams params =
      chip == "tpu_v1" ? load_params("configs/tpu_v1.yaml")
                       : load_params("configs/tpu_v1.yaml", {"matrix_unit.rows=128", "matrix_unit.cols=64",
                                                             "accumulators.entries=1024", "weight_fifo.depth_tiles=2",
                                                             "activation_unit.lanes=64"});
  expect_same_program_and_timing(model, params, 1);
}

// The workloads at their own batches (the TPU v1 applications and the studies' networks, some in
// sub-batches), and a SCALE-Sim topology.
class TimingOnlyWorkload : public testing::TestWithParam<std::string> {};

TEST_P(TimingOnlyWorkload, HasTheFullCompilesInstructionsAndTiming) {
  const std::string& file = GetParam();
  const sim::ChipParams params = load_params("configs/tpu_v1.yaml");
  if (std::filesystem::path(file).extension() == ".csv") return expect_same_program_and_timing(file, params, 1);
  const YAML::Node w = YAML::LoadFile(file);
  const std::string model = (std::filesystem::path(file).parent_path() / w["model"].as<std::string>()).string();
  expect_same_program_and_timing(model, params, w["batch"].as<int64_t>());
}

std::vector<std::string> workload_files() {
  std::vector<std::string> files = test::source_files("workloads", ".yaml", "eie");
  files.push_back(std::string(TPUSIM_SOURCE_DIR) + "/models/scalesim_example.csv");
  return files;
}

INSTANTIATE_TEST_SUITE_P(Workloads, TimingOnlyWorkload, testing::ValuesIn(workload_files()),
                         [](const testing::TestParamInfo<std::string>& i) {
                           return std::filesystem::path(i.param).stem().string();
                         });

INSTANTIATE_TEST_SUITE_P(
    Models, TimingOnly, testing::Combine(testing::ValuesIn(test::zoo_models()), testing::Values("tpu_v1", "small_array")),
    [](const testing::TestParamInfo<std::tuple<std::string, std::string>>& i) {
      return std::filesystem::path(std::get<0>(i.param)).stem().string() + "_" + std::get<1>(i.param);
    });

TEST(TimingOnlyProgram, IsRefusedByARunWithValues) {
  const sim::ChipParams params = load_params("configs/tiny.yaml");
  compiler::CompileOptions options;
  options.timing_only = true;
  const compiler::Compiled c =
      compiler::compile_model(std::string(TPUSIM_SOURCE_DIR) + "/models/lenet_300_100.yaml", params, options);
  try {
    simulate(params, c.lowered.program);
    ADD_FAILURE() << "a run with values took a program without weights";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("compiled for timing only"), std::string::npos) << e.what();
  }
}

TEST(TimingOnlyProgram, TakesNoCalibrationData) {
  const sim::ChipParams params = load_params("configs/tiny.yaml");
  compiler::CompileOptions options;
  options.timing_only = true;
  options.calibration.assign(784, 0.5f);
  EXPECT_THROW(compiler::compile_model(std::string(TPUSIM_SOURCE_DIR) + "/models/lenet_300_100.yaml", params, options),
               compiler::ModelError);
}

}  // namespace
}  // namespace tpu::test
