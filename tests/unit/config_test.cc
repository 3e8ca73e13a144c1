// Configuration: the shipped files, overrides, and every kind of mistake
// reported at its file, line and column with a suggestion where one exists.

#include <gtest/gtest.h>

#include <fstream>

#include "sim/base/config.h"
#include "sim/base/params.h"

namespace tpu::sim {
namespace {

const std::string kConfigs = std::string(TPUSIM_SOURCE_DIR) + "/configs/";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Config, TpuV1HasThePublishedFigures) {
  const ChipParams p = read_chip_params(Config::load(kConfigs + "tpu_v1.yaml"));
  EXPECT_EQ(p.clock_mhz, 700);
  EXPECT_EQ(p.matrix_unit.rows, 256);
  EXPECT_EQ(p.matrix_unit.cols, 256);
  EXPECT_EQ(p.unified_buffer.size_bytes, 24 << 20);
  EXPECT_EQ(p.accumulators.entries, 4096);
  EXPECT_EQ(p.weight_fifo.depth_tiles, 4);
  EXPECT_EQ(p.weight_memory.bandwidth_gb_s, 34);
  EXPECT_EQ(p.weight_memory.size_bytes, int64_t{8} << 30);
  EXPECT_EQ(p.sequencer.pipeline_stages, 4);
  EXPECT_EQ(p.fidelity, "fast");
  EXPECT_EQ(p.energy.table, kConfigs + "energy/45nm.yaml");  // resolved beside the file naming it
  EXPECT_EQ(p.energy.area_table, kConfigs + "energy/28nm_area.yaml");
}

TEST(Config, TinyOverridesItsBaseKeyByKey) {
  const ChipParams p = read_chip_params(Config::load(kConfigs + "tiny.yaml"));
  EXPECT_EQ(p.matrix_unit.rows, 8);
  EXPECT_EQ(p.unified_buffer.size_bytes, 64 << 10);
  EXPECT_EQ(p.clock_mhz, 700);                    // from the base
  EXPECT_EQ(p.weight_memory.bandwidth_gb_s, 34);  // a sibling of an overridden key survives
}

TEST(Config, SetOverridesAnyKey) {
  Config c = Config::load(kConfigs + "tiny.yaml");
  c.set("matrix_unit.cols=16");
  c.set("fidelity=pe");
  c.set("weight_memory.bandwidth_gb_s=12.5");
  const ChipParams p = read_chip_params(c);
  EXPECT_EQ(p.matrix_unit.cols, 16);
  EXPECT_EQ(p.fidelity, "pe");
  EXPECT_EQ(p.weight_memory.bandwidth_gb_s, 12.5);
  EXPECT_EQ(p.matrix_unit.rows, 8);
}

TEST(Config, UnknownKeyNamesItsPlaceAndTheNearestKey) {
  const std::string path = write_temp("typo.yaml", "base: " + kConfigs + "tiny.yaml\nmatrix_unit:\n  rowz: 4\n");
  EXPECT_EQ(error_of([&] { read_chip_params(Config::load(path)); }),
            path + ":3:9: matrix_unit.rowz: unknown key; did you mean 'rows'?");
}

TEST(Config, UnknownKeyFromSetNamesTheOption) {
  Config c = Config::load(kConfigs + "tiny.yaml");
  c.set("matrix_unit.colls=4");
  EXPECT_EQ(error_of([&] { read_chip_params(c); }),
            "--set matrix_unit.colls=4: matrix_unit.colls: unknown key; did you mean 'cols'?");
}

TEST(Config, WrongTypeIsNamed) {
  Config c = Config::load(kConfigs + "tiny.yaml");
  c.set("accumulators.entries=lots");
  EXPECT_NE(error_of([&] {
              read_chip_params(c);
            }).find("accumulators.entries: expected an integer (optionally with KiB, MiB or GiB), got 'lots'"),
            std::string::npos);
}

TEST(Config, ImpossibleValueGivesTheRange) {
  Config c = Config::load(kConfigs + "tiny.yaml");
  c.set("matrix_unit.rows=0");
  EXPECT_NE(error_of([&] { read_chip_params(c); }).find("matrix_unit.rows: 0 is out of range (1 to 4096 MACs)"),
            std::string::npos);
}

TEST(Config, ChoiceIsCheckedWithASuggestion) {
  Config c = Config::load(kConfigs + "tiny.yaml");
  c.set("fidelity=fsat");
  EXPECT_NE(
      error_of([&] { read_chip_params(c); }).find("fidelity: 'fsat' is not one of fast, pe; did you mean 'fast'?"),
      std::string::npos);
}

TEST(Config, MissingKeysAndSectionsAreListedTogether) {
  const std::string path = write_temp("partial.yaml", "clock_mhz: 100\nmatrix_unit:\n  rows: 4\n");
  const std::string e = error_of([&] { read_chip_params(Config::load(path)); });
  EXPECT_NE(e.find("matrix_unit.cols: missing"), std::string::npos) << e;
  EXPECT_NE(e.find("sequencer: missing section"), std::string::npos) << e;
  EXPECT_NE(e.find("fidelity: missing"), std::string::npos) << e;
}

TEST(Config, SectionGivenAsAValueIsAnError) {
  Config c = Config::load(kConfigs + "tiny.yaml");
  EXPECT_EQ(error_of([&] { c.set("clock_mhz.fast=1"); }),
            "--set clock_mhz.fast=1: 'clock_mhz' is a value, not a section");
  c.set("matrix_unit=3");
  EXPECT_NE(error_of([&] { read_chip_params(c); }).find("matrix_unit: expected a section of settings"),
            std::string::npos);
}

TEST(Config, MalformedSetIsAnError) {
  Config c = Config::load(kConfigs + "tiny.yaml");
  EXPECT_NE(error_of([&] { c.set("matrix_unit.rows"); }).find("expected PATH=VALUE"), std::string::npos);
  EXPECT_NE(error_of([&] { c.set("a..b=1"); }).find("empty key"), std::string::npos);
}

TEST(Config, YamlSyntaxErrorNamesTheLine) {
  const std::string path = write_temp("broken.yaml", "clock_mhz: 700\nmatrix_unit: [1, 2\n");
  EXPECT_NE(error_of([&] { Config::load(path); }).find(path + ":3:1: YAML syntax error"), std::string::npos)
      << error_of([&] { Config::load(path); });
}

TEST(Config, MissingFileAndBaseCyclesAreErrors) {
  EXPECT_EQ(error_of([] { Config::load("/nonexistent.yaml"); }),
            "/nonexistent.yaml: cannot open the configuration file");
  const std::string a = write_temp("cycle_a.yaml", "base: cycle_b.yaml\n");
  write_temp("cycle_b.yaml", "base: cycle_a.yaml\n");
  EXPECT_NE(error_of([&] { Config::load(a); }).find("`base` files form a cycle"), std::string::npos);
}

TEST(Config, SizesTakeBinarySuffixes) {
  Config c = Config::load(kConfigs + "tiny.yaml");
  c.set("unified_buffer.size_bytes=3MiB");
  EXPECT_EQ(read_chip_params(c).unified_buffer.size_bytes, 3 << 20);
}

}  // namespace
}  // namespace tpu::sim
