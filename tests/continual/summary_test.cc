// The continual report's arithmetic: confidence intervals by Student's t,
// summaries of records worked by hand, and each finding's verdict by its rule.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tools/continual/continual_report.h"

namespace tpu::continual {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

TEST(Summary, IntervalsFollowStudentsT) {
  const Interval i = interval({1, 2, 3});
  EXPECT_DOUBLE_EQ(i.mean, 2);
  // t(0.975, 2 degrees of freedom) = 4.302653 (the tables' seven places); the sample deviation is 1.
  EXPECT_NEAR(i.hi - i.mean, 4.302653 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(i.mean - i.lo, 4.302653 / std::sqrt(3.0), 1e-6);
  const Interval nine = interval({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9});
  // t(0.975, 8) = 2.306004; the deviation sqrt(0.075).
  EXPECT_NEAR(nine.hi - nine.mean, 2.306004 * std::sqrt(0.075 / 9), 1e-6);
  EXPECT_EQ(interval({0.5}).lo, 0.5);
  EXPECT_EQ(interval({}).n, 0);
}

StudySpec spec_of(const std::string& experiments) {
  const std::string dir = testing::TempDir() + "summary_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/s.yaml") << "model: " << kSrc << "/models/lenet_300_100.yaml\nbootstraps: 2\n"
                                 << "deploy: {chip: " << kSrc << "/configs/tpu_v1.yaml}\nexperiments: " << experiments << "\n";
  return load_study(dir + "/s.yaml");
}

// A record of two steps whose final accuracy is `a` (the chip's a - 0.01).
nlohmann::json record(size_t point, double a) {
  const nlohmann::json chip0{{"accuracy", 0.5}, {"latency_us", 10.0}, {"energy_uj", 1.0}, {"dynamic_uj", 0.25},
                             {"changed_weight_bytes", 100},
                             {"uploaded_bytes", 100}, {"upload_us", 1.0}};
  nlohmann::json chip1 = chip0;
  chip1["accuracy"] = a - 0.01;
  chip1["per_class"] = std::vector<double>{0.5, 0.5, 0.5, 0.5, 0.5, 0.1};
  chip1["changed_weight_bytes"] = 40;
  return {{"point", point}, {"status", "done"}, {"forgetting", 0.1}, {"chip_forgetting", 0.1},
          {"backward_transfer", -0.1}, {"chip_backward_transfer", -0.1}, {"per_class_forgetting", std::vector<double>(6, 0.0)},
          {"learned_at", std::vector<int64_t>{0, 0, 0, 0, 0, 1}},
          {"class_of_output", std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
          {"steps", {{{"accuracy", 0.5}, {"classes", 5}, {"iterations", 0}, {"training_macs", 0}, {"chip", chip0}},
                     {{"accuracy", a}, {"classes", 6}, {"iterations", 10}, {"training_macs", 1000}, {"chip", chip1},
                      {"per_class", std::vector<double>{a, a, a, a, a, 0.2}}}}}};
}

TEST(Summary, SettingsSummariseTheirBootstraps) {
  const StudySpec spec = spec_of("{old_data: {lambda: [0, 1]}}");
  const std::vector<SettingSummary> s = summarize(spec, {record(0, 0.6), record(1, 0.8), record(2, 0.3), record(3, 0.5)});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0].final_accuracy.mean, 0.7);
  EXPECT_DOUBLE_EQ(s[0].final_chip_accuracy.mean, 0.69);
  EXPECT_DOUBLE_EQ(s[1].final_accuracy.mean, 0.4);
  EXPECT_EQ(s[1].x, 1);
  ASSERT_EQ(s[0].accuracy.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0].accuracy[0].mean, 0.5);
  EXPECT_DOUBLE_EQ(s[0].changed_weight_bytes.mean, 40) << "per update: step 0 ships the whole image, not counted";
  EXPECT_DOUBLE_EQ(s[0].iterations.mean, 10);
  EXPECT_DOUBLE_EQ(s[0].dynamic_uj.mean, 0.25);
  EXPECT_DOUBLE_EQ(s[0].groups.initial.mean, 0.7) << "outputs 0-4, learned at step 0";
  EXPECT_DOUBLE_EQ(s[0].groups.added.mean, 0.2) << "output 5, learned by the update";
  EXPECT_DOUBLE_EQ(s[0].chip_groups.initial.mean, 0.5);
  EXPECT_DOUBLE_EQ(s[0].chip_groups.added.mean, 0.1);
  nlohmann::json failed = record(3, 0.5);
  failed["status"] = "failed";
  EXPECT_THROW(summarize(spec, {record(0, 0.6), record(1, 0.8), record(2, 0.3), failed}), std::runtime_error);
  EXPECT_THROW(summarize(spec, {record(0, 0.6)}), std::runtime_error);
}

// Each finding's rule: old data needed when ignoring it costs over 2 points (partly over 1);
// 10% noise at most 3 points (partly 5).
TEST(Summary, VerdictsFollowTheirRules) {
  const StudySpec spec = spec_of("{old_data: {lambda: [0.5, 1]}, label_noise: {noise: [0, 0.1]}}");
  auto verdicts = [&](double best, double only_new, double clean, double noisy) {
    return judge(spec, summarize(spec, {record(0, best), record(1, best), record(2, only_new), record(3, only_new),
                                        record(4, clean), record(5, clean), record(6, noisy), record(7, noisy)}));
  };
  std::vector<Verdict> v = verdicts(0.8, 0.7, 0.8, 0.78);
  ASSERT_EQ(v.size(), 4u);  // two findings, float and chip
  EXPECT_EQ(v[0].verdict, "reproduced");
  EXPECT_EQ(v[1].verdict, "reproduced");
  EXPECT_FALSE(v[0].chip);
  EXPECT_TRUE(v[2].chip);
  v = verdicts(0.8, 0.785, 0.8, 0.76);
  EXPECT_EQ(v[0].verdict, "partly");
  EXPECT_EQ(v[1].verdict, "partly");
  v = verdicts(0.8, 0.8, 0.8, 0.7);
  EXPECT_EQ(v[0].verdict, "not reproduced");
  EXPECT_EQ(v[1].verdict, "not reproduced");
  EXPECT_NE(v[1].why.find("+10.0 [+10.0, +10.0] points"), std::string::npos) << v[1].why;
}

// Settings share their bootstraps' draws: a difference is taken bootstrap by bootstrap, so a constant
// gap has no spread however much the draws themselves differ.
TEST(Summary, DifferencesArePaired) {
  const StudySpec spec = spec_of("{old_data: {lambda: [0.5, 1]}}");
  const std::vector<SettingSummary> s = summarize(spec, {record(0, 0.8), record(1, 0.6), record(2, 0.7), record(3, 0.5)});
  EXPECT_GT(s[0].final_accuracy.hi - s[0].final_accuracy.lo, 0.5) << "two draws 20 points apart";
  const Interval d = paired_difference(s[0], s[1], false);
  EXPECT_NEAR(d.mean, 0.1, 1e-12);
  EXPECT_NEAR(d.lo, 0.1, 1e-12);
  EXPECT_NEAR(d.hi, 0.1, 1e-12);
  EXPECT_EQ(d.n, 2);
}

// Iterations: fewer epochs hold within a point of the most, a tenth of an epoch does not, and the
// constant of the update set's size (100 images) holds.
TEST(Summary, TheIterationsVerdictHasThreeParts) {
  const StudySpec spec = spec_of("{iterations: {epochs: [0.1, 0.5, 4], constant: [100]}}");
  auto verdict = [&](double tenth, double half, double most, double constant) {
    std::vector<nlohmann::json> r;
    for (double a : {tenth, half, most, constant}) r.push_back(record(r.size(), a)), r.push_back(record(r.size(), a));
    return judge(spec, summarize(spec, r)).front();
  };
  EXPECT_EQ(verdict(0.7, 0.795, 0.8, 0.792).verdict, "reproduced");
  EXPECT_EQ(verdict(0.795, 0.795, 0.8, 0.792).verdict, "partly") << "a tenth of an epoch holds too";
  EXPECT_EQ(verdict(0.7, 0.75, 0.8, 0.792).verdict, "partly") << "half an epoch does not hold";
  EXPECT_EQ(verdict(0.8, 0.75, 0.8, 0.7).verdict, "not reproduced");
  EXPECT_EQ(verdict(0.7, 0.75, 0.8, 0.7).verdict, "not reproduced") << "only the tenth of an epoch falls short";
  EXPECT_NE(verdict(0.7, 0.795, 0.8, 0.792).why.find("80.0% with epochs 4 (the reference)"), std::string::npos);
}

}  // namespace
}  // namespace tpu::continual
