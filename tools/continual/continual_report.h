#pragma once

// The continual fine-tuning report (`tpusim report continual` ->
// reports/continual_learning.md): the study of configs/continual/ run through
// the study runner, summarised per setting over its bootstraps, each of
// Käding et al.'s three findings judged by stated rules from the float model's
// accuracy and again from the chip's, with the charts and what each update
// costs to ship.

#include <string>
#include <vector>

#include "tools/continual/summary.h"
#include "tools/report/plot.h"
#include "tools/train/fashion_mnist.h"

namespace tpu::continual {

struct ContinualReportOptions {
  std::string study = "configs/continual/lenet_300_100.yaml";
  // The same questions on a compressed model, a study per codebook rule (study.h, compress:).
  std::vector<std::string> compressed = {"configs/continual/lenet_300_100_recluster.yaml",
                                         "configs/continual/lenet_300_100_frozen.yaml"};
  // The study's results directory (default build/reports/continual/NAME, the report's own: a study
  // there of another definition or build is removed and run afresh; the compressed ones' always).
  std::string results;
  std::string data = train::kFashionMnistDir;
  std::string charts_folder = "continual_learning";
  int jobs = 2;
  bool run = true;  // run (or resume) the study first; false: report the results there are
};

struct Verdict {
  std::string finding;   // as the seed states it
  std::string scenario;
  bool chip = false;     // judged from the chip's accuracy (else the float model's)
  std::string verdict;   // reproduced, partly, not reproduced, not measured
  std::string why;       // the numbers against the rule
};

struct StudyReport {
  StudySpec spec;
  std::string results_dir;  // where the study's results are
  std::vector<SettingSummary> settings;
  std::vector<Verdict> verdicts;
};

struct ContinualReport {
  StudyReport study;
  std::vector<StudyReport> compressed;
  std::vector<const StudyReport*> all() const;  // the study, then the compressed ones
  std::vector<report::Chart> charts;
  std::string markdown;
};

ContinualReport continual_report(const ContinualReportOptions& options);

// A study's summaries and verdicts from its records (results.jsonl).
StudyReport study_report(const StudySpec& spec, const std::vector<nlohmann::json>& records);

// The mean and interval of the differences a - b of two settings' final accuracies, bootstrap by
// bootstrap (every setting runs on the same draws).
Interval paired_difference(const SettingSummary& a, const SettingSummary& b, bool chip);

// The iterations experiment's setting of the most epochs in a scenario (the reference), or null.
const SettingSummary* most_trained(const std::vector<SettingSummary>& settings, const std::string& scenario);

// The verdicts and the text from summaries already made (continual_report's second half).
std::vector<Verdict> judge(const StudySpec& spec, const std::vector<SettingSummary>& settings);
void write_continual_text(const ContinualReportOptions& options, ContinualReport& report);

}  // namespace tpu::continual
