#pragma once

// A continual study's results summarised per setting, over its bootstraps:
// each figure's mean with a 95% confidence interval (Student's t, n - 1
// degrees of freedom), per update step and at the end.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/continual/study.h"

namespace tpu::continual {

struct Interval {
  double mean = 0, lo = 0, hi = 0;  // lo = hi = mean for one value
  int64_t n = 0;
};
// The mean of `v` and its 95% confidence interval.
Interval interval(const std::vector<double>& v);

struct SettingSummary {
  Setting setting;
  double x = 0;  // the swept value: epochs, constant iterations, lambda or noise
  std::vector<Interval> accuracy, chip_accuracy;  // per step (0: the initial model)
  std::vector<Interval> compressed_accuracy;     // per step, a compressed study's shared weights in float (else empty)
  Interval final_accuracy, final_chip_accuracy, final_compressed_accuracy;
  std::vector<double> finals, chip_finals;       // the final accuracies by bootstrap (for paired differences)
  Interval forgetting, chip_forgetting, backward_transfer, chip_backward_transfer;
  // Per update (steps 1..), the mean over a run's updates:
  Interval iterations, training_macs, changed_weight_bytes, uploaded_bytes, upload_us;
  Interval latency_us, energy_uj, dynamic_uj;  // per batch and per image (all, and of it dynamic), on the chip
  std::vector<double> class_forgetting;  // per Fashion-MNIST class, the mean over runs that learned it early
  // The final accuracy over the classes known from the start and over those updates brought (each run's
  // mean over its outputs; n = 0 when no update brought one), float and on the chip.
  struct ClassGroups {
    Interval initial, added;
  };
  ClassGroups groups, chip_groups;
};

// Per setting of `spec`, from the records of results.jsonl (study_runner.h); throws
// std::runtime_error for a record that failed or is missing.
std::vector<SettingSummary> summarize(const StudySpec& spec, const std::vector<nlohmann::json>& records);

}  // namespace tpu::continual
