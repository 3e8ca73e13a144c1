#pragma once

// Runs a sweep's points on this machine: every run (a point and a workload)
// in its own process (SystemC elaborates once per process), `jobs` at once.
// Each run writes its own record, atomically, to DIR/runs/; a run whose
// record exists is not run again, so a sweep killed at any moment resumes
// where it stopped (a run that crashed is run again). DIR/results.jsonl and DIR/results.csv are made from the
// records in point order, without wall times, so they are the same bytes
// whatever the number of jobs or the reruns.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {

struct LocalRunOptions {
  std::string out_dir;
  int jobs = 1;
  bool progress = true;  // a line per run on stderr (a bar on a terminal)
  // Shard `shard` of `shards`: only the runs whose position (point-major) is shard modulo shards, and
  // no results files (the run that completes the sweep writes them).
  int shard = 0, shards = 1;
  // Only the runs this file lists (their positions, one per line, as a Slurm submission writes the
  // runs it found missing); shards then split the list, so they share out only what is to do.
  std::string runs_file;
  // Run nothing: write the results files from the records there are (after a Slurm sweep).
  bool aggregate_only = false;
};

struct SweepOutcome {
  uint64_t runs = 0;     // points x workloads
  uint64_t reused = 0;   // found done in DIR
  uint64_t ran = 0;
  uint64_t failed = 0;   // of all runs, with their reasons in the records
  uint64_t missing = 0;  // without a record (aggregate_only)
};

// Throws SweepError when DIR holds another sweep's results.
SweepOutcome run_local(const SweepSpec& spec, const std::vector<Point>& points, const LocalRunOptions& options);

// Makes DIR the results directory of this sweep, or throws SweepError when it holds another's;
// true when DIR did not exist before.
bool claim_directory(const SweepSpec& spec, const std::string& out_dir);

// A checked-in study's sweep run into its own results directory with `jobs` processes and no
// progress lines: resumed, or started afresh when the directory holds another definition's (or build's)
// results. Throws SweepError when a run failed: a study needs every run.
void run_study(const SweepSpec& spec, const std::vector<Point>& points, const std::string& out_dir, int jobs);

// The records of results.jsonl in DIR, in point order (empty when there are none).
std::vector<nlohmann::json> read_results(const std::string& out_dir);

// A figure of a run's JSON at a dotted path (it may be null), or nothing when the JSON has no such key.
std::optional<nlohmann::json> at_path(const nlohmann::json& j, const std::string& path);

// Runs at once when none is asked for: the number of cores.
int default_jobs();

// The positions (point-major) of the runs without a record in DIR (all of them for a new directory).
std::vector<size_t> missing_runs(const SweepSpec& spec, const std::vector<Point>& points, const std::string& out_dir);

}  // namespace tpu::sweep
