// The trainer on Fashion-MNIST, short and seeded: LeNet-300-100 and LeNet-5
// learn (the loss falls, the test accuracy is far above chance), the same seed
// gives the same weights byte for byte, and the training file's mistakes are
// named by file, line and key.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "tools/compiler/compiler.h"
#include "tools/compiler/compress.h"
#include "tools/compiler/interpreter.h"
#include "tools/train/chip_accuracy.h"
#include "tools/train/export.h"
#include "tools/train/trainer.h"
#include "sim/base/config.h"
#include "sim/base/params.h"

namespace tpu::train {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

const Dataset& train_set() {
  static const Dataset d = load_fashion_mnist(Split::kTrain);
  return d;
}
const Dataset& test_set() {
  static const Dataset d = load_fashion_mnist(Split::kTest);
  return d;
}

std::vector<EpochLog> run(const std::string& model, TrainConfig c, std::vector<std::vector<float>>* weights = nullptr) {
  Network net = Network::from_graph(compiler::load_model(kSrc + "/models/" + model, 1, false), c.seed);
  Trainer t(net, c);
  for (int64_t e = 0; e < c.epochs; ++e) t.epoch(train_set(), test_set());
  if (weights)
    for (Param* p : net.params()) weights->push_back(p->value);
  return t.log();
}

// A short run: a larger step than the 20-epoch recipe's 0.01, to get somewhere in a few batches.
TrainConfig short_run(int64_t epochs, int64_t train_images, int64_t test_images) {
  TrainConfig c;
  c.lr = 0.05;
  c.epochs = epochs;
  c.train_images = train_images;
  c.test_images = test_images;
  return c;
}

TEST(Trainer, LeNet300100LearnsAndIsDeterministic) {
  TrainConfig c = short_run(2, 3000, 1000);
  std::vector<std::vector<float>> a, b;
  const std::vector<EpochLog> log = run("lenet_300_100.yaml", c, &a);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_LT(log[1].loss, log[0].loss);
  EXPECT_GT(log[1].test_accuracy, 0.70) << "chance is 0.10";
  EXPECT_LT(log[0].loss, std::log(10.0)) << "below a uniform guess's loss";
  run("lenet_300_100.yaml", c, &b);
  EXPECT_TRUE(a == b) << "the same seed gave other weights";
  c.seed = 2;
  std::vector<std::vector<float>> other;
  run("lenet_300_100.yaml", c, &other);
  EXPECT_FALSE(a == other);
}

// The images [from, from + n) of a data set, copied.
Dataset slice(const Dataset& d, int64_t from, int64_t n) {
  std::vector<int64_t> indices(static_cast<size_t>(n));
  std::iota(indices.begin(), indices.end(), from);
  return subset(d, indices);
}

// Validation images held out of a 2,000-image training file: training is exactly training on its first
// 1,600 alone (the held-out 400 never reach a gradient), and their accuracy is logged each epoch.
TEST(Trainer, HeldOutValidationImagesAreNeverTrainedOn) {
  const Dataset file = slice(train_set(), 0, 2000), first = slice(train_set(), 0, 1600);
  const Dataset tail = slice(train_set(), 1600, 400);
  const compiler::Graph g = compiler::load_model(kSrc + "/models/lenet_300_100.yaml", 1, false);
  TrainConfig held = short_run(2, 0, 300), alone = held;
  held.validation_images = 400;
  Network a = Network::from_graph(g, held.seed), b = Network::from_graph(g, held.seed);
  Trainer ta(a, held), tb(b, alone);
  for (int e = 0; e < 2; ++e) {
    const EpochLog la = ta.epoch(file, test_set()), lb = tb.epoch(first, test_set());
    EXPECT_EQ(la.loss, lb.loss);
    EXPECT_EQ(la.test_accuracy, lb.test_accuracy);
    EXPECT_EQ(la.validation_accuracy, accuracy(a, tail));
    EXPECT_EQ(lb.validation_accuracy, -1) << "none held out";
  }
  for (size_t i = 0; i < a.params().size(); ++i) EXPECT_TRUE(a.params()[i]->value == b.params()[i]->value) << i;
  EXPECT_GT(accuracy(a, tail), 0.5) << "chance is 0.10";
  // Holding out every image leaves nothing to train on: refused, naming the key.
  held.validation_images = 2000;
  Network c = Network::from_graph(g, held.seed);
  Trainer tc(c, held);
  try {
    tc.epoch(file, test_set());
    ADD_FAILURE() << "trained on no images";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("validation_images 2000"), std::string::npos) << e.what();
  }
}

// A network's classes change at its last layer only: the outputs kept score as before, bit for bit;
// an output added draws its weights and bias from the seed within +-1/sqrt(K), as a new layer's.
TEST(Trainer, ClassesAreAddedAndDroppedAtTheLastLayer) {
  const compiler::Graph g = compiler::load_model(kSrc + "/models/lenet_300_100.yaml", 1, false);
  Network net = Network::from_graph(g, 4);
  const Tensor x = first_images(net, test_set(), 8);
  const Tensor before = net.forward(x);
  ASSERT_EQ(net.classes(), 10);
  net.set_classes(5, 11);
  EXPECT_EQ(net.classes(), 5);
  const Tensor five = net.forward(x);
  ASSERT_EQ(five.shape, (std::vector<int64_t>{8, 5}));
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t c = 0; c < 5; ++c) EXPECT_EQ(five.v[static_cast<size_t>(i * 5 + c)], before.v[static_cast<size_t>(i * 10 + c)]);
  Network again = Network::from_graph(g, 4);
  again.set_classes(5, 11);
  net.set_classes(6, 21);
  again.set_classes(6, 21);
  const Param& w = *net.trained().back().weights;
  ASSERT_EQ(w.shape, (std::vector<int64_t>{100, 6}));
  EXPECT_EQ(w.value, again.trained().back().weights->value) << "the same seed draws the same output";
  for (int64_t k = 0; k < 100; ++k) EXPECT_LE(std::abs(w.value[static_cast<size_t>(k * 6 + 5)]), 0.1f);
  const Tensor six = net.forward(x);
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t c = 0; c < 5; ++c) EXPECT_EQ(six.v[static_cast<size_t>(i * 6 + c)], five.v[static_cast<size_t>(i * 5 + c)]);
  Network other = Network::from_graph(g, 4);
  other.set_classes(5, 11);
  other.set_classes(6, 22);
  EXPECT_NE(other.trained().back().weights->value, w.value) << "another seed draws another output";
  // It trains with the new class's label; a label past the classes is refused.
  TrainConfig c = short_run(1, 500, 100);
  std::vector<int64_t> order(64);
  std::iota(order.begin(), order.end(), 0);
  Dataset six_classes = slice(train_set(), 0, 64);
  for (uint8_t& l : six_classes.labels) l = l % 6;
  Trainer t(net, c);
  EXPECT_GT(t.step(six_classes, order, 0, 64, 0.01).loss, 0);
  for (uint8_t& l : six_classes.labels) l = 6;
  EXPECT_ANY_THROW(t.step(six_classes, order, 0, 64, 0.01));
  // A pruned last layer keeps its zeros held through a change of classes; the added output trains free.
  Param& pruned = *net.trained().back().weights;
  pruned.mask.assign(pruned.value.size(), 1);
  for (size_t i = 0; i < pruned.value.size(); i += 2) pruned.value[i] = 0, pruned.mask[i] = 0;
  net.set_classes(7, 31);
  const Param& grown = *net.trained().back().weights;
  ASSERT_EQ(grown.mask.size(), grown.value.size());
  for (int64_t k = 0; k < 100; ++k)
    for (int64_t n = 0; n < 7; ++n) {
      const auto i = static_cast<size_t>(k * 7 + n);
      EXPECT_EQ(grown.mask[i], n == 6 || (k * 6 + n) % 2 == 1) << k << "," << n;
      if (n < 6 && !grown.mask[i]) {
        EXPECT_EQ(grown.value[i], 0.0f);
      }
    }
  for (uint8_t& l : six_classes.labels) l = 6;
  Trainer again_t(net, c);
  again_t.step(six_classes, order, 0, 64, 0.01);
  for (size_t i = 0; i < grown.value.size(); ++i)
    if (!grown.mask[i]) {
      EXPECT_EQ(grown.value[i], 0.0f) << "a pruned weight stays zero";
    }
}

// A step's multiply-accumulates, from the layers' shapes: each trained layer's product, its weights'
// gradient, and its input's but for the first trained layer's.
TEST(Trainer, CountsTheMultiplyAccumulatesOfEachStep) {
  std::vector<int64_t> order(64);
  std::iota(order.begin(), order.end(), 0);
  TrainConfig c = short_run(1, 500, 100);
  const uint64_t b = 64;
  for (const auto& [model, per_image] : std::vector<std::pair<std::string, uint64_t>>{
           {"lenet_300_100.yaml", 2 * 784 * 300 + 3 * (300 * 100 + 100 * 10)},
           {"lenet5.yaml", 2 * (28 * 28 * 25 * 1 * 6) + 3 * (10 * 10 * 25 * 6 * 16 + 400 * 120 + 120 * 84 + 84 * 10)}}) {
    Network net = Network::from_graph(compiler::load_model(kSrc + "/models/" + model, 1, false), 1);
    Trainer t(net, c);
    t.step(train_set(), order, 0, 64, 0.01);
    EXPECT_EQ(t.macs(), b * per_image) << model;
    t.step(train_set(), order, 0, 32, 0.01);
    EXPECT_EQ(t.macs(), (b + 32) * per_image) << model;
  }
}

// The trained model as the compiler reads it: compiled to int8 (calibrated on training images), the
// reference interpreter classifies the test images within 2 points of the float network.
TEST(Trainer, TheTrainedModelDeploysThroughTheCompiler) {
  TrainConfig c = short_run(1, 3000, 0);
  const std::string model = kSrc + "/models/lenet_300_100.yaml";
  Network net = Network::from_graph(compiler::load_model(model, 1, false), c.seed);
  Trainer(net, c).epoch(train_set(), test_set());
  const std::string dir = testing::TempDir() + "trained_" + std::to_string(getpid());
  const std::string path = write_trained_model(model, net, "trained for a test", dir);
  compiler::CompileOptions o;
  o.calibration = first_images(net, train_set(), 64).v;
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(kSrc + "/configs/tpu_v1.yaml"));
  const compiler::Compiled compiled = compiler::compile_model(path, chip, o);
  const int64_t n = 500;
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int64_t> one = {i};
    const Tensor x = batch_of(net, test_set(), one, 0, 1);
    const std::vector<int8_t> out = compiler::run_int8(compiled.qgraph, compiler::quantize_input(compiled.qgraph, x.v)).back();
    right += std::max_element(out.begin(), out.end()) - out.begin() == test_set().labels[static_cast<size_t>(i)];
  }
  const double float_accuracy = accuracy(net, test_set(), n), int8_accuracy = double(right) / double(n);
  EXPECT_GT(float_accuracy, 0.65);
  EXPECT_NEAR(int8_accuracy, float_accuracy, 0.02);
  std::filesystem::remove_all(dir);
}

// On the chip: the trained model compiled at batch 40 classifies 100 test images (three runs, the
// last a short batch) exactly as the int8 interpreter does, image by image.
TEST(Trainer, TheChipClassifiesAsTheInterpreterDoes) {
  TrainConfig c = short_run(1, 3000, 100);
  const std::string model = kSrc + "/models/lenet_300_100.yaml";
  Network net = Network::from_graph(compiler::load_model(model, 1, false), c.seed);
  Trainer(net, c).epoch(train_set(), test_set());
  const std::string dir = testing::TempDir() + "on_chip_" + std::to_string(getpid());
  const std::string path = write_trained_model(model, net, "trained for a test", dir);
  compiler::CompileOptions o;
  o.batch = 40;
  o.calibration = first_images(net, train_set(), 64).v;
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(kSrc + "/configs/tpu_v1.yaml"));
  const compiler::Compiled compiled = compiler::compile_model(path, chip, o);
  const ChipAccuracy a = chip_accuracy(compiled.lowered.program, chip, test_set(), 100);
  EXPECT_EQ(a.runs, 3);
  ASSERT_EQ(a.predictions.size(), 100u);
  int64_t correct = 0;
  for (int64_t i = 0; i < 100; ++i) {
    std::vector<float> x(784);
    for (size_t j = 0; j < 784; ++j) x[j] = float(test_set().pixels[static_cast<size_t>(i) * 784 + j]) / 255.0f;
    std::vector<float> batch;  // the interpreter runs the compiled batch of 40: this image in every row
    for (int64_t b = 0; b < 40; ++b) batch.insert(batch.end(), x.begin(), x.end());
    const std::vector<int8_t> out = compiler::run_int8(compiled.qgraph, compiler::quantize_input(compiled.qgraph, batch)).back();
    const int8_t* row = out.data();
    const uint8_t want = static_cast<uint8_t>(std::max_element(row, row + 10) - row);
    ASSERT_EQ(a.predictions[static_cast<size_t>(i)], want) << "image " << i;
    correct += want == test_set().labels[static_cast<size_t>(i)];
  }
  EXPECT_EQ(a.correct, correct);
  EXPECT_GT(a.accuracy(), 0.6);
  EXPECT_GT(a.latency_us, 0);
  EXPECT_GT(a.energy_uj, 0);
  std::filesystem::remove_all(dir);
}

TEST(Trainer, LeNet5Learns) {
  TrainConfig c = short_run(1, 5000, 500);
  const std::vector<EpochLog> log = run("lenet5.yaml", c);
  EXPECT_GT(log[0].test_accuracy, 0.40) << "chance is 0.10";
}

// One step by hand: a plain weight by v = m v + g + decay w, w -= lr v; a pruned one stays 0; a
// shared one follows its centroid, moved by the sum of its weights' gradients (no decay).
TEST(Trainer, StepsMaskedAndSharedWeightsByTheirRules) {
  Param p{"weights", {4}, {1.0f, 2.0f, 0.0f, -1.0f}, {0.5f, -1.0f, 3.0f, 2.0f}, {}, {}, {}};
  std::vector<float> v(4, 0.1f);
  sgd_step(p, v, 0.1, 0.9, 0.01);
  for (int i = 0; i < 4; ++i) {
    const float before[] = {1.0f, 2.0f, 0.0f, -1.0f}, g[] = {0.5f, -1.0f, 3.0f, 2.0f};
    const float vi = 0.9f * 0.1f + g[i] + 0.01f * before[i];
    EXPECT_FLOAT_EQ(v[i], vi);
    EXPECT_FLOAT_EQ(p.value[i], before[i] - 0.1f * vi);
  }
  p.value = {1.0f, 2.0f, 0.0f, -1.0f};
  p.mask = {1, 1, 0, 1};
  v.assign(4, 0.1f);
  sgd_step(p, v, 0.1, 0.9, 0.01);
  EXPECT_EQ(p.value[2], 0.0f) << "pruned";
  EXPECT_EQ(v[2], 0.0f);
  Param s{"weights", {5}, {0.5f, -0.25f, 0.5f, 0.0f, 0.5f}, {1.0f, 2.0f, 3.0f, 7.0f, -1.0f}, {}, {2, 1, 2, 0, 2},
          {0.0f, -0.25f, 0.5f}};
  std::vector<float> cv(3, 0.0f);
  sgd_step(s, cv, 0.1, 0.9, 0.01);
  EXPECT_FLOAT_EQ(s.centroids[2], 0.5f - 0.1f * (1.0f + 3.0f - 1.0f));
  EXPECT_FLOAT_EQ(s.centroids[1], -0.25f - 0.1f * 2.0f);
  EXPECT_EQ(s.centroids[0], 0.0f) << "the pruned weights' zero is fixed";
  EXPECT_EQ(s.value, (std::vector<float>{s.centroids[2], s.centroids[1], s.centroids[2], 0.0f, s.centroids[2]}));
}

// Masked retraining: LeNet-300-100 with fc1 pruned to 10% keeps its pruned weights at zero while
// it learns; its shared fc2 keeps 15 values and the zero.
TEST(Trainer, PrunedAndSharedLayersTrainWithinTheirConstraints) {
  TrainConfig c = short_run(1, 2000, 500);
  Network net = Network::from_graph(compiler::load_model(kSrc + "/models/lenet_300_100.yaml", 1, false), c.seed);
  Trainer(net, c).epoch(train_set(), test_set());
  Param& fc1 = *net.trained()[0].weights;
  fc1.value = compiler::prune(fc1.value, 0.1);
  fc1.mask.resize(fc1.value.size());
  for (size_t i = 0; i < fc1.value.size(); ++i) fc1.mask[i] = fc1.value[i] != 0;
  Param& fc2 = *net.trained()[1].weights;
  const compiler::SharedWeights shared = compiler::share_weights(fc2.value, 15);
  fc2.cluster = shared.indices;
  fc2.centroids = shared.codebook;
  for (size_t i = 0; i < fc2.value.size(); ++i) fc2.value[i] = fc2.centroids[fc2.cluster[i]];
  const std::vector<float> kept_before = fc1.value;
  // A centroid moves by the sum of its thousands of weights' gradients: fine-tuning takes small steps.
  c.lr = 1e-3;
  Trainer tune(net, c);
  const EpochLog e = tune.epoch(train_set(), test_set());
  size_t changed = 0;
  for (size_t i = 0; i < fc1.value.size(); ++i) {
    if (!fc1.mask[i]) {
      ASSERT_EQ(fc1.value[i], 0.0f) << i;
    }
    changed += fc1.mask[i] && fc1.value[i] != kept_before[i];
  }
  EXPECT_GT(changed, fc1.value.size() / 20) << "the kept weights train";
  std::set<float> values(fc2.value.begin(), fc2.value.end());
  EXPECT_LE(values.size(), 16u);
  for (size_t i = 0; i < fc2.value.size(); ++i) ASSERT_EQ(fc2.value[i], fc2.centroids[fc2.cluster[i]]);
  EXPECT_GT(e.test_accuracy, 0.6);
}

TEST(Trainer, SchedulesFollowTheirDefinitions) {
  TrainConfig c;
  c.lr = 0.1;
  EXPECT_DOUBLE_EQ(learning_rate(c, 7), 0.1);
  c.schedule = "step";
  c.step_epochs = 3;
  c.gamma = 0.5;
  EXPECT_DOUBLE_EQ(learning_rate(c, 2), 0.1);
  EXPECT_DOUBLE_EQ(learning_rate(c, 3), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(c, 7), 0.025);
  c.schedule = "cosine";
  c.epochs = 10;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0), 0.1);
  EXPECT_NEAR(learning_rate(c, 5), 0.05, 1e-12);
}

TEST(Trainer, TrainingFileMistakesNameTheirLineAndKey) {
  const std::string path = testing::TempDir() + "train_" + std::to_string(getpid()) + ".yaml";
  std::ofstream(path) << "epochs: 3\nlr: 0.05\nschedule: cosine\n";
  const TrainConfig c = load_train_config(path);
  EXPECT_EQ(c.epochs, 3);
  EXPECT_DOUBLE_EQ(c.lr, 0.05);
  EXPECT_EQ(c.schedule, "cosine");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"epochs: 2\nepoch: 3\n", ":2: unknown key 'epoch'"},
      {"lr: fast\n", ":1: lr should be a number"},
      {"batch: 0\n", ":1: batch must lie in"},
      {"epochs: 2.5\n", ":1: epochs should be a whole number"},
      {"schedule: {a: 1}\n", ":1: schedule should be a word"},
      {"schedule: linear\n", ":1: schedule 'linear' is not constant, step or cosine"},
      {"[1, 2]\n", ": a training file is a mapping of keys"},
  };
  for (const auto& [text, message] : bad) {
    std::ofstream(path) << text;
    try {
      load_train_config(path);
      ADD_FAILURE() << text;
    } catch (const compiler::ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(path + message), std::string::npos) << e.what();
    }
  }
}

TEST(Trainer, NamesALayerItCannotTrain) {
  try {
    Network::from_graph(compiler::load_model(kSrc + "/models/resnet50.yaml", 1, false), 1);
    FAIL();
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("resnet50.yaml: layer '"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tpu::train
