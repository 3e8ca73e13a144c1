// tpusim sweep: a design-space sweep from its YAML file (tools/sweep/sweep_spec.h).

#include <unistd.h>

#include <iostream>
#include <memory>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/cli/commands.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::cli {

namespace {

struct SweepArgs {
  std::string file, out;
  int jobs = 0;
  bool dry_run = false, quiet = false;
};

// The chip configuration of a point: the base with the point's values set, checked as any configuration is.
std::string point_problem(const sweep::SweepSpec& spec, const sweep::Point& p) {
  try {
    sim::Config c = sim::Config::load(spec.config);
    for (const auto& [key, value] : p.values) c.set(key + "=" + value);
    sim::read_chip_params(c);
    return {};
  } catch (const sim::ConfigError& e) {
    return e.what();
  }
}

std::string describe(const sweep::Point& p) {
  std::string s;
  for (const auto& [key, value] : p.values) s += (s.empty() ? "" : ", ") + key + "=" + value;
  return s.empty() ? "(the base configuration)" : s;
}

void dry_run(const sweep::SweepSpec& spec) {
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
}

void run(const SweepArgs& args) {
  const sweep::SweepSpec spec = sweep::load_sweep(args.file);
  if (args.dry_run) return dry_run(spec);
  sweep::LocalRunOptions o;
  o.out_dir = args.out.empty() ? "build/sweeps/" + spec.name : args.out;
  o.jobs = args.jobs > 0 ? args.jobs : static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  o.progress = !args.quiet;
  const sweep::SweepOutcome r = sweep::run_local(spec, sweep::expand(spec), o);
  std::cout << "sweep " << spec.name << ": " << r.runs << " runs (" << r.ran << " run now, " << r.reused
            << " done before), " << r.failed << " failed; results in " << o.out_dir << "/results.csv\n";
  if (r.failed > 0) throw CommandExit{3};
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto args = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand("sweep", "Run a design-space sweep described by a YAML file (configs/sweeps/)");
  cmd->add_option("file", args->file, "Sweep file")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--dry-run", args->dry_run, "List the points (after constraints) and the runs, and run nothing");
  cmd->add_option("-j,--jobs", args->jobs, "Runs at once (default: the number of cores)")->check(CLI::Range(1, 4096));
  cmd->add_option("--out", args->out, "Results directory (default: build/sweeps/NAME); a rerun resumes it");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress lines");
  cmd->callback([args] { run(*args); });
}

}  // namespace tpu::cli
