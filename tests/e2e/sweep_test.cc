// tpusim sweep as a user runs it: results the same bytes for any number of
// jobs and across reruns, a rerun that runs nothing, a kill that loses no
// finished run, a failing point recorded with its reason, and a results
// directory of another sweep refused.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/support/cli_runner.h"
#include "tests/support/files.h"

namespace tpu::test {
namespace {

namespace fs = std::filesystem;
const std::string kSrc = TPUSIM_SOURCE_DIR;

std::string read(const std::string& path) { return read_file(path); }

class Sweep : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "sweep_" + std::to_string(::getpid()) + "_" +
           testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  // A sweep of the small LeNet on tiny.yaml: 2 array sizes x 3 weight bandwidths, `extra` appended.
  std::string write_sweep(const std::string& extra = "", const std::string& name = "s.yaml", int batch = 1) {
    const std::string path = dir_ + name;
    std::ofstream(path) << "config: " << kSrc << "/configs/tiny.yaml\nworkloads:\n  - {model: " << kSrc
                        << "/models/lenet_300_100.yaml, batch: " << batch << "}\ngrid:\n  matrix_unit.rows: [8, 16]\n"
                        << "  weight_memory.bandwidth_gb_s: [5, 10, 20]\nderived:\n  matrix_unit.cols: "
                        << "${matrix_unit.rows}\nmetrics:\n  cycles: cycles\n  tops: throughput.tops\n"
                        << extra;
    return path;
  }
  std::string dir_;
};

TEST_F(Sweep, ResultsAreTheSameBytesForAnyJobsAndARerunRunsNothing) {
  const std::string file = write_sweep();
  const Outcome one = tpusim("sweep " + file + " -j 1 -q --out " + dir_ + "one", "XDG_CACHE_HOME=" + dir_ + "cache");
  ASSERT_EQ(one.status, 0) << one.output;
  // One program per array size: the weight bandwidth is not something the compiler reads.
  size_t programs = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "cache/tpusim")) programs += e.path().extension() == ".tpb";
  EXPECT_EQ(programs, 2u);
  const Outcome two = tpusim("sweep " + file + " -j 2 -q --out " + dir_ + "two");
  ASSERT_EQ(two.status, 0) << two.output;
  EXPECT_NE(one.output.find("6 runs (6 run now, 0 done before), 0 failed"), std::string::npos) << one.output;
  for (const char* f : {"/results.csv", "/results.jsonl"}) EXPECT_EQ(read(dir_ + "one" + f), read(dir_ + "two" + f)) << f;
  const std::string csv = read(dir_ + "one/results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7) << csv;  // a header and a row per run
  // More weight bandwidth never makes a run slower; the figures are the model's, one per run.
  std::istringstream rows(read(dir_ + "one/results.jsonl"));
  std::vector<nlohmann::json> runs;
  for (std::string line; std::getline(rows, line);) runs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(runs.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(runs[i]["point"], i);
    EXPECT_EQ(runs[i]["status"], "halted");
    if (i % 3) {
      EXPECT_LE(runs[i]["metrics"]["cycles"].get<uint64_t>(), runs[i - 1]["metrics"]["cycles"].get<uint64_t>());
    }
  }
  const Outcome again = tpusim("sweep " + file + " -j 2 -q --out " + dir_ + "one");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("(0 run now, 6 done before)"), std::string::npos) << again.output;
  EXPECT_EQ(read(dir_ + "one/results.csv"), read(dir_ + "two/results.csv"));
}

TEST_F(Sweep, AKilledSweepLosesNoFinishedRunAndResumes) {
  // The pe fidelity and a batch of 32 make each run long enough to kill the sweep between runs.
  const std::string file = write_sweep("points:\n  - {fidelity: pe}\n", "s.yaml", 32);
  const std::string out = dir_ + "killed";
  const pid_t pid = fork();
  if (pid == 0) {
    execl(TPUSIM_BINARY, TPUSIM_BINARY, "sweep", file.c_str(), "-j", "1", "-q", "--out", out.c_str(), nullptr);
    _exit(127);
  }
  // Kill it once the first run's record is there.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto records = [&] {
    size_t n = 0;
    if (fs::exists(out + "/runs"))
      for (const auto& e : fs::directory_iterator(out + "/runs")) n += e.path().extension() == ".json";
    return n;
  };
  while (records() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const size_t done = records();
  ASSERT_GE(done, 1u);
  ASSERT_LT(done, 6u) << "killed too late to test a resume";
  for (const auto& e : fs::directory_iterator(out + "/runs"))  // every record whole
    EXPECT_FALSE(nlohmann::json::parse(read(e.path().string()), nullptr, false).is_discarded()) << e.path();
  const Outcome resumed = tpusim("sweep " + file + " -j 2 -q --out " + out);
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_NE(resumed.output.find(std::to_string(6 - done) + " run now, " + std::to_string(done) + " done before"),
            std::string::npos)
      << resumed.output;
  ASSERT_EQ(tpusim("sweep " + file + " -j 2 -q --out " + dir_ + "clean").status, 0);
  EXPECT_EQ(read(out + "/results.jsonl"), read(dir_ + "clean/results.jsonl"));
  EXPECT_EQ(read(out + "/results.csv"), read(dir_ + "clean/results.csv"));
}

TEST_F(Sweep, AFailingPointIsRecordedWithItsReasonAndTheSweepGoesOn) {
  // 100000 accumulator rows are beyond the limit: those points' configurations are refused.
  const std::string file = write_sweep("points:\n  - {accumulators.entries: 256}\n  - {accumulators.entries: 100000}\n");
  const Outcome o = tpusim("sweep " + file + " -q --out " + dir_ + "f");
  EXPECT_EQ(o.status, 3) << o.output;
  EXPECT_NE(o.output.find("12 runs (12 run now, 0 done before), 6 failed"), std::string::npos) << o.output;
  const std::string csv = read(dir_ + "f/results.csv");
  EXPECT_NE(csv.find("accumulators.entries: 100000 is out of range"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",halted,"), std::string::npos) << csv;
}

TEST_F(Sweep, ARunIsKnownByWhatItRunsNotByHowTheFileWasNamed) {
  // The same sweep named by a relative path from another directory finds its runs done.
  const std::string file = write_sweep();
  ASSERT_EQ(tpusim("sweep " + file + " -q --out " + dir_ + "rel").status, 0);
  const Outcome relative = tpusim("sweep s.yaml -q --out rel", "-C " + dir_);
  ASSERT_EQ(relative.status, 0) << relative.output;
  EXPECT_NE(relative.output.find("(0 run now, 6 done before)"), std::string::npos) << relative.output;
  // A sweep on a configuration of its own: editing that file (not the sweep) runs the points again.
  std::ofstream(dir_ + "chip.yaml") << "base: " << kSrc << "/configs/tiny.yaml\n";
  std::string text = read(file);
  text.replace(text.find(kSrc + "/configs/tiny.yaml"), (kSrc + "/configs/tiny.yaml").size(), dir_ + "chip.yaml");
  std::ofstream(dir_ + "own.yaml") << text;
  ASSERT_EQ(tpusim("sweep " + dir_ + "own.yaml -q --out " + dir_ + "own").status, 0);
  std::ofstream(dir_ + "chip.yaml") << "base: " << kSrc << "/configs/tiny.yaml\nsequencer:\n  unit_queue: 2\n";
  const Outcome edited = tpusim("sweep " + dir_ + "own.yaml -q --out " + dir_ + "own");
  ASSERT_EQ(edited.status, 0) << edited.output;
  EXPECT_NE(edited.output.find("(6 run now, 0 done before)"), std::string::npos) << edited.output;
}

TEST_F(Sweep, AResultsDirectoryOfAnotherSweepIsRefused) {
  ASSERT_EQ(tpusim("sweep " + write_sweep() + " -q --out " + dir_ + "r").status, 0);
  const Outcome o = tpusim("sweep " + write_sweep("", "other.yaml") + " -q --out " + dir_ + "r");
  EXPECT_EQ(o.status, 0) << "the same definition in another file is the same sweep: " << o.output;
  const Outcome edited = tpusim("sweep " + write_sweep("constraints:\n  - matrix_unit.rows <= 8\n") + " -q --out " + dir_ + "r");
  EXPECT_EQ(edited.status, 1) << edited.output;
  EXPECT_NE(edited.output.find("holds the results of another sweep definition"), std::string::npos) << edited.output;
}

std::vector<nlohmann::json> records(const std::string& jsonl) {
  std::istringstream rows(jsonl);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(rows, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    out.emplace_back();
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) out.back().push_back(cell);
  }
  return out;
}

TEST_F(Sweep, MeansOverTheWorkloadsAndTheParetoFrontFollowTheRuns) {
  const std::string path = dir_ + "m.yaml";
  std::ofstream(path) << "config: " << kSrc << "/configs/tiny.yaml\nworkloads:\n  - {model: " << kSrc
                      << "/models/lenet_300_100.yaml, batch: 1}\n  - {model: " << kSrc
                      << "/models/lenet_300_100.yaml, batch: 4}\ngrid:\n  weight_memory.bandwidth_gb_s: [2, 5, 10, 20, 40]\n"
                      << "metrics:\n  cycles: cycles\n  area: area.total_mm2\nmeans:\n  cycles_mean: {metric: cycles}\n"
                      << "  cycles_gmean: {metric: cycles, mean: geometric}\n  cycles_mix: {metric: cycles, mean: weighted, "
                      << "weights: {lenet_300_100@1: 3, lenet_300_100@4: 1}}\n  area_mean: {metric: area}\n"
                      << "objectives:\n  minimize: [cycles_mix, area_mean]\n";
  const Outcome o = tpusim("sweep " + path + " -q --out " + dir_ + "m");
  ASSERT_EQ(o.status, 0) << o.output;
  const std::vector<nlohmann::json> runs = records(read(dir_ + "m/results.jsonl"));
  ASSERT_EQ(runs.size(), 10u);
  const auto means = csv_rows(read(dir_ + "m/means.csv"));
  ASSERT_EQ(means.size(), 6u);
  EXPECT_EQ(means[0], (std::vector<std::string>{"point", "weight_memory.bandwidth_gb_s", "cycles_mean", "cycles_gmean",
                                                "cycles_mix", "area_mean"}));
  std::vector<std::pair<double, double>> objectives;
  for (size_t p = 0; p < 5; ++p) {
    const double a = runs[2 * p]["metrics"]["cycles"], b = runs[2 * p + 1]["metrics"]["cycles"];
    const double area = runs[2 * p]["metrics"]["area"];
    EXPECT_NEAR(std::stod(means[p + 1][2]), (a + b) / 2, 1e-9);
    EXPECT_NEAR(std::stod(means[p + 1][3]), std::sqrt(a * b), 1e-6 * a);
    EXPECT_NEAR(std::stod(means[p + 1][4]), (3 * a + b) / 4, 1e-9);
    EXPECT_NEAR(std::stod(means[p + 1][5]), area, 1e-9);
    objectives.emplace_back((3 * a + b) / 4, area);
  }
  // The front: the points no other point matches or beats on both.
  std::vector<std::string> front;
  for (size_t p = 0; p < 5; ++p) {
    bool beaten = false;
    for (size_t q = 0; q < 5; ++q)
      beaten = beaten || (q != p && objectives[q].first <= objectives[p].first &&
                          objectives[q].second <= objectives[p].second && objectives[q] != objectives[p]);
    if (!beaten) front.push_back(std::to_string(p));
  }
  std::vector<std::string> listed;
  for (const auto& row : csv_rows(read(dir_ + "m/pareto.csv"))) listed.push_back(row[0]);
  ASSERT_FALSE(listed.empty());
  listed.erase(listed.begin());  // the header
  EXPECT_EQ(listed, front);
  EXPECT_GE(front.size(), 2u) << "more bandwidth costs area and saves cycles: a trade-off";
}

TEST_F(Sweep, AMetricPathTheRunDoesNotHaveStopsTheSweepAtItsLine) {

  // The third metric, on line 12 of the file.
  const std::string file = write_sweep("  bad: throughput.topz\n");
  const Outcome o = tpusim("sweep " + file + " -j 1 -q --out " + dir_ + "bad");
  EXPECT_EQ(o.status, 1) << o.output;
  EXPECT_NE(o.output.find("s.yaml:12:8: metrics.bad: the run's JSON has no figure at 'throughput.topz'"), std::string::npos)
      << o.output;
  EXPECT_FALSE(fs::exists(dir_ + "bad")) << "nothing kept of a new directory";
  // A directory that was there before is left as it was, with what it held.
  fs::create_directories(dir_ + "mine");
  std::ofstream(dir_ + "mine/notes.txt") << "keep me\n";
  EXPECT_EQ(tpusim("sweep " + file + " -j 2 -q --out " + dir_ + "mine").status, 1);
  EXPECT_EQ(read(dir_ + "mine/notes.txt"), "keep me\n");
}

TEST_F(Sweep, AReportShowsEachMetricAgainstEachAxisTheFrontAndTheFailures) {
  const std::string file =
      write_sweep("points:\n  - {accumulators.entries: 256}\n  - {accumulators.entries: 100000}\n"
                  "objectives:\n  minimize: [cycles]\n  maximize: [tops]\n");
  ASSERT_EQ(tpusim("sweep " + file + " -q --out " + dir_ + "rep").status, 3);
  const Outcome o = tpusim("report sweep " + dir_ + "rep");
  ASSERT_EQ(o.status, 0) << o.output;
  const std::string md = read(dir_ + "rep/report.md");
  // Three numeric axes (matrix_unit.cols is derived, not an axis), two metrics: six charts.
  for (const char* axis : {"matrix_unit_rows", "weight_memory_bandwidth_gb_s", "accumulators_entries"})
    for (const char* metric : {"cycles", "tops"}) {
      const std::string chart = std::string(metric) + "_vs_" + axis;
      EXPECT_NE(md.find("(charts/" + chart + ".svg)"), std::string::npos) << chart;
      EXPECT_NE(read(dir_ + "rep/charts/" + chart + ".svg").find("<svg"), std::string::npos) << chart;
    }
  EXPECT_EQ(md.find("matrix_unit_cols"), std::string::npos) << "a derived key is not an axis of its own";
  // The cycles chart has a point per run that ran: 6 of the 12.
  const std::string data = read(dir_ + "rep/charts/cycles_vs_matrix_unit_rows.dat");
  size_t points = 0;
  std::istringstream lines(data);
  for (std::string line; std::getline(lines, line);) points += !line.empty();
  EXPECT_EQ(points, 6u);
  // The front as pareto.csv lists it, and the failed runs with their reasons.
  const std::string front = read(dir_ + "rep/pareto.csv");
  EXPECT_NE(md.find("## Pareto front"), std::string::npos);
  EXPECT_NE(md.find("(charts/pareto.svg)"), std::string::npos);
  size_t front_rows = std::count(front.begin(), front.end(), '\n') - 1;
  size_t listed = 0;
  for (size_t at = md.find("## Pareto front"); (at = md.find("\n| ", at + 1)) != std::string::npos && at < md.find("## Failed");)
    ++listed;
  EXPECT_EQ(listed, front_rows + 1) << "a row per front point after the header";
  EXPECT_NE(md.find("accumulators.entries: 100000 is out of range"), std::string::npos);
  EXPECT_EQ(tpusim("report sweep " + dir_).status, 1) << "not a results directory";
  // A sweep whose every run failed still gets its report, with the failures.
  const std::string failing = write_sweep("points:\n  - {accumulators.entries: 100000}\n", "f.yaml");
  ASSERT_EQ(tpusim("sweep " + failing + " -q --out " + dir_ + "allfail").status, 3);
  const Outcome all = tpusim("report sweep " + dir_ + "allfail");
  ASSERT_EQ(all.status, 0) << all.output;
  EXPECT_NE(read(dir_ + "allfail/report.md").find("No run gives cycles against matrix_unit.rows"), std::string::npos);
}

// Past eight lines a chart fixes the other grid axes at their first values and says so; a key of
// another block (here, given points) still has a line of its own.
TEST_F(Sweep, ManyAxesChartsFixTheOtherGridAxesAndKeepTheOtherBlocks) {
  const std::string file = dir_ + "many.yaml";
  std::ofstream(file) << "config: " << kSrc << "/configs/tiny.yaml\nworkloads:\n  - {model: " << kSrc
                      << "/models/lenet_300_100.yaml, batch: 1}\ngrid:\n  matrix_unit.rows: [8, 16]\n"
                      << "  weight_memory.bandwidth_gb_s: [5, 10, 20]\n  clock_mhz: [500, 700]\npoints:\n"
                      << "  - {accumulators.entries: 256}\n  - {accumulators.entries: 512}\nderived:\n"
                      << "  matrix_unit.cols: ${matrix_unit.rows}\nmetrics:\n  cycles: cycles\n";
  ASSERT_EQ(tpusim("sweep " + file + " -q --out " + dir_ + "many").status, 0);
  ASSERT_EQ(tpusim("report sweep " + dir_ + "many").status, 0);
  const std::string md = read(dir_ + "many/report.md");
  EXPECT_NE(md.find("(charts/cycles_vs_matrix_unit_rows.svg)\n\nAt weight_memory.bandwidth_gb_s=5, clock_mhz=500."),
            std::string::npos)
      << md;
  const std::string gp = read(dir_ + "many/charts/cycles_vs_matrix_unit_rows.gp");
  EXPECT_NE(gp.find("title \"lenet_300_100@1, accumulators.entries=256\""), std::string::npos) << gp;
  EXPECT_NE(gp.find("title \"lenet_300_100@1, accumulators.entries=512\""), std::string::npos) << gp;
  EXPECT_EQ(gp.find("weight_memory.bandwidth_gb_s="), std::string::npos) << "fixed, so in no title";
  // Two lines of two points each: the runs at 5 GB/s and 500 MHz.
  size_t points = 0;
  std::istringstream lines(read(dir_ + "many/charts/cycles_vs_matrix_unit_rows.dat"));
  for (std::string line; std::getline(lines, line);) points += !line.empty();
  EXPECT_EQ(points, 4u);
}

// An entry of the energy table as an axis: each point prices with its own copy of the table, and the
// energy moves by exactly the price difference times the events it prices.
TEST_F(Sweep, AnEnergyTableEntryIsAnAxis) {
  const std::string file = dir_ + "table.yaml";
  std::ofstream(file) << "config: " << kSrc << "/configs/tiny.yaml\nworkloads:\n  - {model: " << kSrc
                      << "/models/lenet_300_100.yaml, batch: 1}\ngrid:\n"
                      << "  energy.table.offchip_pj.dram_read_bit: [20, 40]\nmetrics:\n  energy_uj: energy.total_uj\n"
                      << "  dram_bytes: units.weight_memory.read_bytes\n  table: config.energy.table\n";
  // A dry run checks the entries and writes no table, results or cache.
  const std::string dry = "sweep " + file + " --dry-run --out " + dir_ + "table";
  const Outcome plan = tpusim(dry, "XDG_CACHE_HOME=" + dir_ + "dry");
  ASSERT_EQ(plan.status, 0) << plan.output;
  EXPECT_NE(plan.output.find("2 of 2 runs to simulate"), std::string::npos) << plan.output;
  EXPECT_EQ(plan.output.find("invalid"), std::string::npos) << plan.output;
  EXPECT_FALSE(fs::exists(dir_ + "table")) << "a dry run made the results directory";
  const Outcome o = tpusim("sweep " + file + " -q --out " + dir_ + "table", "XDG_CACHE_HOME=" + dir_ + "cache");
  ASSERT_EQ(o.status, 0) << o.output;
  const Outcome replan = tpusim(dry, "XDG_CACHE_HOME=" + dir_ + "dry");
  EXPECT_NE(replan.output.find("0 of 2 runs to simulate"), std::string::npos) << replan.output;
  EXPECT_FALSE(fs::exists(dir_ + "dry")) << "a dry run wrote to its cache";
  std::vector<nlohmann::json> runs;
  std::istringstream lines(read(dir_ + "table/results.jsonl"));
  for (std::string line; std::getline(lines, line);) runs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(runs.size(), 2u);
  const auto& a = runs[0]["metrics"];
  const auto& b = runs[1]["metrics"];
  EXPECT_EQ(a["dram_bytes"], b["dram_bytes"]);
  // 20 pJ more per bit, 8 bits per byte read (off-chip prices are not scaled to the node).
  EXPECT_NEAR(b["energy_uj"].get<double>() - a["energy_uj"].get<double>(),
              20.0 * 8 * a["dram_bytes"].get<double>() * 1e-6, 1e-9);
  EXPECT_NE(a["table"], b["table"]) << "a table per point";
  EXPECT_NE(read(b["table"].get<std::string>()).find("dram_read_bit: 40"), std::string::npos);
  // A mistyped entry, or one that is not a number, is named at its line with the nearest entry.
  std::ofstream(dir_ + "bad.yaml") << "config: " << kSrc << "/configs/tiny.yaml\nworkloads:\n  - {model: " << kSrc
                                   << "/models/lenet_300_100.yaml, batch: 1}\ngrid:\n"
                                   << "  energy.table.offchip_pj.dram_red_bit: [20, 40]\nmetrics:\n  e: energy.total_uj\n";
  const Outcome bad = tpusim("sweep " + dir_ + "bad.yaml --dry-run");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("bad.yaml:5:3: 'offchip_pj.dram_red_bit' is not a number of"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("did you mean 'offchip_pj.dram_read_bit'?"), std::string::npos) << bad.output;
}

// A runs file (as a Slurm submission writes it) restricts a run to the positions it lists, shards
// splitting the list; a line that is not a run's position is named.
TEST_F(Sweep, ARunsFileRunsOnlyWhatItLists) {
  const std::string file = write_sweep();
  std::ofstream(dir_ + "runs.txt") << "1\n4\n5\n";
  ASSERT_EQ(tpusim("sweep " + file + " -q --runs " + dir_ + "runs.txt --shard 1/2 --out " + dir_ + "listed").status, 0);
  std::vector<std::string> made;
  for (const auto& e : fs::directory_iterator(dir_ + "listed/runs")) made.push_back(e.path().filename().string().substr(0, 7));
  std::sort(made.begin(), made.end());
  EXPECT_EQ(made, std::vector<std::string>{"p000004"}) << "shard 1 of 2 takes the list's second entry";
  EXPECT_FALSE(fs::exists(dir_ + "listed/results.csv")) << "a part of the sweep writes no results";
  std::ofstream(dir_ + "bad.txt") << "1\nseven\n";
  const Outcome bad = tpusim("sweep " + file + " -q --runs " + dir_ + "bad.txt --out " + dir_ + "listed");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("bad.txt:2: 'seven' is not the position of a run of this sweep (0 to 5)"), std::string::npos)
      << bad.output;
}

// The report commands name what they were given when it is the wrong kind of thing.
TEST_F(Sweep, ReportCommandsRejectTheWrongKindOfInputByName) {
  const Outcome folder = tpusim("report study " + kSrc + "/configs");
  EXPECT_EQ(folder.status, 1);
  EXPECT_NE(folder.output.find("/configs: not a sweep file"), std::string::npos) << folder.output;
  const Outcome file = tpusim("report sweep " + kSrc + "/configs/sweeps/array_shape.yaml");
  EXPECT_EQ(file.status, 1);
  EXPECT_NE(file.output.find("array_shape.yaml: not a results directory"), std::string::npos) << file.output;
  const Outcome other = tpusim("report tpu-v1-sensitivity --sweep " + write_sweep() + " -j 1");
  EXPECT_EQ(other.status, 1);
  EXPECT_NE(other.output.find("the study needs a weighted mean"), std::string::npos) << other.output;
}

TEST_F(Sweep, ADryRunListsThePointsAndRunsNothing) {
  const Outcome o = tpusim("sweep " + write_sweep("constraints:\n  - weight_memory.bandwidth_gb_s > 5\n") +
                           " --dry-run --out " + dir_ + "d");
  ASSERT_EQ(o.status, 0) << o.output;
  EXPECT_NE(o.output.find("4 points (2 of 6 dropped by constraints) x 1 workload = 4 runs"), std::string::npos) << o.output;
  // Two array sizes: two programs; nothing recorded yet.
  EXPECT_NE(o.output.find("work: 2 programs to compile (2 compiler targets x 1 workload"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("4 of 4 runs to simulate"), std::string::npos) << o.output;
  EXPECT_FALSE(fs::exists(dir_ + "d"));
  // After running one shard of two, the other is what is left to do.
  const std::string half = write_sweep("constraints:\n  - weight_memory.bandwidth_gb_s > 5\n", "s.yaml");
  ASSERT_EQ(tpusim("sweep " + half + " -q --shard 0/2 --out " + dir_ + "d").status, 0);
  const Outcome rest = tpusim("sweep " + half + " --dry-run --out " + dir_ + "d");
  EXPECT_NE(rest.output.find("2 of 4 runs to simulate (2 already in"), std::string::npos) << rest.output;
}

}  // namespace
}  // namespace tpu::test
