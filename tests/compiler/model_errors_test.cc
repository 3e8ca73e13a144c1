// Mistakes in model files are reported with the file, the layer and its line.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tools/compiler/graph.h"

namespace tpu::compiler {
namespace {

struct BadModel {
  const char* name;
  std::string yaml;
  std::string message;
};

void PrintTo(const BadModel& b, std::ostream* os) { *os << b.name; }

class BadModels : public testing::TestWithParam<BadModel> {};

TEST_P(BadModels, AreRejectedWithTheLayerNamed) {
  const std::string path = testing::TempDir() + GetParam().name + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << GetParam().yaml;
  try {
    load_model(path);
    FAIL() << "accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(GetParam().message), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind(path, 0), 0u) << e.what();
  }
}

const std::string kIn = "input: {name: x, shape: [1, 8, 8, 3]}\nlayers:\n";
const std::string kSeq = "input: {name: x, shape: [1, 1, 6, 8]}\nlayers:\n";

INSTANTIATE_TEST_SUITE_P(
    Models, BadModels,
    testing::Values(
        BadModel{"UnknownOp", kIn + "  - {name: c, op: conv3d}\n",
                 "layer 'c' (line 3): unknown op 'conv3d'; did you mean 'conv2d'?"},
        BadModel{"UnknownActivation", kIn + "  - {name: c, op: conv2d, filters: 4, activation: swish}\n",
                 "unknown activation 'swish'"},
        BadModel{"UnknownAttribute", kIn + "  - {name: c, op: conv2d, filter: 4}\n",
                 "unknown attribute 'filter'; did you mean 'filters'?"},
        BadModel{"UnknownInput", kIn + "  - {name: c, op: conv2d, filters: 4, input: y}\n",
                 "input 'y' is not an earlier layer; did you mean 'x'?"},
        BadModel{"MatMulHeads", kSeq + "  - {name: s, op: matmul, inputs: [x, x], heads: 5, transpose_b: true}\n",
                 "layer 's' (line 3): heads=5 must divide the 8 features of 'x'"},
        BadModel{"MatMulShapes", kSeq + "  - {name: s, op: matmul, inputs: [x, x], heads: 2}\n",
                 "matmul needs a [N, heads, S, T] and b [N, 1, T, F]; got 'x' [1, 1, 6, 8] and 'x' [1, 1, 6, 8]"},
        BadModel{"MatMulVector",
                 "input: {name: x, shape: [2, 4]}\nlayers:\n  - {name: s, op: matmul, inputs: [x, x]}\n",
                 "matmul needs two [N, H, rows, features] inputs"},
        BadModel{"AttributeOfAnotherOp", kSeq + "  - {name: d, op: dense, units: 4, eps: 0.1}\n",
                 "layer 'd' (line 3): `eps` applies to layernorm only, not to dense"},
        BadModel{"LayerNormEps", kSeq + "  - {name: n, op: layernorm, eps: 0}\n", "eps must be a positive number"},
        BadModel{"SoftmaxActivation", kSeq + "  - {name: s, op: softmax, activation: relu}\n",
                 "softmax takes no activation"},
        BadModel{"KernelTooLarge", kIn + "  - {name: c, op: conv2d, filters: 4, kernel: 9}\n",
                 "the kernel is larger than the padded 8x8 input"},
        BadModel{"CeilModeCountingPadding",
                 kIn + "  - {name: p, op: avgpool, kernel: 3, stride: 2, ceil_mode: true, count_pad: true}\n",
                 "layer 'p' (line 3): ceil_mode with count_pad: true does not run on the chip"},
        BadModel{"HugeInput", "input: {name: x, shape: [1, 999999999, 5, 6]}\nlayers:\n  - {op: flatten}\n",
                 "the input would hold more than 2^32 elements"},
        BadModel{"HugeOutput", kIn + "  - {name: c, op: conv2d, filters: 999999999, kernel: 3}\n",
                 "layer 'c' (line 3): its output would hold more than 2^32 elements"},
        BadModel{"HugeWeights",
                 "input: {name: x, shape: [1, 65536]}\nlayers:\n  - {name: d, op: dense, units: 131072}\n",
                 "layer 'd' (line 3): its weights would hold more than 2^32 elements"},
        BadModel{"LstmNameTaken",
                 "input: {name: x, shape: [2, 4]}\nlayers:\n  - {name: l.c, op: dense, units: 3, input: x}\n"
                 "  - {name: l, op: lstm, units: 3, input: x}\n",
                 "layer 'l' (line 4): the lstm's layer 'l.c' would take the name of an earlier layer"},
        BadModel{"TokenOutsideTheSequence", kSeq + "  - {name: t, op: token, index: 6}\n",
                 "layer 't' (line 3): token index 6 is outside the sequence's 6 tokens"},
        BadModel{"StepsOverAVector",
                 "input: {name: x, shape: [2, 4]}\nlayers:\n  - {name: l, op: lstm, units: 3, steps: 2}\n",
                 "layer 'l.x0' (line 3): token needs a sequence [N, 1, T, F] input, not [2, 4]"},
        BadModel{"LstmAttribute",
                 "input: {name: x, shape: [2, 1, 3, 4]}\nlayers:\n  - {name: l, op: lstm, units: 3, step: 3}\n",
                 "layer 'l' (line 3): unknown attribute 'step' of lstm; did you mean 'steps'?"},
        BadModel{"PoolPaddingPastTheWindow", kIn + "  - {name: p, op: avgpool, kernel: 2, stride: 1, padding: 2}\n",
                 "layer 'p' (line 3): pooling padding must be smaller than the window"},
        BadModel{"BadGroups", kIn + "  - {name: c, op: conv2d, filters: 4, groups: 2}\n",
                 "groups=2 must divide the 3 input and 4 output channels"},
        BadModel{"AddShapes",
                 kIn + "  - {name: a, op: conv2d, filters: 4}\n  - {name: b, op: conv2d, filters: 5, input: x}\n"
                       "  - {name: s, op: add, inputs: [a, b]}\n",
                 "add needs inputs of one shape; 'a' and 'b' differ"},
        BadModel{"AddArity", kIn + "  - {name: s, op: add}\n", "add takes 2 inputs"},
        BadModel{"DuplicateName", kIn + "  - {name: x, op: flatten}\n", "layer 'x' (line 3): the name is used twice"},
        BadModel{"ConcatShapes",
                 "input: {name: x, shape: [2, 4]}\nlayers:\n  - {name: a, op: dense, units: 3}\n"
                 "  - {name: f, op: flatten, input: x}\n  - {name: z, op: zeros, units: 2}\n"
                 "  - {name: c, op: concat, inputs: [a, z]}\n  - {name: bad, op: concat, inputs: [c]}\n",
                 "concat takes two or more inputs"},
        BadModel{"NoLayers", "input: {name: x, shape: [1, 4]}\n", "the model has no `layers`"},
        BadModel{"NoInput", "layers: []\n", "the model needs `input:"},
        BadModel{"BadInputShape", "input: {name: x, shape: [1, 2, 3]}\nlayers:\n  - {op: flatten}\n",
                 "input shape must be [N, features] or [N, H, W, C]"},
        BadModel{"YamlSyntax", "input: {name: x, shape: [1, 4]\n", "YAML syntax error"},
        BadModel{"UnknownOutput",
                 "input: {name: x, shape: [1, 4]}\nlayers:\n  - {name: d, op: dense, units: 2}\noutputs: [e]\n",
                 "output 'e' is not a layer"}),
    [](const testing::TestParamInfo<BadModel>& i) { return std::string(i.param.name); });

TEST(Models, AMissingFileIsNamed) {
  try {
    load_model("/nonexistent/model.yaml");
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/model.yaml: cannot open the model");
  }
}

}  // namespace
}  // namespace tpu::compiler
