// tpusim train continual: a continual fine-tuning study from its YAML file
// (tools/continual/study.h), its runs through the task pool, on this machine
// or as a Slurm job array.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <tuple>

#include "tools/cli/commands.h"
#include "tools/cli/runner_options.h"
#include "tools/continual/study_runner.h"
#include "tools/sweep/runner.h"
#include "tools/train/fashion_mnist.h"

namespace tpu::cli {

namespace {

struct ContinualArgs : RunnerArgs {
  std::string file, data = train::kFashionMnistDir;
};

void run(const ContinualArgs& args) {
  const continual::StudySpec spec = continual::load_study(args.file);
  const std::string out = args.out.empty() ? "build/studies/" + spec.name : args.out;
  check_backend(args);
  if (args.backend == "slurm") {
    sweep::SlurmOptions so = args.slurm;
    so.out_dir = out;
    const sweep::SlurmSubmission sub = continual::submit_study_slurm(spec, so, args.data);
    if (sub.missing == 0)
      std::cout << "study " << spec.name << ": nothing missing in " << out << "\n";
    else
      std::cout << "study " << spec.name << ": " << sub.missing << " runs submitted as job array " << sub.array_job
                << ", results by job " << sub.aggregate_job << (so.wait ? " (done)" : "") << " into " << out << "\n";
    if (!so.wait && sub.missing > 0) return;
  }
  continual::StudyRunOptions o;
  o.out_dir = out;
  o.data = args.data;
  o.jobs = args.jobs > 0 ? args.jobs : sweep::default_jobs();
  o.progress = !args.quiet;
  std::tie(o.shard, o.shards) = parse_shard(args.shard);
  o.runs_file = args.runs;
  o.aggregate_only = args.aggregate_only || args.backend == "slurm";
  const auto t0 = std::chrono::steady_clock::now();
  const sweep::PoolOutcome r = continual::run_study_local(spec, o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.shards > 1 || !o.runs_file.empty()) return;  // a part of the study: the results come with the whole
  if (r.missing > 0)
    throw std::runtime_error("study " + spec.name + ": " + std::to_string(r.missing) + " of " + std::to_string(r.runs) +
                             " runs have no record in " + out + "; rerun the study to run them");
  std::cout << "study " << spec.name << ": " << r.runs << " runs (" << r.ran << " run now, " << r.reused
            << " done before), " << r.failed << " failed; results in " << out << "/results.csv\n";
  if (r.ran > 0 && !o.aggregate_only) {
    char rate[96];
    std::snprintf(rate, sizeof rate, "%.1f s for %llu runs with %d jobs\n", seconds, static_cast<unsigned long long>(r.ran),
                  o.jobs);
    std::cout << rate;
  }
  if (r.failed > 0) throw CommandExit{3};
}

}  // namespace

CLI::App* add_continual_command(CLI::App& train) {
  auto args = std::make_shared<ContinualArgs>();
  CLI::App* cmd = train.add_subcommand(
      "continual", "Run a continual fine-tuning study (configs/continual/*.yaml; tools/continual/study.h lists its keys)");
  cmd->add_option("study", args->file, "Study file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data, "Fashion-MNIST's directory (Debian's dataset-fashion-mnist)");
  add_runner_options(cmd, *args, "Results directory (default: build/studies/NAME); a rerun resumes it");
  cmd->callback([args] { run(*args); });
  return cmd;
}

}  // namespace tpu::cli
