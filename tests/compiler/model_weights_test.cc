// Weights a model file names (.npy next to it) are used as they are: the float
// graph computes with them, the chip's int8 outputs equal the interpreter's,
// and files of the wrong shape or type are refused with the layer and file.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"
#include "tools/tensor_io/npy.h"

namespace tpu::test {
namespace {

namespace fs = std::filesystem;

class ModelWeights : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("tpusim_weights_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void npy(const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& values,
           isa::DType dtype = isa::DType::kF32) const {
    tensor_io::Array a;
    a.dtype = dtype;
    a.shape = shape;
    if (dtype == isa::DType::kF32) {
      a.bytes.resize(values.size() * 4);
      std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
    } else {
      for (float v : values) a.bytes.push_back(static_cast<uint8_t>(static_cast<int8_t>(v)));
    }
    tensor_io::write_npy(path(name), a);
  }
  std::string model(const std::string& layers) const {
    std::ofstream(path("m.yaml")) << "name: m\ninput: {name: x, shape: [2, 4]}\nlayers:\n" << layers;
    return path("m.yaml");
  }
  std::string error_of(const std::string& file) const {
    try {
      compiler::load_model(file);
    } catch (const compiler::ModelError& e) {
      return e.what();
    }
    return "accepted";
  }
  fs::path dir_;
};

TEST_F(ModelWeights, AreUsedAsGivenAndRunBitExact) {
  std::vector<float> w(12), b = {0.5f, -0.25f, 0.125f};
  for (int i = 0; i < 12; ++i) w[i] = 0.1f * static_cast<float>(i % 5) - 0.2f;
  npy("w.npy", {4, 3}, w);
  npy("b.npy", {3}, b);
  const std::string m = model("  - {name: fc, op: dense, units: 3, weights: w.npy, bias: b.npy}\n");
  const compiler::Graph g = compiler::load_model(m);
  EXPECT_EQ(g.layers[1].weights, w);
  EXPECT_EQ(g.layers[1].bias, b);
  const std::vector<float> x = {1, 2, 3, 4, -1, 0, 0.5f, 2};
  const auto f = compiler::run_float(g, x);
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 3; ++j) {
      double want = b[j];
      for (int k = 0; k < 4; ++k) want += x[n * 4 + k] * w[k * 3 + j];
      EXPECT_NEAR(f.post[1][n * 3 + j], want, 1e-5) << n << "," << j;
    }
  const sim::ChipParams params = load_params("configs/tiny.yaml");
  const compiler::Compiled c = compiler::compile_model(m, params);
  const std::vector<int8_t> q = compiler::quantize_input(c.qgraph, x);
  SimOptions options;
  options.inputs["x"] = std::vector<uint8_t>(q.begin(), q.end());
  const SimRun run = simulate(params, c.lowered.program, options);
  ASSERT_TRUE(run.halted()) << run.fault_reason();
  const auto want = compiler::run_int8(c.qgraph, q).back();
  const auto& got = run.result["outputs"]["fc"]["values"];
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i].get<int>(), want[i]) << i;
}

TEST_F(ModelWeights, WrongFilesAreRefusedWithTheLayerAndFile) {
  npy("w43.npy", {4, 3}, std::vector<float>(12, 0.5f));
  npy("w42.npy", {4, 2}, std::vector<float>(8, 0.5f));
  npy("w8.npy", {4, 3}, std::vector<float>(12, 1), isa::DType::kI8);
  npy("nan.npy", {4, 3}, std::vector<float>(12, std::nanf("")));
  EXPECT_NE(error_of(model("  - {name: fc, op: dense, units: 3, weights: w42.npy}\n"))
                .find("layer 'fc' (line 4): " + path("w42.npy") + ": shape [4, 2], the layer needs [4, 3]"),
            std::string::npos);
  EXPECT_NE(error_of(model("  - {name: fc, op: dense, units: 3, weights: nowhere.npy}\n")).find("cannot open"),
            std::string::npos);
  EXPECT_NE(error_of(model("  - {name: fc, op: dense, units: 3, weights: w8.npy}\n")).find("must be float32, not i8"),
            std::string::npos);
  EXPECT_NE(error_of(model("  - {name: fc, op: dense, units: 3, weights: nan.npy}\n")).find("not a finite number"),
            std::string::npos);
  EXPECT_NE(error_of(model("  - {name: fc, op: dense, units: 3, bias: w43.npy}\n")).find("`bias` needs `weights` too"),
            std::string::npos);
  EXPECT_NE(error_of(model("  - {name: f, op: flatten, weights: w43.npy}\n"))
                .find("apply to dense, conv2d and layernorm only"),
            std::string::npos);
}

// Every time step of an LSTM uses the same gate weights, and step t reads token t.
TEST_F(ModelWeights, LstmStepsShareTheirGates) {
  std::ofstream(path("l.yaml")) << "name: l\ninput: {name: words, shape: [2, 1, 3, 4]}\nlayers:\n"
                                   "  - {name: enc, op: lstm, units: 5, steps: 3}\n";
  const compiler::Graph g = compiler::load_model(path("l.yaml"));
  for (const char* gate : {"i", "f", "g", "o"}) {
    const auto& first = g.layers[static_cast<size_t>(g.find(std::string("enc.t0.") + gate))];
    const auto& last = g.layers[static_cast<size_t>(g.find(std::string("enc.") + gate))];
    EXPECT_EQ(first.weights, last.weights) << gate;
    EXPECT_EQ(first.bias, last.bias) << gate;
    EXPECT_FALSE(first.weights.empty());
  }
  EXPECT_EQ(g.layers[static_cast<size_t>(g.find("enc.x2"))].index, 2);
  EXPECT_EQ(g.layers.back().name, "enc");
  EXPECT_EQ(g.layers.back().shape, (std::vector<int64_t>{2, 5}));
  // The second step's state comes from the first: its concat reads enc.t0 (h) and its fc reads enc.t0.c.
  const auto& xh = g.layers[static_cast<size_t>(g.find("enc.t1.xh"))];
  EXPECT_EQ(xh.inputs[1], g.find("enc.t0"));
  EXPECT_EQ(g.layers[static_cast<size_t>(g.find("enc.t1.fc"))].inputs[1], g.find("enc.t0.c"));
}

// Weights round to int8 halves to even, as the FPU's nearbyint does in its default mode, exactly.
TEST(WeightRounding, HalvesGoToEvenAndEverythingElseToTheNearest) {
  const std::vector<std::pair<double, double>> cases = {{0.5, 0},     {1.5, 2},       {2.5, 2},    {-0.5, -0},
                                                        {-1.5, -2},   {-2.5, -2},     {126.5, 126}, {-126.5, -126},
                                                        {3.4999, 3},  {3.5000001, 4}, {-127, -127}, {0, 0}};
  for (const auto& [x, want] : cases) EXPECT_EQ(compiler::round_half_even(x), want) << x;
  for (double x = -130; x <= 130; x += 0.0625) EXPECT_EQ(compiler::round_half_even(x), std::nearbyint(x)) << x;
  EXPECT_EQ(compiler::round_half_even(1e300), 1e300) << "beyond 2^51: left to nearbyint";
}

}  // namespace
}  // namespace tpu::test
