// The checked-in EIE validation report is what a fresh run produces, and its
// figures keep, within stated bands, what the report says of them against the
// EIE paper; a few are derived independently of the report (the non-zero
// activations from the input itself, the entries from the compiled image).
// The report takes a minute and more to make, so one test (one process) makes
// it once and checks each part of it.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "sim/base/config.h"
#include "tests/support/files.h"
#include "tools/compiler/compiler.h"
#include "tools/report/workload.h"
#include "tools/sweep/eie_report.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

const EieLayer& layer(const EieReport& r, const std::string& name) {
  for (const EieLayer& l : r.layers)
    if (l.name == name) return l;
  throw std::runtime_error("no layer " + name);
}

const EieComparison& run(const EieReport& r, const std::string& name, const std::string& chip, int64_t batch) {
  for (const EieComparison& c : r.comparisons)
    if (c.layer == name && c.chip == chip && c.batch == batch) return c;
  throw std::runtime_error("no run of " + name + " on " + chip);
}

void checked_in_copy_matches(const EieReport& r) {
  EXPECT_TRUE(r.markdown == test::read_file(kSrc + "/reports/eie_validation.md"))
      << "reports/eie_validation.md is stale: run `build/tpusim report eie` and commit it";
  ASSERT_EQ(r.charts.size(), 2u);
  for (const report::Chart& c : r.charts)
    EXPECT_TRUE(report::data_text(c) == test::read_file(kSrc + "/reports/eie_validation/" + c.name + ".dat"))
        << c.name << " is stale";
}

// Table IV: the AlexNet layers within [-20%, +10%] of EIE's measured times, Alex-8 the furthest and
// the one with the shortest columns (as the report says); the engine's peak the paper's.
void times_lie_near_the_papers(const EieReport& r) {
  std::string furthest, shortest;
  double most = 0, fewest = 1e30;
  for (const auto& [name, us] : eie_paper::kMeasuredUs) {
    const EieLayer& l = layer(r, name);
    const double d = l.us / us - 1;
    EXPECT_GE(d, -0.20) << name;
    EXPECT_LE(d, 0.10) << name;
    if (std::fabs(d) > most) most = std::fabs(d), furthest = name;
    const double columns = double(l.entries) / double(l.activations) / double(r.pes);
    if (columns < fewest) fewest = columns, shortest = name;
  }
  EXPECT_EQ(furthest, "Alex-8");
  EXPECT_EQ(shortest, "Alex-8");
  // The model's imbalance below the paper's about 10% on AlexNet; no one per-column cost closes the
  // three differences (they differ in sign).
  bool longer = false, shorter = false;
  for (const auto& [name, us] : eie_paper::kMeasuredUs) {
    const EieLayer& l = layer(r, name);
    EXPECT_LT(l.us / l.ideal_us - 1, eie_paper::kOverIdeal) << name;
    (us > l.us ? longer : shorter) = true;
  }
  EXPECT_TRUE(longer && shorter);
  EXPECT_NEAR(r.peak_gops, eie_paper::kPeakGops, 0.01 * eie_paper::kPeakGops);
  EXPECT_EQ(layer(r, "VGG-6").slices, 2u) << "more entries per PE than 16-bit pointers reach";
}

// The non-zero activations the engine broadcast are the input's elements other than its zero
// point, counted here from the workload's own input (the paper's share, rounded); with every
// activation non-zero (NeuralTalk) it walks every entry the compiler encoded.
void counts_follow_from_the_input_and_the_image(const EieReport& r) {
  const sim::ChipParams eie = sim::read_chip_params(sim::Config::load(kSrc + "/configs/eie.yaml"));
  for (const char* stem : {"alex6", "nt_we"}) {
    const report::Workload w = report::load_workload(kSrc + "/workloads/eie/" + stem + ".yaml");
    const isa::Program p = report::workload_program(w, eie);
    const auto inputs = report::workload_inputs(w, p);
    ASSERT_EQ(inputs.size(), 1u);
    int zp = 0;
    for (const isa::TensorDesc& t : p.tensors)
      if (t.role == isa::TensorRole::kInput) zp = t.zero_point;
    uint64_t nonzero = 0;
    for (uint8_t b : inputs[0].second) nonzero += static_cast<int8_t>(b) != zp;
    EXPECT_EQ(layer(r, w.name).activations, nonzero) << stem;
    EXPECT_EQ(nonzero, static_cast<uint64_t>(std::llround(*w.input_density * double(inputs[0].second.size()))));
  }
  compiler::CompileOptions o;
  o.batch = 1;
  const compiler::Compiled c = compiler::compile_model(kSrc + "/models/eie/nt_wd.yaml", eie, o);
  EXPECT_EQ(layer(r, "NT-Wd").entries, c.lowered.report.layers.back().index_bytes);
  EXPECT_EQ(layer(r, "NT-Wd").fillers, c.lowered.report.layers.back().fillers);
}

// Sec. VI-B: with queues of one the mean idle share between 25% and the paper's "about half" (the
// report says why below it), every layer idling at least 3x less at 8, and under 10% gained beyond.
void queue_depth_keeps_the_papers_shape(const EieReport& r) {
  double idle1 = 0;
  for (const auto& [name, by_depth] : r.queue_idle) {
    idle1 += by_depth.at(1) / double(r.queue_idle.size());
    EXPECT_GT(by_depth.at(1), 3 * by_depth.at(8)) << name;
    const auto& cycles = r.queue_cycles.at(name);
    EXPECT_GT(cycles.rbegin()->second / cycles.at(8), 0.90) << name;
    EXPECT_LE(cycles.rbegin()->second, cycles.at(8)) << name;
  }
  EXPECT_GE(idle1, 0.25);
  EXPECT_LT(idle1, eie_paper::kIdleAtDepthOne);
  // The most idle layer has the shortest columns, the least idle the longest.
  auto columns = [&](const EieLayer& l) { return double(l.entries) / double(l.activations) / double(r.pes); };
  auto idle = [&](const EieLayer& a, const EieLayer& b) { return r.queue_idle.at(a.name).at(1) < r.queue_idle.at(b.name).at(1); };
  auto shorter = [&](const EieLayer& a, const EieLayer& b) { return columns(a) < columns(b); };
  EXPECT_EQ(std::max_element(r.layers.begin(), r.layers.end(), idle)->name,
            std::min_element(r.layers.begin(), r.layers.end(), shorter)->name);
  EXPECT_EQ(std::min_element(r.layers.begin(), r.layers.end(), idle)->name,
            std::max_element(r.layers.begin(), r.layers.end(), shorter)->name);
}

// Sec. VI-C: near-linear at few PEs; the sparsest layers beyond linear at 64 (fewer fillers in
// shorter columns), NT-We's 600 rows gaining little from 64 to 256.
void pe_count_scales_as_the_report_says(const EieReport& r) {
  for (const auto& [name, by_pes] : r.pe_cycles) EXPECT_NEAR(by_pes.at(1) / by_pes.at(2), 2.0, 0.05) << name;
  for (const char* sparsest : {"VGG-6", "VGG-7"}) {
    const auto& c = r.pe_cycles.at(sparsest);
    EXPECT_GT(c.at(1) / c.at(64), 64) << sparsest;
  }
  EXPECT_GT(r.pe_fillers_per_mac.at("VGG-6").at(1), 1.5 * r.pe_fillers_per_mac.at("VGG-6").at(64));
  const auto& we = r.pe_cycles.at("NT-We");
  EXPECT_LT(we.at(64) / we.at(256), 2.0);
}

// Table II: the model's dynamic power per PE 2x to 4.5x the paper's, the sparse-matrix reads and
// accumulators above the paper's modules and the arithmetic below (as the report explains); the
// SRAMs 2x to 3.5x EIE's area.
void power_and_area_differ_as_explained(const EieReport& r) {
  double uj = 0, us = 0;
  std::vector<double> module_uj(eie_paper::kModules.size(), 0);
  for (const EieLayer& l : r.layers) {
    uj += l.dynamic_uj;
    us += l.us;
    for (size_t m = 0; m < module_uj.size(); ++m)
      for (const std::string& c : kModuleCounters[m]) module_uj[m] += l.energy_uj.at(c);
  }
  const double pes = double(r.pes), pe_mw = uj / us / pes * 1e3;
  EXPECT_GE(pe_mw / eie_paper::kPeMw, 2.0);
  EXPECT_LE(pe_mw / eie_paper::kPeMw, 4.5);
  auto ratio = [&](size_t m) { return module_uj[m] / us / pes * 1e3 / eie_paper::kModules[m].mw; };
  EXPECT_GT(ratio(0), 2) << "sparse-matrix reads";
  EXPECT_GT(ratio(3), 2) << "accumulators";
  EXPECT_LT(ratio(2), 1) << "arithmetic";
  EXPECT_GE(r.engine_mm2.at("sparse_spmat") / (pes * eie_paper::kModules[0].um2 / 1e6), 2.0);
  EXPECT_LE(r.engine_mm2.at("sparse_spmat") / (pes * eie_paper::kModules[0].um2 / 1e6), 3.5);
}

// At batch 1 the engine beats the matrix unit of its chip on every layer, cold and resident (the
// resident inference reading no DRAM, but VGG-6's slices), at batch 64 the matrix unit wins; VGG-6's
// slices reload every sample, the others' images load once.
void dense_and_sparse_trade_places_with_the_batch(const EieReport& r) {
  for (const EieLayer& l : r.layers) {
    const double dense1 = run(r, l.name, "EIE chip dense", 1).latency_us;
    const EieComparison& resident = run(r, l.name, "EIE chip sparse, resident", 1);
    EXPECT_LT(run(r, l.name, "EIE chip sparse", 1).latency_us, dense1) << l.name;
    EXPECT_LT(resident.latency_us, run(r, l.name, "EIE chip sparse", 1).latency_us) << l.name;
    EXPECT_GT(run(r, l.name, "EIE chip sparse", 64).latency_us, run(r, l.name, "EIE chip dense", 64).latency_us)
        << l.name;
    const double b1 = run(r, l.name, "EIE chip sparse", 1).dram_bytes, b64 = run(r, l.name, "EIE chip sparse", 64).dram_bytes;
    if (l.name == "VGG-6") {
      EXPECT_DOUBLE_EQ(b64, b1);
      EXPECT_DOUBLE_EQ(resident.dram_bytes, b1);
    } else {
      EXPECT_NEAR(b64, b1 / 64, b1 / 64 * 1e-3) << l.name;
      EXPECT_EQ(resident.dram_bytes, 0) << l.name;
    }
  }
}

// A sweep the report cannot read is refused before anything runs, naming what it lacks.
TEST(EieReport, RefusesASweepWithoutWhatItReads) {
  std::string text = test::read_file(kSrc + "/configs/sweeps/eie_queue_depth.yaml");
  auto replace = [&](const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
  };
  replace("../eie.yaml", kSrc + "/configs/eie.yaml");
  while (text.find("../../workloads") != std::string::npos) replace("../../workloads", kSrc + "/workloads");
  replace("[1, 2, 4, 8, 16", "[1, 2, 4, 16");
  replace("  pe_idle_cycles: units.sparse_engine.pe_idle_cycles\n", "");
  replace("  - " + kSrc + "/workloads/eie/nt_lstm.yaml\n", "");
  const std::string path = testing::TempDir() + "eie_bad_sweep_" + std::to_string(getpid()) + ".yaml";
  std::ofstream(path) << text;
  EieOptions o;
  o.root = kSrc;
  o.queue_sweep = path;
  try {
    eie_report(o);
    FAIL() << "the report ran";
  } catch (const SweepError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": not a sweep the EIE report can read: it lacks workload "
                                           "workloads/eie/nt_lstm.yaml, sparse_engine.queue_depth 8, metric pe_idle_cycles");
  }
}

TEST(EieReport, IsCurrentAndKeepsItsClaims) {
  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) / ("tpusim_eie_" + std::to_string(getpid()));
  EieOptions o;
  o.root = kSrc;
  o.results_dir = dir.string();
  o.jobs = 2;
  const EieReport r = eie_report(o);
  std::filesystem::remove_all(dir);
  for (const auto& [part, check] : std::vector<std::pair<const char*, void (*)(const EieReport&)>>{
           {"checked-in copy", checked_in_copy_matches},
           {"times", times_lie_near_the_papers},
           {"counts", counts_follow_from_the_input_and_the_image},
           {"queue depth", queue_depth_keeps_the_papers_shape},
           {"PE count", pe_count_scales_as_the_report_says},
           {"power and area", power_and_area_differ_as_explained},
           {"dense and sparse", dense_and_sparse_trade_places_with_the_batch}}) {
    SCOPED_TRACE(part);
    check(r);
  }
}

}  // namespace
}  // namespace tpu::sweep
