// A continual run in miniature, seeded: the initial model learns its classes,
// each update adds its class's output and trains, every deployment's scores on
// the chip equal the reference interpreter's on every image, the first
// deployment ships the whole weight image and a later one what changed, and
// the same inputs give the same record byte for byte.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "isa/program.h"
#include "sim/base/config.h"
#include "tools/continual/run.h"
#include "tools/continual/study.h"

namespace tpu::continual {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

struct Mini {
  StudySpec spec;
  train::Dataset train, test;
  sim::ChipParams chip;
  std::string work;
};

const Mini& mini() {
  static const Mini m = [] {
    Mini m;
    m.work = testing::TempDir() + "continual_run_" + std::to_string(getpid());
    std::filesystem::create_directories(m.work);
    const std::string path = m.work + "/mini.yaml";
    std::ofstream(path) << "model: " << kSrc << "/models/lenet_300_100.yaml\n"
                        << "bootstraps: 1\n"
                        << "initial: {epochs: 8, lr: 0.05}\n"
                        << "update: {lr: 0.01}\n"
                        << "scenarios: {new_classes: {initial_classes: 8, initial_per_class: 100, update_size: 40},\n"
                        << "            growing_data: {initial_per_class: 20, update_size: 150, steps: 2}}\n"
                        << "experiments: {iterations: {scenarios: [new_classes, growing_data], epochs: [8, 0.1]},\n"
                        << "              old_data: {lambda: [1], epochs: 8},\n"
                        << "              label_noise: {noise: [0, 0.5], epochs: 8}}\n"
                        << "test_per_class: 30\n"
                        << "deploy: {chip: " << kSrc << "/configs/tpu_v1.yaml, batch: 60, check: true}\n";
    m.spec = load_study(path);
    m.train = train::load_fashion_mnist(train::Split::kTrain);
    m.test = train::load_fashion_mnist(train::Split::kTest);
    m.chip = sim::read_chip_params(sim::Config::load(m.spec.deploy.chip));
    return m;
  }();
  return m;
}

// Point `i` of the miniature from its bootstrap's initial model (trained again each time), deployed in work/dir.
RunResult run(size_t i, const std::string& dir, const std::string& cache = "") {
  const Mini& m = mini();
  const StudyPoint p = study_points(m.spec)[i];
  const std::string& scenario = m.spec.settings[p.setting].scenario;
  const Stream s = draw_stream(m.spec, scenario, 0, m.train);
  return run_point(m.spec, p, s, initial_model(m.spec, scenario, 0, s), m.test, m.chip, m.work + "/" + dir, cache);
}

TEST(ContinualRun, UpdatesGrowTheOutputsAndDeployExactly) {
  const Mini& m = mini();
  const RunResult r = run(0, "p0");
  ASSERT_EQ(r.steps.size(), 3u);
  EXPECT_GT(r.steps[0].accuracy, 0.5) << "8 classes: chance is 0.125";
  for (size_t t = 0; t < 3; ++t) {
    const StepRecord& st = r.steps[t];
    SCOPED_TRACE(t);
    EXPECT_EQ(st.classes, 8 + static_cast<int64_t>(t));
    EXPECT_EQ(st.training_set, 800 + 40 * static_cast<int64_t>(t));
    EXPECT_EQ(st.chip.images, 30 * st.classes);
    EXPECT_EQ(st.chip.agree, st.chip.images) << "the chip's scores are the interpreter's";
    EXPECT_NEAR(st.chip.accuracy, st.accuracy, 0.05) << "int8 on the chip near the float model";
    ASSERT_EQ(st.per_class.size(), static_cast<size_t>(st.classes));
    if (t > 0) {
      // 8 epochs of the training set in minibatches of 64, rounded up (at a rate of 0.01, ten times the
      // protocol's, for the miniature's few iterations to learn the new class).
      EXPECT_EQ(st.update.iterations, (8 * st.training_set + 63) / 64);
      EXPECT_EQ(st.update.macs, static_cast<uint64_t>(st.update.iterations * 64) *
                                    (2 * 784 * 300 + 3 * (300 * 100 + 100 * static_cast<uint64_t>(st.classes))));
      EXPECT_GT(st.per_class.back(), 0.1) << "the new class is learned (an untrained output scores none of its images)";
      EXPECT_GT(st.chip.changed_weight_bytes, 0u);
      EXPECT_LE(st.chip.changed_weight_bytes, st.chip.weight_image_bytes);
    }
    EXPECT_GT(st.chip.upload_us, 0);
    EXPECT_GT(st.chip.latency_us, 0);
  }
  EXPECT_EQ(r.steps[0].chip.changed_weight_bytes, r.steps[0].chip.weight_image_bytes) << "the first ships it all";
  EXPECT_EQ(r.float_matrix.learned, (std::vector<int64_t>{0, 0, 0, 0, 0, 0, 0, 0, 1, 2}));
  // The same inputs, the same record (wall times aside); also with the chip's measurements kept in a
  // cache, and read back from it.
  const auto record = [&](const std::string& cache) {
    nlohmann::json j = to_json(m.spec, study_points(m.spec)[0], run(0, "p0again", cache));
    j.erase("wall");
    return j.dump();
  };
  nlohmann::json first = to_json(m.spec, study_points(m.spec)[0], r);
  first.erase("wall");
  EXPECT_EQ(record(""), first.dump());
  const std::string cache = m.work + "/cache";
  EXPECT_EQ(record(cache), first.dump());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(cache), std::filesystem::directory_iterator{}), 3);
  EXPECT_EQ(record(cache), first.dump()) << "read back from the cache";
  // It is the cache that answers: a measurement edited there is what the record says.
  for (const auto& e : std::filesystem::directory_iterator(cache)) {
    nlohmann::json j = nlohmann::json::parse(isa::read_file(e.path().string()));
    j["latency_us"] = 12345.0;
    std::ofstream(e.path()) << j.dump();
  }
  EXPECT_EQ(nlohmann::json::parse(record(cache))["steps"][2]["chip"]["latency_us"], 12345.0);
}

// Only the new class's images (lambda 1) forget the old classes more than the whole training set does.
TEST(ContinualRun, OnlyNewDataForgetsMore) {
  const RunResult all = run(0, "a");
  const RunResult only_new = run(4, "b");
  EXPECT_GT(mean_forgetting(only_new.float_matrix), mean_forgetting(all.float_matrix) + 0.1);
  EXPECT_LT(only_new.steps.back().accuracy, all.steps.back().accuracy - 0.1);
}

// A tenth of an epoch per update leaves the new classes barely learned, where eight epochs learn them.
TEST(ContinualRun, FewIterationsLearnTheNewClassesLess) {
  const RunResult many = run(0, "c");
  const RunResult few = run(1, "d");
  EXPECT_EQ(few.steps[1].update.iterations, 2) << "0.1 x 840 / 64, rounded up";
  const auto new_classes = [](const RunResult& r) { return (r.steps.back().per_class[8] + r.steps.back().per_class[9]) / 2; };
  EXPECT_LT(new_classes(few), new_classes(many) - 0.2);
}

// Half of each update set mislabelled costs accuracy against a clean update.
TEST(ContinualRun, LabelNoiseCostsAccuracy) {
  const RunResult clean = run(5, "e");
  const RunResult noisy = run(6, "f");
  EXPECT_LT(noisy.steps.back().accuracy, clean.steps.back().accuracy - 0.02);
}

// Growing data: every class known from the start, each update more images of them; trained on them,
// the model gains, and a tenth of an epoch per update gains less.
TEST(ContinualRun, GrowingDataGainsWithTheData) {
  const RunResult many = run(2, "g");
  const RunResult few = run(3, "h");
  ASSERT_EQ(many.steps.size(), 3u);
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_EQ(many.steps[t].classes, 10);
    EXPECT_EQ(many.steps[t].training_set, 200 + 150 * static_cast<int64_t>(t));
  }
  EXPECT_EQ(few.steps[1].update.iterations, 1) << "0.1 x 350 / 64, rounded up";
  EXPECT_GT(many.steps.back().accuracy, many.steps[0].accuracy + 0.03) << "500 images against 200";
  EXPECT_GT(many.steps.back().accuracy, few.steps.back().accuracy + 0.02);
  EXPECT_EQ(many.float_matrix.learned, std::vector<int64_t>(10, 0)) << "every class known from the start";
}

}  // namespace
}  // namespace tpu::continual
