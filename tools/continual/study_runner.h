#pragma once

// A continual study's runs (study.h's points) through the task pool of the
// sweep runner (tools/sweep/task_pool.h): each point in its own process, its
// record DIR/runs/pNNNNNN-HASH.json written atomically, so a study killed at
// any moment resumes where it stopped; DIR/results.jsonl (the records in point
// order without their wall times) and DIR/results.csv (a row per point and
// step) are the same bytes for any number of jobs. Each bootstrap's initial
// model is trained once, by the first point that needs it, and kept in
// DIR/initial/ for the others (the same bits whoever trains it).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/continual/study.h"
#include "tools/sweep/slurm.h"
#include "tools/sweep/task_pool.h"
#include "tools/train/fashion_mnist.h"

namespace tpu::continual {

struct StudyRunOptions {
  std::string out_dir;
  std::string data = train::kFashionMnistDir;
  int jobs = 1;
  bool progress = true;
  int shard = 0, shards = 1;  // as the sweep runner's (a Slurm task's share)
  std::string runs_file;
  bool aggregate_only = false;
};

// Makes DIR this study's results directory (DIR/study.json names it), or throws sweep::SweepError
// when it holds another study's (or another build's) results.
void claim_study_directory(const StudySpec& spec, const std::string& dir);

// Throws compiler::ModelError or sweep::SweepError (DIR holds another study's results).
sweep::PoolOutcome run_study_local(const StudySpec& spec, const StudyRunOptions& options);

// The points without a record in DIR, as a Slurm job array (tools/sweep/slurm.h).
sweep::SlurmSubmission submit_study_slurm(const StudySpec& spec, const sweep::SlurmOptions& options,
                                         const std::string& data = train::kFashionMnistDir);

// The records of DIR/results.jsonl in point order.
std::vector<nlohmann::json> read_study_results(const std::string& out_dir);

}  // namespace tpu::continual
