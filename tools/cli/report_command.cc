// tpusim report tpu-v1: the TPU v1 validation report.

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include "isa/program.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/cli/commands.h"
#include "tools/report/tpu_v1_report.h"
#include "tools/sweep/sweep_report.h"

namespace tpu::cli {

namespace {
struct ReportArgs {
  std::string which, dir;
  std::string config = "configs/tpu_v1.yaml";
  std::string workloads = "workloads/tpu_v1";
  std::string output = "reports/tpu_v1_validation.md";
};
}  // namespace

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "Write a report (tpu-v1: the TPU v1 validation report; sweep DIR: a sweep's results, with charts)");
  cmd->add_option("report", args->which, "Which report: tpu-v1, or sweep DIR")->required()->check(
      CLI::IsMember({"tpu-v1", "sweep"}));
  cmd->add_option("dir", args->dir, "With sweep: the sweep's results directory")->check(CLI::ExistingDirectory);
  cmd->add_option("-c,--config", args->config, "Chip configuration")->check(CLI::ExistingFile);
  cmd->add_option("--workloads", args->workloads, "Folder of the applications' workloads")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--output", args->output, "Markdown to write; the roofline chart goes beside it");
  cmd->callback([args] {
    if (args->which == "sweep") {
      if (args->dir.empty()) throw std::invalid_argument("report sweep: give the sweep's results directory");
      const std::string written = sweep::write_sweep_report(args->dir);
      std::cout << "wrote " << written << "\n";
      return;
    }
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(args->config));
    std::vector<std::string> files;
    for (const char* app : {"mlp0", "mlp1", "lstm0", "lstm1", "cnn0", "cnn1"})
      files.push_back(args->workloads + "/" + app + ".yaml");
    const report::ValidationReport r = report::tpu_v1_report(files, chip, args->config);
    write_output(args->output, r.markdown);
    const std::filesystem::path charts = std::filesystem::path(args->output).parent_path() / "tpu_v1_validation";
    std::filesystem::create_directories(charts);
    report::draw(charts.string(), r.roofline);
    std::cout << "wrote " << args->output << " and " << (charts / "roofline.svg").string() << "\n";
  });
}

}  // namespace tpu::cli
