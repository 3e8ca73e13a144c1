// The checked-in Deep Compression report (reports/deep_compression.md) against
// what can be made again without making the whole report: the float model is
// trained again from its plan (the same seed gives the same bits), and the
// checked-in packed files (reports/deep_compression/NAME.dcz, the compressed
// model; NAME_pruned.dcz, the pruned stage) are read again. The storage tables
// rebuilt from the files must appear in the report as they are; the float,
// pruned and fine-tuned networks classify the test set as the report says, the
// float and compressed ones also on the simulated chip (every image's scores
// equal to the interpreter's); the compression and the accuracy lost meet the
// targets. The quantized stage's figure is the one not made again here.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <regex>

#include "sim/base/config.h"
#include "tests/support/files.h"
#include "tools/compiler/compiler.h"
#include "tools/train/dc_report.h"
#include "tools/train/export.h"
#include "tools/train/trainer.h"

namespace tpu::train {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

std::string pct(double fraction) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f%%", 100 * fraction);
  return b;
}

// The cells of the first markdown table row under `section` that starts "| NAME | FIRST".
std::vector<std::string> row(const std::string& md, const std::string& section, const std::string& name,
                             const std::string& first) {
  const std::string start = "\n| " + name + " | " + first;
  const size_t at = md.find(start, md.find("\n## " + section));
  if (at == std::string::npos) return {};
  const std::string line = md.substr(at + 1, md.find('\n', at + 1) - at - 1);
  std::vector<std::string> cells;
  const std::regex cell(R"(\|\s*([^|]*?)\s*(?=\|))");
  for (auto it = std::sregex_iterator(line.begin(), line.end(), cell); it != std::sregex_iterator(); ++it)
    cells.push_back((*it)[1]);
  return cells;
}


class CheckedInReport : public testing::TestWithParam<DcTarget> {};

TEST_P(CheckedInReport, ItsFiguresFollowFromItsPackedFiles) {
  const DcTarget& t = GetParam();
  const std::string name = t.network;
  const std::string md = test::read_file(kSrc + "/reports/deep_compression.md");
  const std::string file = kSrc + "/reports/deep_compression/" + name + ".dcz";
  const std::string bytes = test::read_file(file);
  const std::vector<PackedLayer> layers = parse_packed(std::vector<uint8_t>(bytes.begin(), bytes.end()), file);

  // Storage: re-encoded, the same bytes; its table, the report's.
  const StorageTable table = storage_table(layers);
  EXPECT_TRUE(std::string(table.huffman_file.begin(), table.huffman_file.end()) == bytes);
  EXPECT_NE(md.find("**" + name + "**\n\n" + storage_table_text(table)), std::string::npos)
      << "reports/deep_compression.md is stale: run `build/tpusim report deep-compression` and commit it";
  const double ratio = double(table.total.dense_bytes) / double(bytes.size());
  EXPECT_GE(ratio, t.ratio);

  // The anchors' comparison: seed 1 trained again on the whole training set, as the anchors trained
  // (LeNet-300-100 only: LeNet-5's 20 epochs cost CI too long).
  if (name == std::string("lenet_300_100")) {
    const compiler::Graph g = compiler::load_model(kSrc + "/models/" + name + ".yaml", 1, false);
    TrainConfig c = load_plan(kSrc + "/configs/compress/" + name + ".yaml", g).train;
    c.seed = 1;
    c.validation_images = 0;
    Network seed1 = Network::from_graph(g, 1);
    Trainer t1(seed1, c);
    const Dataset train = load_fashion_mnist(Split::kTrain), test = load_fashion_mnist(Split::kTest);
    double five = 0;
    for (int64_t e = 0; e < c.epochs; ++e) {
      const EpochLog l = t1.epoch(train, test);
      if (e >= c.epochs - 5) five += l.test_accuracy;
    }
    five /= 5;
    const std::vector<std::string> anchor = row(md, "Training against the anchors", name, "1");
    ASSERT_GE(anchor.size(), 5u) << "no seed 1 row for " << name;
    EXPECT_EQ(anchor[3], pct(t1.log().back().test_accuracy));
    EXPECT_EQ(anchor[4], pct(five));
  }

  // Accuracy: the float model trained again, the pruned and the compressed ones from their files.
  const compiler::Graph g = compiler::load_model(kSrc + "/models/" + name + ".yaml", 1, false);
  const CompressPlan plan = load_plan(kSrc + "/configs/compress/" + name + ".yaml", g);
  const Dataset train = load_fashion_mnist(Split::kTrain), test = load_fashion_mnist(Split::kTest);
  Network trained = Network::from_graph(g, plan.train.seed);
  Trainer trainer(trained, plan.train);
  for (int64_t e = 0; e < plan.train.epochs; ++e) trainer.epoch(train, test);
  Network pruned = Network::from_graph(g, 1), net = Network::from_graph(g, 1);
  const std::string pruned_file = kSrc + "/reports/deep_compression/" + name + "_pruned.dcz";
  const std::string pruned_bytes = test::read_file(pruned_file);
  unpack_network(pruned, parse_packed(std::vector<uint8_t>(pruned_bytes.begin(), pruned_bytes.end()), pruned_file),
                 pruned_file);
  const LayerKeys keys = unpack_network(net, layers, file);
  const std::vector<std::string> stages = row(md, "Accuracy at each stage", name, "test");
  ASSERT_GE(stages.size(), 8u) << "no stage row for " << name;
  const double float_accuracy = accuracy(trained, test), fine_tuned = accuracy(net, test);
  EXPECT_EQ(pct(float_accuracy), stages[2]);
  EXPECT_EQ(pct(accuracy(pruned, test)), stages[3]);
  EXPECT_EQ(pct(fine_tuned), stages[5]);
  EXPECT_LE(100 * (float_accuracy - fine_tuned), t.loss_points + 1e-9);
  // The validation images the choices were made by: held out of training, so the same cells again.
  ASSERT_GT(plan.train.validation_images, 0) << "the plan holds no validation images out";
  const std::vector<std::string> held_out = row(md, "Accuracy at each stage", name, "validation");
  ASSERT_GE(held_out.size(), 8u) << "no validation row for " << name;
  EXPECT_EQ(pct(validation_accuracy(trained, plan.train, train)), held_out[2]);
  EXPECT_EQ(pct(validation_accuracy(pruned, plan.train, train)), held_out[3]);
  EXPECT_EQ(pct(validation_accuracy(net, plan.train, train)), held_out[5]);
  EXPECT_LE(100 * (validation_accuracy(trained, plan.train, train) - validation_accuracy(net, plan.train, train)),
            t.loss_points + 1e-9)
      << "the accuracy target missed on the validation images";

  // On the chip, compiled as the report compiles them, the whole test set, every image as the interpreter.
  const std::string dir = testing::TempDir() + "dc_checked_" + std::to_string(getpid()) + name;
  const DcReportOptions o;
  auto on_chip = [&](Network& n, const LayerKeys& k, const std::string& chip_file, const std::string& which) {
    const std::string model = write_trained_model(kSrc + "/models/" + name + ".yaml", n, "for a test", dir + "/" + which, k);
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(kSrc + "/" + chip_file));
    compiler::CompileOptions c;
    c.batch = o.chip_batch;
    c.calibration = first_images(n, train, 256).v;
    const compiler::Compiled compiled = compiler::compile_model(model, chip, c);
    const ChipAccuracy a = chip_accuracy(compiled.lowered.program, chip, test);
    EXPECT_EQ(a.outputs, interpreter_outputs(compiled.qgraph, test, 0)) << which;
    const std::vector<std::string> cells = row(md, "On the chip", name, which);
    ASSERT_GE(cells.size(), 6u) << which;
    EXPECT_EQ(cells[3], pct(a.accuracy())) << which;
    EXPECT_EQ(cells[5], "10000 of 10000") << which;
  };
  on_chip(trained, {}, o.dense_chip, "dense");
  on_chip(net, keys, o.sparse_chip, "compressed");
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Networks, CheckedInReport, testing::ValuesIn(kDcTargets),
                         [](const testing::TestParamInfo<DcTarget>& i) { return std::string(i.param.network); });

}  // namespace
}  // namespace tpu::train
