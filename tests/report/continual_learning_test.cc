// The checked-in continual fine-tuning report (reports/continual_learning.md)
// against what can be made again without running the whole studies: the
// report is rebuilt from the runs' results checked in beside it
// (reports/continual_learning/NAME.jsonl, a file per study); runs of each
// study are run again from scratch and must give the same records; and the
// figures hold against independent derivations within stated tolerances: the
// chip's int8 accuracy within 3.5 points of the float model it runs (the
// dense model, or the compressed model's shared weights) at every step and
// within 0.4 points on average (int8 calibrated on 256 images), the
// upload time the uploaded bytes and the upload program's words at the host
// link's bandwidth plus two latencies (within 20 ns), the initial model's
// accuracy, and the noise finding's figures derived from the records alone.

#include <gtest/gtest.h>

#include <boost/math/distributions/students_t.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>

#include "isa/program.h"
#include "isa/word.h"
#include "sim/base/config.h"
#include "tools/continual/continual_report.h"
#include "tools/continual/run.h"
#include "tools/continual/study_runner.h"

namespace tpu::continual {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

struct CheckedIn {
  StudySpec spec;
  std::vector<nlohmann::json> records;
};

const std::vector<CheckedIn>& checked_in() {
  static const std::vector<CheckedIn> all = [] {
    std::vector<CheckedIn> v;
    const ContinualReportOptions o;
    std::vector<std::string> files = {o.study};
    files.insert(files.end(), o.compressed.begin(), o.compressed.end());
    for (const std::string& file : files) {
      CheckedIn c;
      c.spec = load_study(kSrc + "/" + file);
      std::istringstream lines(isa::read_file(kSrc + "/reports/continual_learning/" + c.spec.name + ".jsonl"));
      for (std::string line; std::getline(lines, line);) c.records.push_back(nlohmann::json::parse(line));
      v.push_back(std::move(c));
    }
    return v;
  }();
  return all;
}

const std::string& markdown() {
  static const std::string md = isa::read_file(kSrc + "/reports/continual_learning.md");
  return md;
}

TEST(ContinualReport, FollowsFromItsResults) {
  const std::vector<CheckedIn>& c = checked_in();
  ContinualReport r;
  r.study = study_report(c[0].spec, c[0].records);
  for (size_t i = 1; i < c.size(); ++i) r.compressed.push_back(study_report(c[i].spec, c[i].records));
  ContinualReportOptions o;
  write_continual_text(o, r);
  EXPECT_EQ(r.markdown, markdown())
      << "reports/continual_learning.md is stale: run `build/tpusim report continual` and commit it";
}

// Runs made again from scratch: the same records, byte for byte (wall times aside): the first run of
// each study, and the dense study's last growing_data run.
TEST(ContinualReport, ItsRunsAreMadeAgain) {
  const train::Dataset train = train::load_fashion_mnist(train::Split::kTrain);
  const train::Dataset test = train::load_fashion_mnist(train::Split::kTest);
  const std::string work = testing::TempDir() + "continual_again_" + std::to_string(getpid());
  for (const CheckedIn& c : checked_in()) {
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(c.spec.deploy.chip));
    const std::vector<StudyPoint> points = study_points(c.spec);
    std::vector<size_t> again = {0};  // and the last growing_data run of the dense study
    for (size_t i = points.size(); !c.spec.compress.on() && i-- > 0;)
      if (c.spec.settings[points[i].setting].scenario == "growing_data") {
        again.push_back(i);
        break;
      }
    for (const size_t i : again) {
      const StudyPoint& p = points[i];
      const Setting& s = c.spec.settings[p.setting];
      const Stream stream = draw_stream(c.spec, s.scenario, p.bootstrap, train);
      const RunResult run = run_point(c.spec, p, stream, initial_model(c.spec, s.scenario, p.bootstrap, stream), test,
                                      chip, work + "/" + c.spec.name + "-p" + std::to_string(i));
      nlohmann::json rec = to_json(c.spec, p, run);
      rec.erase("wall");
      rec["status"] = "done";
      rec["exit_status"] = 0;
      EXPECT_EQ(rec.dump(), c.records.at(i).dump()) << c.spec.name << " run " << i << " (" << s.label() << ")";
    }
  }
  std::filesystem::remove_all(work);
}

TEST(ContinualReport, ItsFiguresHoldAgainstIndependentDerivations) {
  for (const CheckedIn& c : checked_in()) {
    SCOPED_TRACE(c.spec.name);
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(c.spec.deploy.chip));
    const double bytes_per_us = chip.host_interface.bandwidth_gb_s * 1e3,
                 latency_us = chip.host_interface.latency_ns / 1e3;
    ASSERT_EQ(c.records.size(), study_points(c.spec).size());
    double gap = 0;  // |on the chip - the float model it runs|, summed over every deployment
    size_t deployments = 0;
    for (const nlohmann::json& rec : c.records) {
      for (const nlohmann::json& s : rec["steps"]) {
        const double runs = c.spec.compress.on() ? s["compressed_accuracy"] : s["accuracy"],
                     on_chip = s["chip"]["accuracy"];
        EXPECT_NEAR(on_chip, runs, 0.035) << "run " << rec["point"] << " step " << s["step"];
        gap += std::abs(on_chip - runs), ++deployments;
        // The upload program's words and its data share the host link: every byte at its bandwidth, the
        // first word's latency before the first ldw issues and the last packet's after it.
        const double uploaded = s["chip"]["uploaded_bytes"], upload = s["chip"]["upload_us"];
        const double words = s["chip"]["upload_transfers"].get<double>() + 1;  // and the halt
        const double derived = (uploaded + words * isa::kWordBytes) / bytes_per_us + 2 * latency_us;
        EXPECT_NEAR(upload, derived, 0.02) << "run " << rec["point"] << " step " << s["step"];
        EXPECT_LE(s["chip"]["changed_weight_bytes"].get<double>(), uploaded);
      }
      if (rec["scenario"] == "new_classes") {
        const double initial = rec["steps"][0]["accuracy"];
        EXPECT_GT(initial, 0.85) << "5 classes after 20 epochs";
      }
    }
    EXPECT_LT(gap / double(deployments), 0.004) << "int8 costs under 0.4 points on average";
    // The noise finding's figures, from the records alone: the mean over bootstraps of the final accuracy
    // without noise less that with 10%, with its Student's t interval, float and on the chip, as the
    // study's own findings table states them.
    const std::string& md = markdown();
    const size_t from = c.spec.compress.on() ? md.find("### " + c.spec.compress.codebooks + " codebooks")
                                             : md.find("## The findings");
    ASSERT_NE(from, std::string::npos);
    const std::string findings = md.substr(from, md.find(c.spec.compress.on() ? "\n### " : "\n## ", from + 1) - from);
    for (const bool chip : {false, true}) {
      std::map<std::string, std::map<int64_t, double>> finals;  // setting -> bootstrap -> final accuracy
      for (const nlohmann::json& rec : c.records)
        if (rec["scenario"] == "new_classes" && rec["experiment"] == "label_noise") {
          const nlohmann::json& last = rec["steps"].back();
          finals[rec["setting"]][rec["bootstrap"]] = chip ? last["chip"]["accuracy"] : last["accuracy"];
        }
      ASSERT_TRUE(finals.count("noise 0") && finals.count("noise 0.1"));
      std::vector<double> d;
      for (const auto& [b, clean] : finals["noise 0"]) d.push_back(clean - finals["noise 0.1"].at(b));
      const double n = double(d.size()), mean = std::accumulate(d.begin(), d.end(), 0.0) / n;
      double ss = 0;
      for (double x : d) ss += (x - mean) * (x - mean);
      const double half = boost::math::quantile(boost::math::complement(boost::math::students_t(n - 1), 0.025)) *
                          std::sqrt(ss / (n - 1) / n);
      char said[96];
      std::snprintf(said, sizeof said, "with 10%%: %+.1f [%+.1f, %+.1f] points", 100 * mean, 100 * (mean - half),
                    100 * (mean + half));
      EXPECT_NE(findings.find(said), std::string::npos) << said << (chip ? " on the chip" : "");
    }
  }
}

}  // namespace
}  // namespace tpu::continual
