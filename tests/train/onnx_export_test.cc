// A trained network exported as ONNX passes the ONNX checker and, read back by
// the project's own importer, computes what the trainer's network computes:
// the float interpreter's logits equal the network's within float rounding,
// and quantized alike, the int8 interpreter gives the same bytes as the model
// written for the compiler in YAML.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"
#include "tools/compiler/onnx_import.h"
#include "tools/train/export.h"
#include "tools/train/onnx_export.h"
#include "tools/train/trainer.h"

namespace tpu::train {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

class OnnxExport : public testing::TestWithParam<std::string> {};

TEST_P(OnnxExport, TheImporterReadsBackTheSameNetwork) {
  const std::string model = kSrc + "/models/" + GetParam() + ".yaml";
  const compiler::Graph g = compiler::load_model(model, 1, false);
  Network net = Network::from_graph(g, 7);
  const Dataset train = load_fashion_mnist(Split::kTrain), test = load_fashion_mnist(Split::kTest);
  TrainConfig c;
  c.train_images = 2000;
  c.test_images = 100;
  Trainer(net, c).epoch(train, test);
  const std::string dir = testing::TempDir() + "onnx_export_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  write_onnx(net, g, dir + "/model.onnx");
  const compiler::Graph imported = compiler::load_onnx(dir + "/model.onnx", 8);  // the checker runs here too

  const Tensor x = first_images(net, test, 8);
  const Tensor want = net.forward(x);
  const std::vector<float> got = compiler::run_float(imported, x.v).post.back();
  ASSERT_EQ(got.size(), want.v.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want.v[i], 1e-4 + 1e-4 * std::fabs(want.v[i])) << i;

  // The same network through YAML: quantized on the same calibration, the same int8 outputs.
  const std::string yaml = write_trained_model(model, net, "for a test", dir);
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(kSrc + "/configs/tpu_v1.yaml"));
  compiler::CompileOptions o;
  o.batch = 8;
  o.calibration = first_images(net, train, 64).v;
  const compiler::Compiled from_yaml = compiler::compile_model(yaml, chip, o);
  const compiler::Compiled from_onnx = compiler::compile_model(dir + "/model.onnx", chip, o);
  const std::vector<int8_t> a = compiler::run_int8(from_yaml.qgraph, compiler::quantize_input(from_yaml.qgraph, x.v)).back();
  const std::vector<int8_t> b = compiler::run_int8(from_onnx.qgraph, compiler::quantize_input(from_onnx.qgraph, x.v)).back();
  EXPECT_EQ(a, b);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Trained, OnnxExport, testing::Values("lenet_300_100", "lenet5"));

}  // namespace
}  // namespace tpu::train
