// Every network in models/ compiled for the TPU v1 configuration at batch 1:
// the chip's outputs equal the int8 reference interpreter's, bit for bit.

#include <gtest/gtest.h>

#include "tests/support/files.h"

#include <algorithm>
#include <filesystem>

#include "tests/compiler/bit_exact.h"
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
  expect_bit_exact(c, params, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Models, ZooModel, testing::ValuesIn(test::zoo_models()), [](const testing::TestParamInfo<std::string>& i) {
  return std::filesystem::path(i.param).stem().string();
});

}  // namespace
}  // namespace tpu::test
