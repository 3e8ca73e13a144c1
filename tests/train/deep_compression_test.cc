// Deep Compression's training stages on a short seeded LeNet-300-100 run:
// each layer ends with exactly its planned share of weights and at most
// 2^bits - 1 shared values, and keeps its accuracy through the stages; the
// plan's mistakes are named by file, line and key.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <numeric>
#include <filesystem>
#include <fstream>
#include <set>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"
#include "tools/train/deep_compression.h"
#include "tools/train/storage_table.h"
#include "tools/train/export.h"

namespace tpu::train {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

TEST(DeepCompression, RoundsPruneGeometricallyToTheTarget) {
  EXPECT_DOUBLE_EQ(round_density(0.08, 3, 3), 0.08);
  EXPECT_NEAR(round_density(0.08, 1, 3), std::cbrt(0.08), 1e-12);
  EXPECT_NEAR(round_density(0.08, 2, 3) / round_density(0.08, 1, 3), round_density(0.08, 1, 3), 1e-12);
}

// The compressed network written for the compiler puts its layers on the sparse engine with exactly
// their non-zeros and shared values (the codebook's int16 steps within half a step of them), and the
// int8 interpreter classifies within 2 points of the float compressed network.
void expect_deploys_with_its_values(Network& net, const CompressPlan& plan) {
  LayerKeys keys;
  for (const Network::Trained& t : net.trained()) keys[t.layer] = sparse_engine_keys(*t.weights, plan.bits.at(t.layer));
  const std::string dir = testing::TempDir() + "compressed_" + std::to_string(getpid());
  const std::string model = write_trained_model(kSrc + "/models/lenet_300_100.yaml", net, "compressed for a test", dir, keys);
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(kSrc + "/configs/eie.yaml"));
  compiler::CompileOptions o;
  const Dataset train = load_fashion_mnist(Split::kTrain), test = load_fashion_mnist(Split::kTest);
  o.calibration = first_images(net, train, 64).v;
  const compiler::Compiled c = compiler::compile_model(model, chip, o);
  for (size_t li = 0, t = 0; li < c.graph->layers.size(); ++li) {
    if (c.graph->layers[li].op != compiler::Op::kDense) continue;
    const Network::Trained& trained = net.trained()[t++];
    ASSERT_TRUE(c.lowered.report.layers[li].sparse) << trained.layer;
    const compiler::QLayer& q = c.qgraph.layers[li];
    const std::vector<float>& w = trained.weights->value;
    double step = 0;  // the codebook's scale: its largest value over the largest trained one
    for (size_t i = 0; i < w.size(); ++i)
      if (q.codebook_indices[i] != 0) step = std::max(step, std::fabs(double(w[i])) / 32767.0);
    for (size_t i = 0; i < w.size(); ++i) {
      ASSERT_EQ(q.codebook_indices[i] != 0, w[i] != 0) << trained.layer << " weight " << i;
      ASSERT_NEAR(q.codebook[q.codebook_indices[i]] * step, w[i], step) << trained.layer << " weight " << i;
    }
  }
  int64_t right = 0;
  const int64_t n = 500;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int64_t> one = {i};
    const std::vector<int8_t> out =
        compiler::run_int8(c.qgraph, compiler::quantize_input(c.qgraph, batch_of(net, test, one, 0, 1).v)).back();
    right += std::max_element(out.begin(), out.end()) - out.begin() == test.labels[static_cast<size_t>(i)];
  }
  EXPECT_NEAR(double(right) / double(n), accuracy(net, test, n), 0.02);
  std::filesystem::remove_all(dir);
}

TEST(DeepCompression, PrunesSharesAndKeepsItsAccuracy) {
  const compiler::Graph g = compiler::load_model(kSrc + "/models/lenet_300_100.yaml", 1, false);
  const std::string path = testing::TempDir() + "plan_" + std::to_string(getpid()) + ".yaml";
  std::ofstream(path) << "train: {epochs: 1, lr: 0.05, train_images: 3000, test_images: 1000}\n"
                         "prune: {rounds: 2, retrain_epochs: 1, density: {fc1: 0.1, fc2: 0.1, fc3: 0.3}}\n"
                         "quantize: {bits: {fc: 4}, finetune_epochs: 1, finetune_lr: 0.001}\n";
  const CompressPlan plan = load_plan(path, g);
  EXPECT_EQ(plan.bits, (std::map<std::string, int>{{"fc1", 4}, {"fc2", 4}, {"fc3", 4}}));
  Network net = Network::from_graph(g, plan.train.seed);
  const CompressionResult result =
      deep_compress(net, plan, load_fashion_mnist(Split::kTrain), load_fashion_mnist(Split::kTest));
  const std::vector<StageResult>& stages = result.stages;
  ASSERT_EQ(stages.size(), 4u);
  const char* names[] = {"float", "pruned", "quantized", "fine-tuned"};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(stages[i].stage, names[i]);
  // Each stage's snapshot is what the network had then: pruned zeros stay, quantized values stay.
  for (size_t l = 0; l < net.trained().size(); ++l) {
    EXPECT_EQ(stages[3].weights[l], net.trained()[l].weights->value);
    EXPECT_NE(stages[2].weights[l], stages[3].weights[l]);
    for (size_t i = 0; i < stages[1].weights[l].size(); ++i) {
      if (stages[1].weights[l][i] == 0) {
        ASSERT_EQ(stages[3].weights[l][i], 0.0f) << l << " " << i;
      }
    }
  }
  EXPECT_GT(stages[0].test_accuracy, 0.65);
  for (const StageResult& s : stages) EXPECT_GT(s.test_accuracy, 0.55) << s.stage;
  EXPECT_GE(stages[3].test_accuracy, stages[2].test_accuracy - 0.03);
  expect_deploys_with_its_values(net, plan);
  // Stored and read back, both codings give the network's weights bit for bit and its engine keys.
  const StorageTable table = storage_table(pack_network(net, plan));
  EXPECT_EQ(table.total.dense_bytes, 4u * (784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10));
  uint64_t records = packed_header_bytes();
  for (const StorageRow& row : table.rows) records += row.huffman_bytes;
  EXPECT_EQ(records, table.huffman_file.size());
  EXPECT_LT(table.huffman_file.size(), table.fixed_file.size());
  for (const std::vector<uint8_t>* file : {&table.fixed_file, &table.huffman_file}) {
    Network back = Network::from_graph(g, 99);
    const LayerKeys keys = unpack_network(back, parse_packed(*file, "c.dcz"), "c.dcz");
    for (size_t l = 0; l < net.trained().size(); ++l) {
      EXPECT_EQ(back.trained()[l].weights->value, net.trained()[l].weights->value) << l;
      EXPECT_EQ(back.trained()[l].bias->value, net.trained()[l].bias->value) << l;
      EXPECT_EQ(keys.at(net.trained()[l].layer).at("engine"), "sparse");
    }
  }
  // A file for another model, or with a layer of another shape, is refused before anything changes.
  Network lenet5 = Network::from_graph(compiler::load_model(kSrc + "/models/lenet5.yaml", 1, false), 1);
  EXPECT_THROW(unpack_network(lenet5, parse_packed(table.huffman_file, "c.dcz"), "c.dcz"), compiler::ModelError);
  std::vector<PackedLayer> wrong = parse_packed(table.huffman_file, "c.dcz");
  wrong[2].outputs = 11;
  Network untouched = Network::from_graph(g, 99);
  const std::vector<float> before = untouched.trained()[0].weights->value;
  try {
    unpack_network(untouched, wrong, "c.dcz");
    ADD_FAILURE() << "no error";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("c.dcz: layer fc3 is 100 x 11, the model's 100 x 10"), std::string::npos) << e.what();
  }
  EXPECT_EQ(untouched.trained()[0].weights->value, before);
  for (const Network::Trained& t : net.trained()) {
    const double d = plan.density.at(t.layer);
    size_t nonzero = 0;
    std::set<float> values;
    for (float v : t.weights->value) {
      nonzero += v != 0;
      if (v != 0) values.insert(v);
    }
    EXPECT_EQ(nonzero, static_cast<size_t>(std::llround(d * double(t.weights->value.size())))) << t.layer;
    EXPECT_LE(values.size(), 15u) << t.layer;
    EXPECT_GE(values.size(), 8u) << t.layer;
  }
}

TEST(DeepCompression, PlanMistakesNameTheirLineAndKey) {
  const compiler::Graph g = compiler::load_model(kSrc + "/models/lenet_300_100.yaml", 1, false);
  const std::string path = testing::TempDir() + "bad_plan_" + std::to_string(getpid()) + ".yaml";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"prune: {density: {fc9: 0.1}}\n", ":1: prune.density: 'fc9' is not a dense or conv2d layer of"},
      {"prune:\n  density:\n    fc1: 2\n", ":3: prune.density.fc1 must lie in"},
      {"quantize: {bits: {fc1: 4.5}}\n", ":1: quantize.bits.fc1 should be a whole number"},
      {"prune: {round: 3}\n", ":1: unknown key 'prune.round'"},
      {"train: {epoch: 3}\n", ":1: unknown key 'train.epoch'"},
      {"squeeze: {}\n", ":1: unknown key 'squeeze'"},
      {"prune: 3\n", ":1: prune should be a mapping of keys"},
      {"quantize: [1]\n", ":1: quantize should be a mapping of keys"},
      {"quantize: {init: [linear]}\n", ":1: quantize.init should be a word"},
      {"quantize: {init: kmeans++}\n", ":1: quantize.init 'kmeans++' is not linear, density or random"},
      {"quantize: {bits: {fc: 9}}\n", ":1: quantize.bits.fc must lie in"},
      {"storage: {index_bits: {conv: 0}}\n", ":1: storage.index_bits.conv must lie in"},
      {"storage: {width: 3}\n", ":1: unknown key 'storage.width'"},
      {"sensitivity: {densities: []}\n", ":1: sensitivity.densities is a list of densities"},
      {"sensitivity: {densities: [0.5, 1.5]}\n", ":1: sensitivity.densities must lie in"},
      {"sensitivity: {budget: -1}\n", ":1: sensitivity.budget must lie in"},
  };
  for (const auto& [text, message] : bad) {
    std::ofstream(path) << text;
    try {
      load_plan(path, g);
      ADD_FAILURE() << text;
    } catch (const compiler::ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(path + message), std::string::npos) << e.what();
    }
  }
  std::ofstream(path) << "train: none\n";
  EXPECT_FALSE(load_plan(path, g).train_first);
  // Kinds give every layer of theirs a value, a layer's own entry wins; index bits default to the paper's.
  std::ofstream(path) << "quantize: {bits: {fc: 5, fc3: 6}}\nstorage: {index_bits: {fc2: 3}}\n";
  const CompressPlan p = load_plan(path, g);
  EXPECT_EQ(p.bits, (std::map<std::string, int>{{"fc1", 5}, {"fc2", 5}, {"fc3", 6}}));
  EXPECT_EQ(p.index_bits, (std::map<std::string, int>{{"fc1", 5}, {"fc2", 3}, {"fc3", 5}}));
  const compiler::Graph lenet5 = compiler::load_model(kSrc + "/models/lenet5.yaml", 1, false);
  std::ofstream(path) << "prune: {density: {conv: 0.5, fc: 0.1}}\n";
  const CompressPlan q = load_plan(path, lenet5);
  EXPECT_EQ(q.density.at("conv2"), 0.5);
  EXPECT_EQ(q.density.at("fc2"), 0.1);
  EXPECT_EQ(q.index_bits.at("conv1"), 8);
  EXPECT_EQ(q.index_bits.at("fc1"), 5);
}

// Choices are measured on the validation images a config holds out (the training file's last), else on
// the test images; a limit takes the first of either.
TEST(DeepCompression, ChoicesAreMeasuredOnTheHeldOutImages) {
  const Dataset train = load_fashion_mnist(Split::kTrain), test = load_fashion_mnist(Split::kTest);
  TrainConfig c;
  ImageRange i = choice_images(c, train, test);
  EXPECT_EQ(i.data, &test);
  EXPECT_EQ(i.from, 0);
  EXPECT_EQ(i.count, test.count);
  EXPECT_STREQ(i.name, "test");
  c.validation_images = 5000;
  i = choice_images(c, train, test, 300);
  EXPECT_EQ(i.data, &train);
  EXPECT_EQ(i.from, train.count - 5000);
  EXPECT_EQ(i.count, 300);
  EXPECT_STREQ(i.name, "validation");
  EXPECT_EQ(training_images(c, train), train.count - 5000);
  // Their accuracy is that of the same images copied out (a trained network, so classes differ).
  Network net = Network::from_graph(compiler::load_model(kSrc + "/models/lenet_300_100.yaml", 1, false), 3);
  TrainConfig brief;
  brief.train_images = 3000;
  brief.test_images = 100;
  Trainer(net, brief).epoch(train, test);
  std::vector<int64_t> tail(300);
  std::iota(tail.begin(), tail.end(), train.count - 5000);
  EXPECT_EQ(accuracy(net, i), accuracy(net, subset(train, tail)));
  EXPECT_GT(accuracy(net, i), 0.5) << "chance is 0.10";
  EXPECT_THROW(accuracy(net, ImageRange{&train, train.count - 10, 11, ""}), std::out_of_range);
  c.validation_images = train.count;
  EXPECT_THROW(choice_images(c, train, test), compiler::ModelError);
}

TEST(DeepCompression, SensitivityPrunesOneLayerAtATimeAndProposesWithinTheBudget) {
  const compiler::Graph g = compiler::load_model(kSrc + "/models/lenet_300_100.yaml", 1, false);
  Network net = Network::from_graph(g, 3);
  const Dataset train = load_fashion_mnist(Split::kTrain), test = load_fashion_mnist(Split::kTest);
  TrainConfig c;
  c.train_images = 3000;
  c.test_images = 500;
  Trainer(net, c).epoch(train, test);
  std::vector<std::vector<float>> before;
  for (const Network::Trained& t : net.trained()) before.push_back(t.weights->value);
  const double baseline = accuracy(net, test, 500);
  const std::vector<SensitivityPoint> points = sensitivity(net, {0.01, 1.0}, choice_images(c, train, test, 500));
  ASSERT_EQ(points.size(), 6u);
  for (size_t l = 0; l < before.size(); ++l) EXPECT_EQ(net.trained()[l].weights->value, before[l]);  // restored
  for (const SensitivityPoint& p : points) {
    if (p.density == 1.0) {
      EXPECT_EQ(p.accuracy, baseline) << p.layer;
    }
  }
  // Keeping 1% of fc1's weights alone costs accuracy (independently: prune it here and measure).
  net.trained()[0].weights->value = compiler::prune(before[0], 0.01);
  EXPECT_EQ(points[0].accuracy, accuracy(net, test, 500));
  EXPECT_LT(points[0].accuracy, baseline - 0.05);
  const std::vector<SensitivityPoint> synthetic = {
      {"a", 0.1, 0.80}, {"a", 0.2, 0.884}, {"a", 0.5, 0.89}, {"b", 0.1, 0.70}, {"b", 0.5, 0.70}};
  EXPECT_EQ(propose_densities(synthetic, 0.888, 0.5), (std::map<std::string, double>{{"a", 0.2}, {"b", 1.0}}));
}

}  // namespace
}  // namespace tpu::train
