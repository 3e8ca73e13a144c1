// tpusim sweep: a design-space sweep from its YAML file (tools/sweep/sweep_spec.h).

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>
#include <tuple>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/cli/commands.h"
#include "tools/cli/runner_options.h"
#include "tools/compiler/lower.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/slurm.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::cli {

namespace {

struct SweepArgs : RunnerArgs {
  std::string file;
  bool dry_run = false;
};

// The chip configuration of a point: the base with the point's values set, checked as any configuration is.
std::string point_problem(const sweep::SweepSpec& spec, const sweep::Point& p) {
  try {
    sweep::point_params(spec, p);
    return {};
  } catch (const sim::ConfigError& e) {
    return e.what();
  } catch (const sweep::SweepError& e) {  // a table another axis chose lacks an entry
    return e.what();
  }
}

std::string describe(const sweep::Point& p) {
  std::string s;
  for (const auto& [key, value] : p.values) s += (s.empty() ? "" : ", ") + key + "=" + value;
  return s.empty() ? "(the base configuration)" : s;
}

void dry_run(const sweep::SweepSpec& spec, const std::string& out) {
  const std::vector<sweep::Point> points = sweep::expand(spec);
  const uint64_t before = sweep::product_size(spec);
  std::cout << "sweep " << spec.name << " (" << spec.path << "): " << points.size() << " points";
  if (before != points.size()) std::cout << " (" << before - points.size() << " of " << before << " dropped by constraints)";
  std::cout << " x " << spec.workloads.size() << " workload" << (spec.workloads.size() == 1 ? "" : "s") << " = "
            << points.size() * spec.workloads.size() << " runs, " << (spec.timing_only ? "timing only" : "with values")
            << ", on " << spec.config << "\n";
  size_t invalid = 0;
  for (const sweep::Point& p : points) {
    const std::string problem = point_problem(spec, p);
    if (p.index < 5 || !problem.empty())
      std::cout << "  point " << p.index << ": " << describe(p) << (problem.empty() ? "" : "\n    invalid: " + problem)
                << "\n";
    invalid += !problem.empty();
  }
  if (points.size() > 5) std::cout << "  ...\n";
  if (invalid > 0) std::cout << invalid << " point" << (invalid == 1 ? "" : "s") << " would fail their configuration check\n";
  // The work: programs to compile (one per workload and distinct compiler target; points that differ
  // only in what the compiler does not read share one) and runs not yet recorded in the results directory.
  std::set<std::string> targets;
  for (const sweep::Point& p : points) {
    try {
      targets.insert(compiler::CompileTarget::of(sweep::point_params(spec, p)).key());
    } catch (const sim::ConfigError&) {
    } catch (const sweep::SweepError&) {  // listed above as invalid
    }
  }
  const uint64_t runs = points.size() * spec.workloads.size();
  const uint64_t todo =
      std::filesystem::exists(out + "/sweep.json") ? sweep::missing_runs(spec, points, out).size() : runs;
  std::cout << "work: " << targets.size() * spec.workloads.size() << " program" << (targets.size() * spec.workloads.size() == 1 ? "" : "s")
            << " to compile (" << targets.size() << " compiler target" << (targets.size() == 1 ? "" : "s") << " x "
            << spec.workloads.size() << " workload" << (spec.workloads.size() == 1 ? "" : "s") << ", fewer if cached), "
            << todo << " of " << runs << " runs to simulate (" << runs - todo << " already in " << out << ")\n";
}

void run(const SweepArgs& args) {
  const sweep::SweepSpec spec = sweep::load_sweep(args.file);
  const std::string out = args.out.empty() ? "build/sweeps/" + spec.name : args.out;
  if (args.dry_run) return dry_run(spec, out);
  check_backend(args);
  if (args.backend == "slurm") {
    sweep::SlurmOptions so = args.slurm;
    so.out_dir = out;
    const sweep::SlurmSubmission sub = sweep::submit_slurm(spec, so);
    if (sub.missing == 0) {
      std::cout << "sweep " << spec.name << ": nothing missing in " << out << "\n";
    } else {
      std::cout << "sweep " << spec.name << ": " << sub.missing << " runs submitted as job array " << sub.array_job
                << ", results by job " << sub.aggregate_job << (so.wait ? " (done)" : "") << " into " << out << "\n";
    }
    if (!so.wait && sub.missing > 0) return;
  }
  const bool aggregate_only = args.aggregate_only || args.backend == "slurm";
  sweep::LocalRunOptions o;
  o.out_dir = out;
  o.jobs = args.jobs > 0 ? args.jobs : sweep::default_jobs();
  o.progress = !args.quiet;
  std::tie(o.shard, o.shards) = parse_shard(args.shard);
  o.aggregate_only = aggregate_only;
  o.runs_file = args.runs;
  const auto t0 = std::chrono::steady_clock::now();
  const sweep::SweepOutcome r = sweep::run_local(spec, sweep::expand(spec), o);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.shards > 1 || !o.runs_file.empty()) return;  // a part of the sweep: the results come with the whole
  if (r.missing > 0)
    throw std::runtime_error("sweep " + spec.name + ": " + std::to_string(r.missing) + " of " + std::to_string(r.runs) +
                             " runs have no record in " + out + (args.backend == "slurm" ? " (see " + out + "/slurm/shard-*.out)" : "") +
                             "; rerun the sweep to run them");
  std::cout << "sweep " << spec.name << ": " << r.runs << " runs (" << r.ran << " run now, " << r.reused
            << " done before), " << r.failed << " failed; results in " << o.out_dir << "/results.csv\n";
  if (r.ran > 0 && !aggregate_only) {
    char rate[96];
    std::snprintf(rate, sizeof rate, "%.1f s for %llu runs, %.1f runs/s with %d jobs\n", seconds,
                  static_cast<unsigned long long>(r.ran), static_cast<double>(r.ran) / std::max(seconds, 1e-9), o.jobs);
    std::cout << rate;
  }
  if (r.failed > 0) throw CommandExit{3};
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand("sweep", "Run a design-space sweep described by a YAML file (configs/sweeps/)");
  cmd->add_option("file", args->file, "Sweep file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--dry-run", args->dry_run, "List the points (after constraints) and the runs, and run nothing");
  add_runner_options(cmd, *args, "Results directory (default: build/sweeps/NAME); a rerun resumes it");
  cmd->callback([args] { run(*args); });
}

}  // namespace tpu::cli
