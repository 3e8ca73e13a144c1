// The trainer on Fashion-MNIST, short and seeded: LeNet-300-100 and LeNet-5
// learn (the loss falls, the test accuracy is far above chance), the same seed
// gives the same weights byte for byte, and the training file's mistakes are
// named by file, line and key.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <fstream>

#include "tools/train/trainer.h"

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

TEST(Trainer, LeNet300100LearnsAndIsDeterministic) {
  TrainConfig c;
  c.epochs = 2;
  c.train_images = 3000;
  c.test_images = 1000;
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

TEST(Trainer, LeNet5Learns) {
  TrainConfig c;
  c.epochs = 1;
  c.train_images = 2000;
  c.test_images = 500;
  const std::vector<EpochLog> log = run("lenet5.yaml", c);
  EXPECT_GT(log[0].test_accuracy, 0.40) << "chance is 0.10";
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
