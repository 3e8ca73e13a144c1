#include "tools/cli/runner_options.h"

#include <stdexcept>

namespace tpu::cli {

void add_runner_options(CLI::App* cmd, RunnerArgs& args, const std::string& out_help) {
  cmd->add_option("-j,--jobs", args.jobs, "Runs at once (default: the number of cores)")->check(CLI::Range(1, 4096));
  cmd->add_option("--out", args.out, out_help);
  cmd->add_flag("-q,--quiet", args.quiet, "No progress lines");
  cmd->add_option("--backend", args.backend, "local: on this machine; slurm: a job array on a Slurm cluster")
      ->check(CLI::IsMember({"local", "slurm"}));
  cmd->add_option("--shard", args.shard, "Run only shard K of N (K/N): what each Slurm array task runs");
  cmd->add_option("--runs", args.runs,
                  "Run only the runs this file lists (positions, one per line; a Slurm submission writes it), "
                  "split by --shard");
  cmd->add_option("--partition", args.slurm.partition, "Slurm partition");
  cmd->add_option("--time", args.slurm.time_limit, "Slurm time limit per task (as sbatch --time)");
  cmd->add_option("--mem", args.slurm.memory, "Slurm memory per task (as sbatch --mem)");
  cmd->add_option("--tasks", args.slurm.tasks, "Slurm array tasks (default: one per missing run, at most 100)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--at-once", args.slurm.at_once, "Slurm array tasks running at once")->check(CLI::Range(1, 100000));
  cmd->add_flag("--wait", args.slurm.wait, "With --backend slurm: wait for the results");
  cmd->add_flag("--aggregate-only", args.aggregate_only,
                "Run nothing: write the results files from the runs recorded (what a Slurm submission's last job does)");
}

std::pair<int, int> parse_shard(const std::string& shard) {
  if (shard.empty()) return {0, 1};
  const size_t slash = shard.find('/');
  int k = 0, n = 0;
  try {
    k = std::stoi(shard.substr(0, slash));
    n = std::stoi(shard.substr(slash + 1));
  } catch (const std::exception&) {
    n = 0;
  }
  if (slash == std::string::npos || n < 1 || k < 0 || k >= n)
    throw std::invalid_argument("--shard " + shard + ": expected K/N with 0 <= K < N");
  return {k, n};
}

void check_backend(const RunnerArgs& args) {
  if (args.backend == "slurm" && (!args.shard.empty() || !args.runs.empty()))
    throw std::invalid_argument("--backend slurm makes its own shards: --shard and --runs go with the local backend");
}

}  // namespace tpu::cli
