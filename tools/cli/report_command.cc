// tpusim report tpu-v1: the TPU v1 validation report.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include "isa/program.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/cli/commands.h"
#include "tools/continual/continual_report.h"
#include "tools/report/tpu_v1_report.h"
#include "tools/sweep/eie_report.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/sensitivity_report.h"
#include "tools/sweep/sweep_spec.h"
#include "tools/sweep/sweep_report.h"
#include "tools/train/dc_report.h"
#include "tools/train/gemm.h"

namespace tpu::cli {

namespace {
struct ReportArgs {
  std::string which, dir;
  std::string config = "configs/tpu_v1.yaml";
  std::string workloads = "workloads/tpu_v1";
  std::string output;
  std::string sweep = "configs/sweeps/tpu_v1_sensitivity.yaml";
  int jobs = 0;
  bool no_run = false;
};
}  // namespace

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Write a report (tpu-v1: the TPU v1 validation report; tpu-v1-sensitivity: the TPU paper's Section 7 study; "
      "eie: the sparse engine against the EIE paper; deep-compression: training, Deep Compression and the chip's "
      "accuracy on Fashion-MNIST; continual: the continual fine-tuning study (configs/continual/lenet_300_100.yaml); "
      "sweep DIR: a sweep's results, with charts; study SWEEP.yaml: run a sweep and write reports/NAME.md)");
  cmd->add_option("report", args->which,
                  "Which report: tpu-v1, tpu-v1-sensitivity, eie, deep-compression, continual, sweep DIR, or study SWEEP.yaml")
      ->required()
      ->check(CLI::IsMember({"tpu-v1", "tpu-v1-sensitivity", "eie", "deep-compression", "continual", "sweep", "study"}));
  cmd->add_option("dir", args->dir, "With sweep: the sweep's results directory; with study: the sweep file; with continual: the study file "
                  "(default configs/continual/lenet_300_100.yaml and its compressed twins; a study given is reported alone)")
      ->check(CLI::ExistingPath);
  cmd->add_option("-c,--config", args->config, "Chip configuration")->check(CLI::ExistingFile);
  cmd->add_option("--workloads", args->workloads, "Folder of the applications' workloads")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--output", args->output,
                  "Markdown to write (default reports/tpu_v1_validation.md, reports/tpu_v1_sensitivity.md); its charts "
                  "go into a folder of its name beside it");
  cmd->add_option("--sweep", args->sweep, "With tpu-v1-sensitivity: the study's sweep file")->check(CLI::ExistingFile);
  cmd->add_option("-j,--jobs", args->jobs,
                  "With tpu-v1-sensitivity, eie, continual and study: runs at once; with deep-compression: threads of the matrix "
                  "products (default: the cores)")
      ->check(CLI::Range(1, 4096));
  cmd->add_flag("--no-run", args->no_run,
                 "With continual: write the report from the studies' results already in build/reports/continual/ "
                 "(after editing the report's text), running nothing");
  cmd->callback([args] {
    namespace fs = std::filesystem;
    const int jobs = args->jobs > 0 ? args->jobs : sweep::default_jobs();
    if (args->no_run && args->which != "continual") throw std::invalid_argument("--no-run applies to report continual only");
    if (args->which == "study") {
      if (args->dir.empty()) throw std::invalid_argument("report study: give the study's sweep file");
      if (!fs::is_regular_file(args->dir))
        throw std::invalid_argument("report study " + args->dir + ": not a sweep file (give configs/sweeps/NAME.yaml)");
      // Named in the report as typed but normalised (./configs/x.yaml reads configs/x.yaml).
      const std::string file = fs::path(args->dir).lexically_normal().generic_string();
      const sweep::SweepSpec spec = sweep::load_sweep(file);
      const std::string results = "build/studies/" + spec.name;
      sweep::run_study(spec, sweep::expand(spec), results, jobs);
      const std::string out = args->output.empty() ? "reports/" + spec.name + ".md" : args->output;
      sweep::write_sweep_report(results, {out, "", file, "tpusim report study " + file});
      std::cout << "wrote " << out << " and its charts in " << fs::path(out).replace_extension().string() << "/\n";
      return;
    }
    if (args->which == "tpu-v1-sensitivity") {
      const std::string out = args->output.empty() ? "reports/tpu_v1_sensitivity.md" : args->output;
      const fs::path charts = fs::path(out).replace_extension();
      const std::string file = fs::path(args->sweep).lexically_normal().generic_string();
      const sweep::SensitivityReport r = sweep::sensitivity_report(
          {file, file, "build/studies/tpu_v1_sensitivity", jobs, charts.filename().string()});
      fs::create_directories(charts);
      for (const report::Chart& c : r.charts) report::draw(charts.string(), c);
      write_output(out, r.markdown);
      std::cout << "wrote " << out << " and its charts in " << charts.string() << "/\n";
      return;
    }
    if (args->which == "eie") {
      const std::string out = args->output.empty() ? "reports/eie_validation.md" : args->output;
      const fs::path charts = fs::path(out).replace_extension();
      sweep::EieOptions o;
      o.jobs = jobs;
      o.charts_folder = charts.filename().string();
      const sweep::EieReport r = sweep::eie_report(o);
      fs::create_directories(charts);
      for (const report::Chart& c : r.charts) report::draw(charts.string(), c);
      write_output(out, r.markdown);
      std::cout << "wrote " << out << " and its charts in " << charts.string() << "/\n";
      return;
    }
    if (args->which == "continual") {
      const std::string out = args->output.empty() ? "reports/continual_learning.md" : args->output;
      const fs::path charts = fs::path(out).replace_extension();
      continual::ContinualReportOptions o;
      if (!args->dir.empty()) o.study = args->dir, o.compressed.clear();  // another study: reported alone
      o.charts_folder = charts.filename().string();
      o.jobs = jobs;
      o.run = !args->no_run;
      continual::ContinualReport r = continual::continual_report(o);
      fs::create_directories(charts);
      for (const report::Chart& c : r.charts) report::draw(charts.string(), c);
      // The runs' results beside the report, a file per study: its test rebuilds the report from them.
      for (const continual::StudyReport* st : r.all())
        write_output((charts / (st->spec.name + ".jsonl")).string(), isa::read_file(st->results_dir + "/results.jsonl"));
      write_output(out, r.markdown);
      std::cout << "wrote " << out << ", its charts and the runs' results (NAME.jsonl a study) in " << charts.string() << "/\n";
      return;
    }
    if (args->which == "deep-compression") {
      const std::string out = args->output.empty() ? "reports/deep_compression.md" : args->output;
      const fs::path charts = fs::path(out).replace_extension();
      train::DcReportOptions o;
      o.charts_folder = charts.filename().string();
      train::set_gemm_threads(jobs);  // the same bits for any number
      const train::DcReport r = train::deep_compression_report(o);
      fs::create_directories(charts);
      for (const report::Chart& c : r.charts) report::draw(charts.string(), c);
      for (const train::DcNetwork& n : r.networks) {
        write_output_bytes((charts / (n.name + ".dcz")).string(), n.table.huffman_file);
        if (!n.pruned_file.empty()) write_output_bytes((charts / (n.name + "_pruned.dcz")).string(), n.pruned_file);
      }
      write_output(out, r.markdown);
      std::cout << "wrote " << out << ", its charts and packed weights in " << charts.string() << "/\n";
      return;
    }
    if (args->which == "sweep") {
      if (args->dir.empty()) throw std::invalid_argument("report sweep: give the sweep's results directory");
      if (!fs::is_directory(args->dir))
        throw std::invalid_argument("report sweep " + args->dir +
                                    ": not a results directory (give the --out of a tpusim sweep; for a sweep file, "
                                    "tpusim report study FILE)");
      const std::string written = sweep::write_sweep_report(args->dir);
      std::cout << "wrote " << written << "\n";
      return;
    }
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(args->config));
    std::vector<std::string> files;
    for (const char* app : {"mlp0", "mlp1", "lstm0", "lstm1", "cnn0", "cnn1"})
      files.push_back(args->workloads + "/" + app + ".yaml");
    const report::ValidationReport r = report::tpu_v1_report(files, chip, args->config);
    const std::string output = args->output.empty() ? "reports/tpu_v1_validation.md" : args->output;
    write_output(output, r.markdown);
    const fs::path charts = fs::path(output).replace_extension();
    std::filesystem::create_directories(charts);
    report::draw(charts.string(), r.roofline);
    std::cout << "wrote " << output << " and " << (charts / "roofline.svg").string() << "\n";
  });
}

}  // namespace tpu::cli
