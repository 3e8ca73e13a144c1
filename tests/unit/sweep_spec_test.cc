// Sweep files: their points in the documented order, derived keys and
// constraints, seeded samples, and every mistake named at its line.

#include "tools/sweep/sweep_spec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

namespace tpu::sweep {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

// A sweep file in the configs directory's place (so `config:` and workloads resolve as in configs/sweeps).
std::string sweep_file(const std::string& name, const std::string& body) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << "config: " << kSrc << "/configs/tiny.yaml\nworkloads:\n  - " << kSrc
                      << "/workloads/tpu_v1/mlp0.yaml\n"
                      << body;
  return path;
}

std::string error_of(const std::string& path) {
  try {
    expand(load_sweep(path));
  } catch (const SweepError& e) {
    return e.what();
  }
  return "";
}

std::string value(const Point& p, const std::string& key) {
  for (const auto& [k, v] : p.values)
    if (k == key) return v;
  return "";
}

TEST(SweepFile, AGridIsEveryCombinationTheLastKeyFastestTimesTheZip) {
  const SweepSpec s = load_sweep(sweep_file("grid.yaml",
                                            "grid:\n  matrix_unit.rows: [8, 16]\n  unified_buffer.size_bytes: [32KiB, "
                                            "64KiB, 128KiB]\nzip:\n  clock_mhz: [700, 1050]\n  "
                                            "weight_memory.bandwidth_gb_s: [34, 180]\n"));
  const std::vector<Point> p = expand(s);
  ASSERT_EQ(p.size(), 2u * 3u * 2u);
  EXPECT_EQ(product_size(s), 12u);
  // Point n: rows = n / 6, size = (n / 2) % 3, the zip pair = n % 2.
  for (size_t n = 0; n < p.size(); ++n) {
    EXPECT_EQ(p[n].index, n);
    EXPECT_EQ(value(p[n], "matrix_unit.rows"), n / 6 ? "16" : "8") << n;
    EXPECT_EQ(value(p[n], "unified_buffer.size_bytes"), (std::vector<std::string>{"32KiB", "64KiB", "128KiB"}[(n / 2) % 3]));
    EXPECT_EQ(value(p[n], "clock_mhz"), n % 2 ? "1050" : "700");
    EXPECT_EQ(value(p[n], "weight_memory.bandwidth_gb_s"), n % 2 ? "180" : "34");
  }
}

TEST(SweepFile, DerivedKeysFollowThePointAndConstraintsDropPoints) {
  const std::vector<Point> p = expand(load_sweep(sweep_file(
      "derived.yaml",
      "grid:\n  matrix_unit.rows: [8, 16, 32, 64]\nderived:\n  matrix_unit.cols: ${matrix_unit.rows * 2}\n"
      "constraints:\n  - matrix_unit.rows * matrix_unit.cols <= 2048\n  - unified_buffer.size_bytes >= 64KiB\n")));
  // rows x 2 rows <= 2048: rows <= 32; tiny.yaml's 64 KiB buffer passes the second.
  ASSERT_EQ(p.size(), 3u);
  for (size_t n = 0; n < p.size(); ++n) {
    EXPECT_EQ(p[n].index, n);
    EXPECT_EQ(std::stoi(value(p[n], "matrix_unit.cols")), 2 * std::stoi(value(p[n], "matrix_unit.rows")));
  }
}

TEST(SweepFile, RandomSamplesAreSeededInRangeAndOfTheKeysKind) {
  const std::string body =
      "random:\n  seed: 7\n  samples: 50\n  axes:\n    weight_memory.bandwidth_gb_s: {log_uniform: [10, 200]}\n"
      "    matrix_unit.rows: {powers_of_two: [4, 64]}\n    activation_unit.lanes: {uniform: [1, 16]}\n"
      "    fidelity: {choice: [fast, pe]}\n";
  const std::vector<Point> a = expand(load_sweep(sweep_file("r1.yaml", body)));
  const std::vector<Point> b = expand(load_sweep(sweep_file("r2.yaml", body)));
  ASSERT_EQ(a.size(), 50u);
  std::set<std::string> rows, fidelities;
  for (size_t n = 0; n < a.size(); ++n) {
    EXPECT_EQ(a[n].values, b[n].values) << "the same seed gives the same samples";
    const double bw = std::stod(value(a[n], "weight_memory.bandwidth_gb_s"));
    EXPECT_GE(bw, 10);
    EXPECT_LE(bw, 200);
    const int r = std::stoi(value(a[n], "matrix_unit.rows"));
    EXPECT_TRUE(r == 4 || r == 8 || r == 16 || r == 32 || r == 64) << r;
    const std::string lanes = value(a[n], "activation_unit.lanes");
    EXPECT_EQ(lanes.find('.'), std::string::npos) << "an integer key gets integers";
    EXPECT_GE(std::stoi(lanes), 1);
    EXPECT_LE(std::stoi(lanes), 16);
    rows.insert(value(a[n], "matrix_unit.rows"));
    fidelities.insert(value(a[n], "fidelity"));
  }
  EXPECT_GE(rows.size(), 4u) << "50 samples reach most of the five powers";
  EXPECT_EQ(fidelities.size(), 2u);
  const std::vector<Point> c = expand(load_sweep(sweep_file("r3.yaml", std::string(body).replace(body.find("7"), 1, "8"))));
  EXPECT_NE(a[0].values, c[0].values) << "another seed, other samples";
}

TEST(SweepFile, MistakesAreNamedAtTheirLine) {
  // Lines: 1 config, 2 workloads:, 3 the workload, then the body from line 4.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"grid:\n  matrix_unit.row: [8]\n", "mistakes.yaml:5:3: 'matrix_unit.row' is not a key of the chip configuration; did you mean 'matrix_unit.rows'?"},
      {"grid:\n  clock_mhz: [700]\nzip:\n  clock_mhz: [800]\n", ":7:3: 'clock_mhz' is already an axis (at "},
      {"grid:\n  clock_mhz: [700]\n  clock_mhz: [800]\n", ":6:3: grid.clock_mhz: given twice"},
      {"grid:\n  clock_mhz: []\n", ":5:14: grid.clock_mhz: an empty list leaves no points"},
      {"zip:\n  clock_mhz: [1, 2]\n  matrix_unit.rows: [8]\n", ":6:21: zip.matrix_unit.rows: 1 values, but zip.clock_mhz has 2"},
      {"constraints:\n  - matrix_unit.rows * matrix_unit.colz <= 4\n", ":5:5: constraint names 'matrix_unit.colz'"},
      {"constraints:\n  - matrix_unit.rows * <= 4\n", ":5:5: constraint: unexpected '<' at '<= 4'"},
      {"derived:\n  matrix_unit.cols: ${matrix_unit.rows *}\n", ":5:21: derived.matrix_unit.cols:"},
      {"grids:\n  clock_mhz: [1]\n", ":4:1: unknown key 'grids'; did you mean 'grid'?"},
      {"random:\n  seed: 1\n  samples: 3\n  axes:\n    clock_mhz: {uniform: [5, 1]}\n", ":8:26: random.axes.clock_mhz.uniform: low is above high"},
      {"metrics:\n  tops: throughput.tops\nobjectives:\n  maximize: [top]\n", ":7:14: objective 'top' is not one of the means or metrics; did you mean 'tops'?"},
      {"mode: fast\n", ":4:7: mode: expected timing or values, got 'fast'"},
      {"derived:\n  matrix_unit.cols: ${matrix_unit.rowz}\n", ":5:21: derived.matrix_unit.cols names 'matrix_unit.rowz'"},
      {"derived:\n  matrix_unit.cols: ${matrix_unit.rows}\n  matrix_unit.rows: ${clock_mhz}\n",
       ":5:21: derived.matrix_unit.cols reads matrix_unit.rows, derived below it (at "},
      {"grid:\n  matrix_unit.rows: [8]\nconstraints:\n  - matrix_unit.rows > 8\n", ":7:5: the constraints drop all 1 points"},
      {"metrics:\n  tops: throughput.tops\nmeans:\n  m: {metric: top}\n", ":7:15: means.m: 'top' is not one of the metrics; did you mean 'tops'?"},
      {"metrics:\n  tops: throughput.tops\nmeans:\n  m: {metric: tops, mean: weighted, weights: {mlp: 1}}\n",
       ":7:47: means.m.weights: no workload named 'mlp'; did you mean 'mlp0'?"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string e = error_of(sweep_file("mistakes.yaml", cases[i].first));
    EXPECT_NE(e.find(cases[i].second), std::string::npos) << "case " << i << ": " << e;
  }
  EXPECT_NE(error_of(testing::TempDir() + "no_such_sweep.yaml").find("cannot open the sweep file"), std::string::npos);
}

TEST(SweepFile, WithoutAxesTheBaseConfigurationIsOnePoint) {
  const std::vector<Point> p = expand(load_sweep(sweep_file("base.yaml", "")));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(p[0].values.empty());
}

}  // namespace
}  // namespace tpu::sweep
