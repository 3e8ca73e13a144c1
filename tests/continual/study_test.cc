// The continual study's file, draws and metrics: settings expand as the file
// says, mistakes are named by line and key (with the nearest valid key), the
// draws follow the scenarios' definitions, and forgetting and backward
// transfer match hand-worked matrices.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "isa/encoding.h"
#include "isa/program.h"
#include "tools/continual/deploy.h"
#include "tools/continual/metrics.h"
#include "tools/continual/update.h"
#include "tools/continual/stream.h"
#include "tools/continual/study.h"

namespace tpu::continual {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

std::string write_study(const std::string& name, const std::string& body, bool deploy = true) {
  const std::string dir = testing::TempDir() + "study_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name + ".yaml";
  std::ofstream(path) << "model: " << kSrc << "/models/lenet_300_100.yaml\n"
                      << (deploy ? "deploy: {chip: " + kSrc + "/configs/tpu_v1.yaml}\n" : "") << body;
  return path;
}

const train::Dataset& train_set() {
  static const train::Dataset d = train::load_fashion_mnist(train::Split::kTrain);
  return d;
}

TEST(Study, SettingsExpandPerScenarioInFileOrder) {
  const StudySpec s = load_study(write_study("expand",
                                             "bootstraps: 3\n"
                                             "experiments:\n"
                                             "  iterations: {scenarios: [new_classes, growing_data], epochs: [0.5, 2], constant: 100}\n"
                                             "  old_data: {lambda: [0, 1], constant: 50}\n"
                                             "  label_noise: {noise: 0.1, epochs: 10}\n"));
  ASSERT_EQ(s.settings.size(), 2u * 3 + 2 + 1);
  EXPECT_EQ(s.settings[0].label(), "epochs 0.5");
  EXPECT_EQ(s.settings[0].scenario, "new_classes");
  EXPECT_EQ(s.settings[2].label(), "constant 100");
  EXPECT_EQ(s.settings[3].scenario, "growing_data");
  EXPECT_EQ(s.settings[6].label(), "lambda 0");
  EXPECT_EQ(s.settings[6].constant, 50);
  EXPECT_EQ(s.settings[7].lambda, 1);
  EXPECT_EQ(s.settings[8].noise, 0.1);
  EXPECT_EQ(s.settings[8].epochs, 10);
  EXPECT_LT(s.settings[8].lambda, 0) << "no lambda: the whole training set alike";
  EXPECT_EQ(s.update.lr, 0.001) << "the protocol's rate";
  EXPECT_EQ(s.update.batch, 64);
  EXPECT_EQ(study_points(s).size(), s.settings.size() * 3);
  EXPECT_EQ(study_points(s)[4].setting, 1u);
  EXPECT_EQ(study_points(s)[4].bootstrap, 1);
}

void expect_refused(const std::string& body, const std::string& says, bool deploy = true) {
  try {
    load_study(write_study("bad", body, deploy));
    ADD_FAILURE() << "accepted: " << body;
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
  }
}

TEST(Study, MistakesAreNamedByLineAndKey) {
  const std::string ex = "experiments: {iterations: {epochs: 1}}\n";
  expect_refused("bootstrap: 3\n" + ex, ":3: unknown key 'bootstrap'; did you mean 'bootstraps'?");
  expect_refused("experiments: {iteration: {epochs: 1}}\n", "unknown key 'experiments.iteration'; did you mean 'iterations'?");
  expect_refused("experiments: {old_data: {lambda: [0, 1.5]}}\n", "experiments.old_data.lambda must lie in [0");
  expect_refused("experiments: {label_noise: {noise: 1.2}}\n", "experiments.label_noise.noise must lie in [0");
  expect_refused("experiments: {label_noise: {noise: -0.1}}\n", "experiments.label_noise.noise must lie in [0");
  expect_refused("experiments: {old_data: {lambda: -0.5}}\n", "experiments.old_data.lambda must lie in [0");
  expect_refused("experiments: {old_data: {epochs: 1}}\n", "experiments.old_data sweeps lambda");
  expect_refused("experiments: {iterations: {scenarios: [new_class], epochs: 1}}\n", "did you mean 'new_classes'?");
  expect_refused("scenarios: {new_classes: {initial_classes: 10}}\n" + ex, "initial_classes must lie in [2");
  expect_refused("scenarios: {new_classes: {initial_classes: 2, initial_per_class: 5000, update_size: 200}}\n" + ex,
                 "more than the 6000 training images a class has");
  expect_refused("scenarios: {growing_data: {initial_per_class: 5000, update_size: 1000, steps: 10}}\n" + ex,
                 "may need more than the 6000 training images a class has");
  expect_refused("update: {epochs: 3}\n" + ex, "update.epochs does not apply");
  expect_refused("deploy: {chip: nowhere.yaml}\n" + ex, "deploy.chip 'nowhere.yaml': no such file", false);
  expect_refused(ex, "no deploy section", false);
  expect_refused("", "no experiments");
  expect_refused("initial: {seed: 3}\n" + ex, "initial.seed does not apply here");
  expect_refused("update: {validation_images: 10}\n" + ex, "update.validation_images does not apply here");
  expect_refused("update: {lr: 0.01, momentun: 0.9}\n" + ex, "unknown key 'update.momentun'; did you mean 'momentum'?");
  expect_refused("experiments: {old_data: {lambda: [0.5, 0.5]}}\n", "gives lambda 0.5 twice");
  expect_refused("experiments: {label_noise: {scenarios: [new_classes, new_classes], noise: 0.1}}\n", "names new_classes twice");
}

// A compressed study: its plan read with the study's file, the plan's mistakes named with both files.
TEST(Study, CompressionNamesItsPlanAndChip) {
  const std::string dir = testing::TempDir() + "study_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const auto plan = [&](const std::string& name, const std::string& body) {
    std::ofstream(dir + "/" + name + ".yaml") << body;
    return dir + "/" + name + ".yaml";
  };
  const std::string good = plan("plan", "prune: {density: {fc1: 0.1}}\nquantize: {bits: {fc: 4}}\n");
  const std::string ex = "experiments: {iterations: {epochs: 1}}\n";
  const std::string eie = "deploy: {chip: " + kSrc + "/configs/eie.yaml}\n";
  const StudySpec s = load_study(write_study("compressed", ex + eie + "compress: {plan: " + good + ", codebooks: frozen}\n", false));
  EXPECT_TRUE(s.compress.on());
  EXPECT_EQ(s.compress.codebooks, "frozen");
  EXPECT_EQ(s.compress.settings.density.at("fc1"), 0.1);
  EXPECT_EQ(s.compress.settings.bits.at("fc3"), 4) << "fc: every dense layer";
  EXPECT_FALSE(s.compress.settings.train_first);
  EXPECT_FALSE(load_study(write_study("dense", ex)).compress.on());
  expect_refused(ex + eie + "compress: {plan: " + good + ", codebooks: frozn}\n", "did you mean 'frozen'?", false);
  expect_refused(ex + eie + "compress: {plan: " + good + ", codebook: frozen}\n", "unknown key 'compress.codebook'; did you mean 'codebooks'?", false);
  expect_refused(ex + eie + "compress: {codebooks: frozen}\n", "compress.plan: the Deep Compression plan file is missing", false);
  expect_refused(ex + "compress: {plan: " + good + "}\n", "no sparse engine", true);
  expect_refused(ex + eie + "compress: {plan: " + plan("trains", "train: {epochs: 3}\nprune: {density: {fc1: 0.1}}\n") + "}\n",
                 "trains.yaml:1: train does not apply to a continual study's plan", false);
  expect_refused(ex + eie + "compress: {plan: " + plan("chooses", "sensitivity: {budget: 1}\n") + "}\n",
                 "sensitivity does not apply", false);
  expect_refused(ex + eie + "compress: {plan: " + plan("wide", "quantize: {bits: {fc: 5}}\n") + "}\n",
                 "quantize.bits.fc1 is 5; the sparse engine's codebook holds 4 bits", false);
  expect_refused(ex + eie + "compress: {plan: " + plan("idle", "storage: {index_bits: {fc: 4}}\n") + "}\n",
                 "neither prunes nor shares", false);
  expect_refused(ex + eie + "compress: {plan: " + plan("typo", "prune: {density: {fc9: 0.1}}\n") + "}\n",
                 "'fc9' is not a dense or conv2d layer", false);
}

// The draws: classes in a seeded order, each image drawn once, labelled by output; the update sets of
// the class learned at each step; replacements of known classes keeping the new class's label.
TEST(Stream, NewClassesDrawsFollowTheScenario) {
  const StudySpec s = load_study(write_study(
      "draws", "scenarios: {new_classes: {initial_classes: 4, initial_per_class: 30, update_size: 10}}\n"
               "experiments: {label_noise: {noise: [0.3]}}\n"));
  const Stream a = draw_stream(s, "new_classes", 0, train_set());
  ASSERT_EQ(a.classes.size(), 10u);
  EXPECT_EQ(std::set<int>(a.classes.begin(), a.classes.end()).size(), 10u);
  EXPECT_EQ(a.initial.size(), 4u * 30);
  ASSERT_EQ(a.updates.size(), 6u);
  EXPECT_EQ(std::set<int64_t>(a.file.begin(), a.file.end()).size(), a.file.size()) << "an image drawn twice";
  for (int64_t i : a.initial) {
    const uint8_t output = a.pool.labels[static_cast<size_t>(i)];
    ASSERT_LT(output, 4);
    EXPECT_EQ(train_set().labels[static_cast<size_t>(a.file[static_cast<size_t>(i)])], a.classes[output]);
  }
  for (size_t t = 0; t < a.updates.size(); ++t) {
    const int64_t out = 4 + static_cast<int64_t>(t);
    EXPECT_EQ(a.classes_after(static_cast<int64_t>(t) + 1), out + 1);
    for (int64_t i : a.updates[t].images) {
      EXPECT_EQ(a.pool.labels[static_cast<size_t>(i)], out);
      EXPECT_EQ(train_set().labels[static_cast<size_t>(a.file[static_cast<size_t>(i)])], a.classes[static_cast<size_t>(out)]);
    }
    for (int64_t i : a.updates[t].replacements) {
      EXPECT_EQ(a.pool.labels[static_cast<size_t>(i)], out) << "keeps the new class's label";
      const int c = train_set().labels[static_cast<size_t>(a.file[static_cast<size_t>(i)])];
      const auto known = std::find(a.classes.begin(), a.classes.begin() + out, c);
      EXPECT_NE(known, a.classes.begin() + out) << "an image of a class not yet known";
    }
    // Noise replaces the first images, so a larger share replaces the smaller's and more.
    const std::vector<int64_t> noisy = noisy_update(a, t, 0.3), noisier = noisy_update(a, t, 0.5);
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(noisy[i], i < 3 ? a.updates[t].replacements[i] : a.updates[t].images[i]);
      EXPECT_EQ(noisier[i], i < 5 ? a.updates[t].replacements[i] : a.updates[t].images[i]);
    }
    EXPECT_EQ(noisy_update(a, t, 0), a.updates[t].images);
  }
  // The pool's pixels are the training file's.
  const size_t px = 28 * 28;
  for (size_t i = 0; i < a.file.size(); i += 17)
    EXPECT_TRUE(std::equal(a.pool.pixels.begin() + static_cast<long>(i * px), a.pool.pixels.begin() + static_cast<long>((i + 1) * px),
                           train_set().pixels.begin() + static_cast<long>(static_cast<size_t>(a.file[i]) * px)));
  // Seeded by the study's seed and the bootstrap alone.
  EXPECT_EQ(draw_stream(s, "new_classes", 0, train_set()).file, a.file);
  EXPECT_NE(draw_stream(s, "new_classes", 1, train_set()).file, a.file);
  // The test images of the known classes, labelled by output.
  const train::Dataset test = train::load_fashion_mnist(train::Split::kTest);
  const train::Dataset known = test_images(a, 2, test, 20);
  EXPECT_EQ(known.count, 6 * 20);
  for (uint8_t l : known.labels) EXPECT_LT(l, 6);
}

TEST(Stream, GrowingDataKeepsEveryClassAndMislabelsItsNoise) {
  const StudySpec s = load_study(write_study(
      "grow", "scenarios: {growing_data: {initial_per_class: 20, update_size: 50, steps: 3}}\n"
              "experiments: {label_noise: {scenarios: [growing_data], noise: [0.2]}}\n"));
  const Stream a = draw_stream(s, "growing_data", 2, train_set());
  EXPECT_EQ(a.initial.size(), 200u);
  ASSERT_EQ(a.updates.size(), 3u);
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_EQ(a.classes_after(static_cast<int64_t>(t) + 1), 10);
    for (size_t i = 0; i < 50; ++i) {
      const int64_t image = a.updates[t].images[i], other = a.updates[t].replacements[i];
      EXPECT_EQ(a.pool.labels[static_cast<size_t>(image)], train_set().labels[static_cast<size_t>(a.file[static_cast<size_t>(image)])]);
      EXPECT_EQ(a.pool.labels[static_cast<size_t>(other)], a.pool.labels[static_cast<size_t>(image)]) << "keeps the label";
      EXPECT_NE(train_set().labels[static_cast<size_t>(a.file[static_cast<size_t>(other)])], a.pool.labels[static_cast<size_t>(image)])
          << "an image of another class";
    }
  }
  EXPECT_EQ(std::set<int64_t>(a.file.begin(), a.file.end()).size(), a.file.size());
}

// Three steps, outputs 0 and 1 initial, 2 learned at step 1: worked by hand.
TEST(Metrics, ForgettingAndBackwardTransferByTheirDefinitions) {
  AccuracyMatrix m;
  m.acc = {{0.9, 0.8}, {0.7, 0.85, 0.6}, {0.75, 0.5, 0.9}};
  m.learned = {0, 0, 1};
  const std::vector<double> f = forgetting(m);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_DOUBLE_EQ(f[0], 0.9 - 0.75);
  EXPECT_DOUBLE_EQ(f[1], 0.85 - 0.5);
  EXPECT_DOUBLE_EQ(f[2], 0.6 - 0.9);
  EXPECT_DOUBLE_EQ(mean_forgetting(m), (0.15 + 0.35 + (0.6 - 0.9)) / 3);
  EXPECT_DOUBLE_EQ(backward_transfer(m), ((0.75 - 0.9) + (0.5 - 0.8) + (0.9 - 0.6)) / 3);
  EXPECT_EQ(per_class_accuracy({0, 0, 1, 2, 2, 2}, {0, 1, 1, 2, 0, 2}, 3), (std::vector<double>{0.5, 1, 2.0 / 3}));
}

// Lambda 0 never draws from the update set and lambda 1 always does; without lambda each image of
// both sets is drawn alike (here 1 of 4 from the update set).
TEST(Update, MinibatchesDrawByLambda) {
  const std::vector<int64_t> earlier = {0, 1, 2}, update = {3};
  std::mt19937_64 rng(5);
  for (int64_t i : draw_minibatch(earlier, update, 0, 500, rng)) EXPECT_LT(i, 3);
  for (int64_t i : draw_minibatch(earlier, update, 1, 500, rng)) EXPECT_EQ(i, 3);
  int64_t from_update = 0;
  for (int64_t i : draw_minibatch(earlier, update, -1, 20000, rng)) from_update += i == 3;
  EXPECT_NEAR(double(from_update) / 20000, 0.25, 0.015);
  from_update = 0;
  for (int64_t i : draw_minibatch(earlier, update, 0.7, 20000, rng)) from_update += i == 3;
  EXPECT_NEAR(double(from_update) / 20000, 0.7, 0.015);
  Setting s;
  s.epochs = 0.5;
  EXPECT_EQ(update_iterations(s, 1000, 64), 8) << "500 / 64 rounded up";
  s.constant = 100;
  EXPECT_EQ(update_iterations(s, 1000, 64), 100);
}

// The bytes an update ships: those that differ from the memory's (0 where never written), runs
// closer than the gap merged; the upload program loads exactly them, a long run in several ldw.
TEST(Deploy, ChangedRunsAndTheUploadProgram) {
  isa::MemoryImage before, now;
  before.write(100, std::vector<uint8_t>(50, 7));
  now.write(100, std::vector<uint8_t>(50, 7));
  now.write(110, {1, 2});
  now.write(140, {9});
  now.write(300, {0, 0, 5});  // zeros where nothing was written are what the memory holds
  EXPECT_EQ(changed_runs(before, now, 1), (std::vector<std::pair<uint64_t, uint64_t>>{{110, 2}, {140, 1}, {302, 1}}));
  EXPECT_EQ(changed_runs(before, now, 64), (std::vector<std::pair<uint64_t, uint64_t>>{{110, 31}, {302, 1}}));
  const isa::Program p = upload_program(now, changed_runs(before, now, 64));
  ASSERT_EQ(p.text.size(), 3u);  // two ldw and a halt
  isa::Instruction first;
  std::string why;
  ASSERT_TRUE(isa::decode(p.text[0], &first, &why)) << why;
  EXPECT_EQ(first.opcode(), isa::Opcode::ldw);
  EXPECT_EQ(first.get("dram"), 110);
  EXPECT_EQ(first.get("len"), 31);
  for (uint64_t i = 0; i < 31; ++i) EXPECT_EQ(p.host.read(uint64_t(first.get("host")) + i), now.read(110 + i));
  isa::MemoryImage big;
  big.write(0, std::vector<uint8_t>((uint64_t{1} << 24) + 10, 3));
  EXPECT_EQ(upload_program(big, {{0, (uint64_t{1} << 24) + 10}}).text.size(), 3u) << "2^24 - 1 bytes an ldw at most";
}

}  // namespace
}  // namespace tpu::continual
