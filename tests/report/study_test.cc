// The checked-in array-shape study (configs/sweeps/array_shape.yaml ->
// reports/array_shape.md) is what a fresh run of its sweep produces, and its
// figures move as the design does.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/files.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/sweep_report.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {
namespace {

namespace fs = std::filesystem;
const std::string kSrc = TPUSIM_SOURCE_DIR;

TEST(ArrayShapeStudy, CheckedInReportMatchesAFreshRunAndFollowsTheDesign) {
  const fs::path dir = fs::path(testing::TempDir()) / ("tpusim_study_" + std::to_string(getpid()));
  const SweepSpec spec = load_sweep(kSrc + "/configs/sweeps/array_shape.yaml");
  run_study(spec, expand(spec), (dir / "results").string(), 2);
  fs::create_directories(dir / "reports");
  const std::string out = (dir / "reports" / "array_shape.md").string();
  write_sweep_report((dir / "results").string(), {out, "", "configs/sweeps/array_shape.yaml",
                                                  "tpusim report study configs/sweeps/array_shape.yaml"});
  EXPECT_TRUE(test::read_file(out) == test::read_file(kSrc + "/reports/array_shape.md"))
      << "reports/array_shape.md is stale: run `build/tpusim report study configs/sweeps/array_shape.yaml` and "
         "commit it";
  for (const auto& e : fs::directory_iterator(dir / "reports" / "array_shape")) {
    if (e.path().extension() != ".dat") continue;
    EXPECT_TRUE(test::read_file(e.path().string()) ==
                  test::read_file(kSrc + "/reports/array_shape/" + e.path().filename().string()))
        << e.path().filename() << " is stale";
  }

  // Independent of the checked-in copy: a bigger array has more area, more weight bandwidth never
  // makes a workload slower, and the Pareto front holds the smallest array (least area).
  std::map<std::string, nlohmann::json> by;  // "rows,cols,ub,bw,workload" -> metrics
  std::istringstream lines(test::read_file((dir / "results" / "results.jsonl").string()));
  for (std::string line; std::getline(lines, line);) {
    const auto r = nlohmann::json::parse(line);
    const auto& v = r["values"];
    by[v["matrix_unit.rows"].get<std::string>() + "," + v["matrix_unit.cols"].get<std::string>() + "," +
       v["unified_buffer.size_bytes"].get<std::string>() + "," + v["weight_memory.bandwidth_gb_s"].get<std::string>() +
       "," + r["workload"].get<std::string>()] = r["metrics"];
  }
  const std::string mlp0 = spec.workloads[1].id;
  EXPECT_LT(by.at("128,128,24MiB,34," + mlp0)["area_mm2"].get<double>(), by.at("256,256,24MiB,34," + mlp0)["area_mm2"].get<double>());
  EXPECT_LT(by.at("256,256,24MiB,34," + mlp0)["area_mm2"].get<double>(), by.at("512,512,24MiB,34," + mlp0)["area_mm2"].get<double>());
  EXPECT_LT(by.at("256,256,24MiB,34," + mlp0)["area_mm2"].get<double>(), by.at("256,256,48MiB,34," + mlp0)["area_mm2"].get<double>());
  for (const char* shape : {"128,128", "256,256", "512,512"})
    for (const WorkloadRef& w : spec.workloads)
      EXPECT_LE(by.at(std::string(shape) + ",24MiB,136," + w.id)["latency_us"].get<double>(),
                by.at(std::string(shape) + ",24MiB,34," + w.id)["latency_us"].get<double>())
          << shape << " " << w.name;
  const std::string front = test::read_file((dir / "results" / "pareto.csv").string());
  EXPECT_NE(front.find(",128,128,12MiB,"), std::string::npos) << front;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tpu::sweep
