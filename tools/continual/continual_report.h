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

namespace tpu::continual {

struct ContinualReportOptions {
  std::string study = "configs/continual/lenet_300_100.yaml";
  std::string results;  // the study's results directory (default build/studies/NAME)
  std::string data = "/usr/share/datasets/fashion-mnist";
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

struct ContinualReport {
  StudySpec spec;
  std::vector<SettingSummary> settings;
  std::vector<Verdict> verdicts;
  std::vector<report::Chart> charts;
  std::string markdown;
};

ContinualReport continual_report(const ContinualReportOptions& options);

// The iterations experiment's setting of the most epochs in a scenario (the reference), or null.
const SettingSummary* most_trained(const std::vector<SettingSummary>& settings, const std::string& scenario);

// The verdicts and the text from summaries already made (continual_report's second half).
std::vector<Verdict> judge(const StudySpec& spec, const std::vector<SettingSummary>& settings);
void write_continual_text(const ContinualReportOptions& options, ContinualReport& report);

}  // namespace tpu::continual
