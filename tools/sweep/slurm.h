#pragma once

// The Slurm backend: the sweep's runs as a job array whose tasks each run a
// shard through the local code path (`tpusim sweep FILE --shard K/N`), and
// an aggregation job after the array (afterany) that writes the results files
// from the records (a run a task did not finish stays missing for a rerun). Only
// the runs without a record are submitted, listed in a runs file the tasks
// share out evenly (`--runs FILE --shard K/N`); a rerun submits what is missing,
// and is refused while an earlier submission's jobs (slurm/jobs.txt) are still
// queued or running, whose runs would otherwise run twice.

#include <string>
#include <vector>

#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {

struct SlurmOptions {
  std::string out_dir;
  std::string partition, time_limit, memory;  // passed to sbatch when given
  int tasks = 0;       // array tasks (0: one per missing run, at most 100)
  int at_once = 0;     // tasks running at once (%N), 0: no limit
  bool wait = false;   // until the aggregation job has finished
};

struct SlurmSubmission {
  std::string array_job, aggregate_job;  // job ids, empty when nothing was missing
  uint64_t missing = 0;
};

// Throws SweepError when sbatch is missing, fails or does not answer.
SlurmSubmission submit_slurm(const SweepSpec& spec, const SlurmOptions& options);

// Any set of runs as such an array: the positions of the runs without a record, and the command
// that runs a shard of them (the tasks append `--runs FILE --shard K/N`, the aggregation job
// `--aggregate-only`), its outputs and job list in DIR/slurm/.
struct ArrayJob {
  std::string name;     // the jobs are tpusim-NAME and tpusim-NAME-results
  std::string dir;      // absolute
  std::string command;  // quoted, as the shell reads it
  std::vector<size_t> missing;
};
SlurmSubmission submit_array(const ArrayJob& job, const SlurmOptions& options);

// A shell word, quoted ('...').
std::string shell_quote(const std::string& s);

// This process's executable, for the jobs to run.
std::string self_executable();

}  // namespace tpu::sweep
