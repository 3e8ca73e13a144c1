#pragma once

// The options every command that runs a set of runs through the task pool
// shares (tpusim sweep, tpusim train continual): jobs, the backend, a Slurm
// task's share, and the Slurm submission's settings.

#include <CLI/CLI.hpp>
#include <string>

#include "tools/sweep/slurm.h"

namespace tpu::cli {

struct RunnerArgs {
  std::string out, backend = "local", shard, runs;
  int jobs = 0;
  bool quiet = false, aggregate_only = false;
  sweep::SlurmOptions slurm;
};

// Adds -j, --out (described by `out_help`), -q, --backend, --shard, --runs, the Slurm options and
// --aggregate-only to `cmd`.
void add_runner_options(CLI::App* cmd, RunnerArgs& args, const std::string& out_help);

// --shard K/N as (K, N); throws std::invalid_argument otherwise. ("": 0 of 1.)
std::pair<int, int> parse_shard(const std::string& shard);

// Refuses --shard and --runs with --backend slurm (which makes its own).
void check_backend(const RunnerArgs& args);

}  // namespace tpu::cli
