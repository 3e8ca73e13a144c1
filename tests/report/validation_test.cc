// The checked-in TPU v1 validation report is what a fresh run produces.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "sim/base/config.h"
#include "tools/compiler/graph.h"
#include "tools/report/tpu_v1_report.h"
#include "tools/report/workload.h"

namespace tpu::report {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST(ValidationReport, CheckedInCopyMatchesAFreshRun) {
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(kSrc + "/configs/tpu_v1.yaml"));
  std::vector<std::string> files;
  for (const char* app : {"mlp0", "mlp1", "lstm0", "lstm1", "cnn0", "cnn1"})
    files.push_back(kSrc + "/workloads/tpu_v1/" + app + ".yaml");
  const ValidationReport r = tpu_v1_report(files, chip, "configs/tpu_v1.yaml");
  EXPECT_TRUE(r.markdown == read(kSrc + "/reports/tpu_v1_validation.md"))
      << "reports/tpu_v1_validation.md is stale: run `build/tpusim report tpu-v1` and commit it";
  EXPECT_TRUE(r.roofline_svg == read(kSrc + "/reports/tpu_v1_roofline.svg"));
  EXPECT_NE(r.markdown.find("| MLP0 | 200 |"), std::string::npos);
}

TEST(Workload, MistakesNameTheFileAndKey) {
  const std::string path = testing::TempDir() + "bad_workload.yaml";
  std::ofstream(path) << "model: x.yaml\nbatchsize: 3\n";
  try {
    load_workload(path);
    FAIL();
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2: unknown key 'batchsize'"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "batch: 3\n";
  EXPECT_THROW(load_workload(path), compiler::ModelError);
}

}  // namespace
}  // namespace tpu::report
