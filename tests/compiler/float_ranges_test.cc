// Calibration's ranges (float_ranges, which drops each layer's outputs after its last reader) are
// the largest magnitudes of run_float's outputs, layer by layer, on networks with residual adds
// (ResNet-50), concatenations and average pools (Inception), attention (BERT: matmuls reading one
// tensor twice, softmax, layer normalization) and recurrent cells (LSTM1).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "tools/compiler/interpreter.h"
#include "tools/compiler/quantize.h"

namespace tpu::test {
namespace {

double largest(const std::vector<float>& v) {
  float m = 0;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

class FloatRanges : public testing::TestWithParam<const char*> {};

TEST_P(FloatRanges, AreTheLargestMagnitudesOfTheFloatRun) {
  const compiler::Graph g = compiler::load_model(std::string(TPUSIM_SOURCE_DIR) + "/models/" + GetParam() + ".yaml", 1);
  const std::vector<float> x = compiler::synthetic_inputs(g, 1)[0];
  const compiler::FloatOutputs all = compiler::run_float(g, x);
  const compiler::FloatRanges ranges = compiler::float_ranges(g, x);
  ASSERT_EQ(ranges.pre.size(), g.layers.size());
  size_t nonzero = 0;
  for (size_t i = 0; i < g.layers.size(); ++i) {
    EXPECT_EQ(ranges.pre[i], largest(all.pre[i])) << g.layers[i].name;
    EXPECT_EQ(ranges.post[i], largest(all.post[i])) << g.layers[i].name;
    nonzero += ranges.post[i] > 0;
  }
  EXPECT_GT(nonzero, g.layers.size() / 2) << "the ranges are of real outputs";
}

INSTANTIATE_TEST_SUITE_P(Models, FloatRanges, testing::Values("resnet50", "inception_v1", "bert_base_encoder", "lstm1"));

}  // namespace
}  // namespace tpu::test
