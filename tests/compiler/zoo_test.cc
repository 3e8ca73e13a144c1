// Every network in models/ compiled for the TPU v1 configuration at batch 1:
// the chip's outputs equal the int8 reference interpreter's, bit for bit.

#include <gtest/gtest.h>

#include "tests/support/files.h"

#include <algorithm>
#include <filesystem>

#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"

namespace tpu::test {
namespace {

class ZooModel : public testing::TestWithParam<std::string> {};

TEST_P(ZooModel, IsBitExactOnTpuV1AtBatchOne) {
  const sim::ChipParams params = load_params("configs/tpu_v1.yaml");
  compiler::CompileOptions options;
  options.batch = 1;
  const compiler::Compiled c = compiler::compile_model(GetParam(), params, options);
  const std::vector<float> input = compiler::synthetic_inputs(*c.graph, 2, 1)[1];
  const std::vector<int8_t> q_input = compiler::quantize_input(c.qgraph, input);
  const auto expected = compiler::run_int8(c.qgraph, q_input);
  SimOptions sim_options;
  sim_options.inputs[c.graph->layers[0].name] = std::vector<uint8_t>(q_input.begin(), q_input.end());
  const SimRun run = simulate(params, c.lowered.program, sim_options);
  ASSERT_TRUE(run.halted()) << run.fault_reason() << " at pc " << run.fault_pc();
  for (int o : c.graph->outputs) {
    const auto& layer = c.graph->layers[static_cast<size_t>(o)];
    const auto& values = run.result["outputs"][layer.name]["values"];
    const auto& want = expected[static_cast<size_t>(o)];
    ASSERT_EQ(values.size(), want.size());
    size_t differ = 0;
    for (size_t i = 0; i < want.size(); ++i) differ += values[i].get<int>() != want[i];
    EXPECT_EQ(differ, 0u) << layer.name << ": " << differ << " of " << want.size() << " values differ";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ZooModel, testing::ValuesIn(test::source_files("models", ".yaml")), [](const testing::TestParamInfo<std::string>& i) {
  return std::filesystem::path(i.param).stem().string();
});

}  // namespace
}  // namespace tpu::test
