// The checked-in TPU v1 validation report is what a fresh run produces.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "sim/base/config.h"
#include "tools/compiler/graph.h"
#include "tools/report/tpu_v1_report.h"
#include "tools/report/workload.h"
#include "tests/support/files.h"

namespace tpu::report {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

std::string read(const std::string& path) { return test::read_file(path); }

TEST(ValidationReport, CheckedInCopyMatchesAFreshRun) {
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(kSrc + "/configs/tpu_v1.yaml"));
  std::vector<std::string> files;
  for (const char* app : {"mlp0", "mlp1", "lstm0", "lstm1", "cnn0", "cnn1"})
    files.push_back(kSrc + "/workloads/tpu_v1/" + app + ".yaml");
  const ValidationReport r = tpu_v1_report(files, chip, "configs/tpu_v1.yaml");
  EXPECT_TRUE(r.markdown == read(kSrc + "/reports/tpu_v1_validation.md"))
      << "reports/tpu_v1_validation.md is stale: run `build/tpusim report tpu-v1` and commit it";
  EXPECT_TRUE(data_text(r.roofline) == read(kSrc + "/reports/tpu_v1_validation/roofline.dat"))
      << "reports/tpu_v1_validation/roofline.dat is stale: run `build/tpusim report tpu-v1` and commit it";
  EXPECT_NE(r.markdown.find("| MLP0 | 200 |"), std::string::npos);
  // Each application stays within the band its workload states around the published TOPS, so a change
  // that moves a figure out of it fails here even when the report is regenerated; and no application
  // beats the roofline the chip's parameters draw.
  ASSERT_EQ(r.figures.size(), files.size());
  for (const auto& f : r.figures) {
    ASSERT_TRUE(f.reference_tops && f.band) << f.app << ": the workload states no published TOPS and band";
    const double diff = (f.tops - *f.reference_tops) / *f.reference_tops;
    EXPECT_GE(diff, f.band->first) << f.app << " simulates " << f.tops << " TOPS against the published " << *f.reference_tops;
    EXPECT_LE(diff, f.band->second) << f.app << " simulates " << f.tops << " TOPS against the published " << *f.reference_tops;
    EXPECT_LE(f.tops, f.roof * (1 + 1e-12)) << f.app << " above its roofline";
    EXPECT_LE(f.roof, f.model_roof * (1 + 1e-12)) << f.app << ": padding and re-reads only add bytes";
  }
  EXPECT_NE(r.markdown.find("| RAW stalls |"), std::string::npos) << "Table 3 beside the simulated counters";
  // MLP1 and LSTM0 move whole tiles of widths that are not multiples of 256: their bound on the bytes they
  // move lies below the measurement, and the report says so.
  for (const auto& f : r.figures)
    if (f.app == "MLP1" || f.app == "LSTM0") {
      EXPECT_LT(f.roof, *f.reference_tops) << f.app;
      EXPECT_GT(f.model_roof, *f.reference_tops) << f.app << ": without the padding the measurement is reachable";
    }
  EXPECT_NE(r.markdown.find("TOPS on this chip, below the 9.7 TOPS measured on TPU v1"), std::string::npos);
}

TEST(ValidationReport, FiguresAndExplanationsFollowTheConfiguration) {
  // Half the weight bandwidth: the report says so, explains the differences from that run, and
  // leaves out the notes written for configs/tpu_v1.yaml.
  sim::Config config = sim::Config::load(kSrc + "/configs/tpu_v1.yaml");
  config.set("weight_memory.bandwidth_gb_s=17");
  const sim::ChipParams chip = sim::read_chip_params(config);
  std::vector<std::string> files;
  for (const char* app : {"lstm1", "cnn1"}) files.push_back(kSrc + "/workloads/tpu_v1/" + app + ".yaml");
  const std::string md = tpu_v1_report(files, chip, "a 17 GB/s variant").markdown;
  EXPECT_EQ(md.find("34 GB/s"), std::string::npos);
  EXPECT_NE(md.find("17 GB/s weight memory"), std::string::npos);
  EXPECT_NE(md.find("2 x 17 GB/s x MACs per weight byte"), std::string::npos);
  const Workload lstm1 = load_workload(files[0]);
  ASSERT_TRUE(lstm1.note.has_value());
  EXPECT_EQ(md.find(lstm1.note->text.substr(0, 40)), std::string::npos) << "a note for another configuration";
  EXPECT_NE(md.find("- **LSTM1**"), std::string::npos) << "the difference is still explained from the run";
  // The same workloads on the configuration the notes were written for do show them.
  const sim::ChipParams v1 = sim::read_chip_params(sim::Config::load(kSrc + "/configs/tpu_v1.yaml"));
  EXPECT_NE(tpu_v1_report(files, v1, "configs/tpu_v1.yaml").markdown.find(lstm1.note->text.substr(0, 40)),
            std::string::npos);
}

TEST(Workload, PublishedCountersAreReadInTheOrderOfTable3) {
  const std::string path = testing::TempDir() + "counters_workload.yaml";
  std::ofstream(path) << "model: x.yaml\nreference:\n  tops: 2\n  band: [-0.1, 0.2]\n  counters:\n"
                         "    raw_stall: 3.5\n    array_active: 78.2\n";
  const Workload w = load_workload(path);
  ASSERT_EQ(w.reference_counters.size(), 2u);
  EXPECT_EQ(w.reference_counters[0], (std::pair<std::string, double>{"array_active", 78.2}));
  EXPECT_EQ(w.reference_counters[1], (std::pair<std::string, double>{"raw_stall", 3.5}));
  EXPECT_EQ(w.band, (std::pair{-0.1, 0.2}));
  std::ofstream(path) << "model: x.yaml\nreference:\n  tops: 2\n  counters:\n    raw_stalls: 3.5\n";
  try {
    load_workload(path);
    FAIL();
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":5: unknown key 'reference.counters.raw_stalls'; did you mean "
                                                "'raw_stall'?"),
              std::string::npos)
        << e.what();
  }
  // Each bad value is named with its line and key.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"reference:\n  tops: 2\n  band: [0.2, 0.1]\n", ":4: reference.band should be [low, high]"},
      {"reference:\n  tops: 2\n  band: 0.1\n", ":4: reference.band should be"},
      {"reference:\n  tops: abc\n", ":3: reference.tops should be the published TOPS"},
      {"reference:\n  source: x\n", ":3: reference.tops is missing"},
      {"reference: 5\n", ":2: reference must be a mapping"},
      {"reference:\n  tops: 2\n  counters: 5\n", ":4: reference.counters must be a mapping"},
      {"reference:\n  tops: 2\n  counters:\n    raw_stall: 500\n", ":5: reference.counters.raw_stall should be a share"},
      {"reference:\n  tops: .inf\n", ":3: reference.tops should be"},
      {"note:\n  config: nope.yaml\n  text: x\n", ":3: note.config: no file"},
      {"note: just text\n", ":2: note must be a mapping"},
      {"batch: many\n", ":2: batch should be a whole number"},
      {"input_density: 1.5\n", ":2: input_density should be the fraction of input elements that are non-zero"},
      {"input: x.bin\ninput_density: 0.5\n", ":3: input_density goes with `input: synthetic`"},
  };
  for (const auto& [text, message] : bad) {
    std::ofstream(path) << "model: x.yaml\n" << text;
    try {
      load_workload(path);
      ADD_FAILURE() << text;
    } catch (const compiler::ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(path + message), std::string::npos) << e.what();
    }
  }
}

// A synthetic input of a given density: exactly that fraction of its elements (rounded) differ from
// the tensor's zero point, and the same seed gives the same bytes.
TEST(Workload, SyntheticInputsHaveTheStatedDensity) {
  const std::string path = testing::TempDir() + "density_workload.yaml";
  std::ofstream(path) << "model: x.yaml\ninput_density: 0.351\nseed: 4\n";
  const Workload w = load_workload(path);
  ASSERT_TRUE(w.input_density);
  isa::Program p;
  for (int zp : {-3, -128}) {
    isa::TensorDesc t;
    t.name = "x";
    t.role = isa::TensorRole::kInput;
    t.dtype = isa::DType::kI8;
    t.shape = {1, 20000};
    t.zero_point = zp;
    p.tensors = {t};
    const auto inputs = workload_inputs(w, p);
    ASSERT_EQ(inputs.size(), 1u);
    const std::vector<uint8_t>& x = inputs[0].second;
    ASSERT_EQ(x.size(), 20000u);
    size_t nonzero = 0;
    for (uint8_t b : x) nonzero += static_cast<int8_t>(b) != zp;
    EXPECT_EQ(nonzero, 7020u) << "zero point " << zp;
    EXPECT_EQ(workload_inputs(w, p)[0].second, x);
  }
  p.tensors[0].dtype = isa::DType::kF32;
  try {
    workload_inputs(w, p);
    ADD_FAILURE() << "a float input took a density";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("input_density needs int8 inputs; tensor 'x' is"), std::string::npos) << e.what();
  }
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

TEST(Workload, AMeasuredPowerIsComparedWithTheSimulatedOne) {
  const std::string path = testing::TempDir() + "power_workload.yaml";
  std::ofstream(path) << "model: x.yaml\nreference:\n  power_w: 40\n  power_source: \"Table 2\"\n";
  const Workload w = load_workload(path);
  ASSERT_TRUE(w.reference_power_w);
  EXPECT_FALSE(w.reference_tops);
  const nlohmann::json result = {{"status", "halted"}, {"energy", {{"average_power_w", 42.0}}}};
  const nlohmann::json v = workload_verdict(w, result);
  EXPECT_DOUBLE_EQ(v["power_w"].get<double>(), 42.0);
  EXPECT_DOUBLE_EQ(v["power_difference"].get<double>(), (42.0 - 40) / 40);
  EXPECT_NE(verdict_text(w, v).find("measured 40 W (Table 2): simulated 42.00 W (+5.0%)"), std::string::npos)
      << verdict_text(w, v);
  std::ofstream(path) << "model: x.yaml\nreference:\n  power: 40\n";
  try {
    load_workload(path);
    FAIL();
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":3: unknown key 'reference.power'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tpu::report
