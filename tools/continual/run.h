#pragma once

// One run of a continual study (study.h): a setting on one bootstrap's draws.
// The initial model, then each update fine-tuned, measured in float and
// deployed on the chip (deploy.h); the accuracy matrices and what follows
// from them.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/base/params.h"
#include "tools/continual/deploy.h"
#include "tools/continual/metrics.h"
#include "tools/continual/stream.h"
#include "tools/continual/update.h"

namespace tpu::continual {

struct StepRecord {
  int64_t step = 0;          // 0: the initial model
  int64_t classes = 0;       // outputs known
  int64_t training_set = 0;  // images known, the step's update set included
  UpdateLog update;          // (none for step 0)
  double accuracy = 0;       // float, on the test images of the known classes
  std::vector<double> per_class;
  double compressed_accuracy = -1;  // float, with the weights the deployment shares (-1: not compressed)
  Deployment chip;
};

struct RunResult {
  std::vector<int> classes;  // Fashion-MNIST's class of each output (Stream::classes)
  std::vector<StepRecord> steps;
  AccuracyMatrix float_matrix, chip_matrix;
};

// The initial model of a bootstrap: the study's model trained on the stream's initial images
// (weights and shuffling from the bootstrap's seed), with as many outputs as initial classes.
train::Network initial_model(const StudySpec& spec, const std::string& scenario, int64_t bootstrap, const Stream& stream);

// The float network's class for each image (argmax, ties to the lower output, as the chip's).
std::vector<uint8_t> predict(train::Network& net, const train::Dataset& data);

// Runs `point` from `initial` (initial_model's), deploying each step on `chip` in `work_dir` (with
// the chip's measurements kept in `cache_dir`, when given: deploy()).
RunResult run_point(const StudySpec& spec, const StudyPoint& point, const Stream& stream, train::Network initial,
                    const train::Dataset& test, const sim::ChipParams& chip, const std::string& work_dir,
                    const std::string& cache_dir = "");

// The run's record: every figure that the inputs fix (wall times apart, under "wall").
nlohmann::json to_json(const StudySpec& spec, const StudyPoint& point, const RunResult& r);

}  // namespace tpu::continual
