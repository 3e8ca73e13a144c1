// A continual study through the task pool, in miniature: the results files
// are the same bytes for one job and for two, a rerun resumes (a missing or
// damaged record is run again, nothing else), and a directory holding
// another study's results is refused.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "isa/program.h"
#include "tools/continual/study_runner.h"

namespace tpu::continual {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;
namespace fs = std::filesystem;

constexpr const char* kExperiments =
    "{iterations: {scenarios: [new_classes, growing_data], constant: [5]}, label_noise: {noise: [0.5], constant: 5}}";

std::string study_file(const std::string& dir, const std::string& extra = "", int bootstraps = 2,
                       const std::string& experiments = kExperiments) {
  fs::create_directories(dir);
  const std::string path = dir + "/tiny.yaml";
  std::ofstream(path) << "model: " << kSrc << "/models/lenet_300_100.yaml\n"
                      << "bootstraps: " << bootstraps << "\n"
                      << "initial: {epochs: 3, lr: 0.05}\n"
                      << "scenarios: {new_classes: {initial_classes: 8, initial_per_class: 50, update_size: 20},\n"
                      << "            growing_data: {initial_per_class: 20, update_size: 30, steps: 2}}\n"
                      << "experiments: " << experiments << "\n"
                      << "test_per_class: 10\n"
                      << "deploy: {chip: " << kSrc << "/configs/tpu_v1.yaml, batch: 50}\n"
                      << extra;
  return path;
}

// Options running a study in base/one with one job and in base/two with two.
std::pair<StudyRunOptions, StudyRunOptions> one_and_two_jobs(const std::string& base) {
  StudyRunOptions one;
  one.out_dir = base + "/one";
  one.progress = false;
  StudyRunOptions two = one;
  two.out_dir = base + "/two";
  two.jobs = 2;
  return {one, two};
}

TEST(StudyRunner, ResultsAreTheSameBytesForAnyJobsAndResume) {
  const std::string base = testing::TempDir() + "study_runner_" + std::to_string(getpid());
  const StudySpec spec = load_study(study_file(base));
  ASSERT_EQ(study_points(spec).size(), 6u);
  auto [one, two] = one_and_two_jobs(base);
  const sweep::PoolOutcome a = run_study_local(spec, one), b = run_study_local(spec, two);
  EXPECT_EQ(a.ran, 6u);
  EXPECT_EQ(b.ran, 6u);
  EXPECT_EQ(a.failed, 0u);
  for (const char* f : {"/results.jsonl", "/results.csv"})
    EXPECT_EQ(isa::read_file(one.out_dir + f), isa::read_file(two.out_dir + f)) << f;
  const std::vector<nlohmann::json> results = read_study_results(one.out_dir);
  ASSERT_EQ(results.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(results[i]["point"], i);
    EXPECT_EQ(results[i]["status"], "done");
    EXPECT_FALSE(results[i].contains("wall")) << "wall times stay in the records";
    EXPECT_EQ(results[i]["steps"].size(), 3u) << "the initial model and two updates";
  }
  // Each bootstrap's initial model trained once and kept for the other settings.
  EXPECT_TRUE(fs::exists(one.out_dir + "/initial/new_classes-0/model.yaml"));
  EXPECT_TRUE(fs::exists(one.out_dir + "/initial/growing_data-1/model.yaml"));
  // Resuming: nothing to do; then a removed and a damaged record are run again, and only they.
  EXPECT_EQ(run_study_local(spec, one).ran, 0u);
  std::vector<fs::path> records;
  for (const auto& e : fs::directory_iterator(one.out_dir + "/runs")) records.push_back(e.path());
  std::sort(records.begin(), records.end());
  ASSERT_EQ(records.size(), 6u);
  fs::remove(records[1]);
  std::ofstream(records[4], std::ios::trunc) << "{\"point\": 4, \"stat";
  const sweep::PoolOutcome again = run_study_local(spec, one);
  EXPECT_EQ(again.ran, 2u);
  EXPECT_EQ(again.reused, 4u);
  EXPECT_EQ(isa::read_file(one.out_dir + "/results.jsonl"), isa::read_file(two.out_dir + "/results.jsonl"));
  // Another study's directory.
  const StudySpec other = load_study(study_file(base + "/other", "seed: 7\n"));
  StudyRunOptions into = one;
  EXPECT_THROW(run_study_local(other, into), sweep::SweepError);
  fs::remove_all(base);
}

// One bootstrap, two settings of one scenario at once: both runs want its initial model at the same
// time, each trains it and the one kept second finds it kept (they are the same); the results are
// those of one job.
TEST(StudyRunner, TwoRunsWantingOneInitialModelAtOnce) {
  const std::string base = testing::TempDir() + "study_runner_once_" + std::to_string(getpid());
  const StudySpec spec = load_study(study_file(base, "", 1, "{iterations: {constant: [5, 6]}}"));
  ASSERT_EQ(study_points(spec).size(), 2u);
  auto [one, two] = one_and_two_jobs(base);
  EXPECT_EQ(run_study_local(spec, one).failed, 0u);
  EXPECT_EQ(run_study_local(spec, two).failed, 0u);
  EXPECT_EQ(isa::read_file(one.out_dir + "/results.jsonl"), isa::read_file(two.out_dir + "/results.jsonl"));
  std::vector<std::string> kept;
  for (const auto& e : fs::directory_iterator(two.out_dir + "/initial")) kept.push_back(e.path().filename().string());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, std::vector<std::string>{"new_classes-0"}) << "no draft left behind";
  fs::remove_all(base);
}

}  // namespace
}  // namespace tpu::continual
