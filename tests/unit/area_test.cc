// Area: every block follows the table's rules, worked out here by hand from the
// table's entries, and the TPU v1 configuration stays on the published
// floorplan it was calibrated to.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/area.h"
#include "tests/support/table_files.h"

namespace tpu::sim {
namespace {

using test::kConfigs;
using test::shipped_chip;
using test::write_table;

AreaTable shipped() { return load_area_table(kConfigs + "energy/28nm_area.yaml"); }

// The shipped area table with `from` replaced by `to` (a regular expression), as a temporary file.
std::string edited(const std::string& name, const std::string& from, const std::string& to) {
  return test::edited_copy("energy/28nm_area.yaml", name, from, to);
}

std::string error_of(const std::string& path) { return test::config_error_of(load_area_table, path); }

double share(const ChipArea& a, std::initializer_list<const char*> blocks) {
  double sum = 0;
  for (const char* b : blocks) sum += a.of(b);
  return sum / a.total_mm2;
}

// Guards the calibration against drift; it does not show the model right. The
// table's entries were fitted so that TPU v1 lands on its published floorplan
// (28nm_area.yaml); a change to the area rules or entries that moves it fails
// here, and the table must be refitted or the change explained. Targets:
// Jouppi et al., ISCA 2017: the die is at most half of Haswell's 662 mm2
// (Table 2), the shares from the Fig. 2 caption and Sec. 2.
TEST(Calibration, TpuV1AreaStaysOnThePublishedFloorplan) {
  const ChipArea a = chip_area(shipped(), shipped_chip("tpu_v1.yaml"));
  // The table takes the bound itself: within 1% below it, 0.1% above (the entries' rounding).
  EXPECT_LE(a.total_mm2, 662.0 / 2 * 1.001);
  EXPECT_GE(a.total_mm2, 662.0 / 2 * 0.99);
  // Each share to half a percentage point, control (a fixed block) to a tenth of one: the fitted entries are rounded.
  EXPECT_NEAR(share(a, {"matrix_unit"}), 0.25, 0.005);  // "a quarter"
  EXPECT_NEAR(share(a, {"unified_buffer", "accumulators", "weight_fifo"}), 0.37, 0.005);
  EXPECT_NEAR(share(a, {"matrix_unit", "activation_unit"}), 0.30, 0.005);
  EXPECT_NEAR(share(a, {"host_interface", "weight_memory"}), 0.10, 0.005);
  EXPECT_NEAR(share(a, {"control"}), 0.02, 0.001);
  // "Almost a third": no fit of its own, so only the band from 29% to a third.
  EXPECT_GT(share(a, {"unified_buffer"}), 0.29);
  EXPECT_LT(share(a, {"unified_buffer"}), 1.0 / 3);
}

// Every block of `a` is its `expected` area (worked out by hand, in mm2), the
// die is their sum over 1 - other_fraction, and `other` is that share of it.
void expect_blocks(const ChipArea& a, const std::map<std::string, double>& expected, double other_fraction) {
  double blocks = 0;
  for (const auto& [block, mm2] : expected) {
    EXPECT_NEAR(a.of(block), mm2, 1e-9 * mm2) << block;
    blocks += mm2;
  }
  EXPECT_EQ(a.mm2.size(), expected.size() + 1) << "blocks besides `other` that the test does not expect";
  const double die = blocks / (1 - other_fraction);
  EXPECT_NEAR(a.total_mm2, die, 1e-9 * die);
  EXPECT_NEAR(a.of("other"), other_fraction * die, 1e-9 * die);
}

// The blocks, worked out by hand from the table's rules, of a chip with an
// n x n array, n activation lanes, n macros of each memory (of the bytes
// given) and TPU v1's 15.75 GB/s host link and 34 GB/s of DRAM, in mm2.
std::map<std::string, double> blocks_by_hand(const AreaTable& t, double n, double ub_macro_bytes,
                                             double acc_macro_bytes, double fifo_macro_bytes) {
  const auto macros = [&](double bytes) { return n * (t.sram_um2_per_byte * bytes + t.sram_um2_per_macro) * 1e-6; };
  return {{"matrix_unit", n * n * t.mac_um2 * 1e-6},
          {"unified_buffer", macros(ub_macro_bytes)},
          {"accumulators", macros(acc_macro_bytes)},
          {"weight_fifo", macros(fifo_macro_bytes)},
          {"activation_unit", n * t.activation_lane_um2 * 1e-6},
          {"control", t.control_mm2},
          {"host_interface", 15.75 * t.host_link_mm2_per_gb_s},
          {"weight_memory", 34 * t.dram_mm2_per_gb_s}};
}

TEST(Area, TpuV1BlocksFollowTheTableRules) {
  const AreaTable t = shipped();
  // 256 lane macros of 24 MiB / 256 = 96 KiB; 256 column macros of 4096 entries x 4 bytes (an int32 each) and of
  // 4 tiles x 256 rows (a byte each).
  expect_blocks(chip_area(t, shipped_chip("tpu_v1.yaml")), blocks_by_hand(t, 256, 96 * 1024, 4096 * 4, 4 * 256),
                t.other_fraction);
}

// A sparse engine adds its PEs' memories, a macro per PE of each (the pointers in two banks of half
// the bytes), and their arithmetic, two int8 MACs per PE; nothing else moves but `other`.
TEST(Area, ASparseEngineAddsItsPesMemoriesAndArithmetic) {
  const AreaTable t = shipped();
  const ChipParams p = shipped_chip("tpu_v1.yaml", {"sparse_engine.pes=64"});
  const SparseEngineParams& e = p.sparse_engine;
  std::map<std::string, double> expected = blocks_by_hand(t, 256, 96 * 1024, 4096 * 4, 4 * 256);
  const auto macros = [&](double n, double bytes) { return n * (t.sram_um2_per_byte * bytes + t.sram_um2_per_macro) * 1e-6; };
  expected["sparse_spmat"] = macros(64, double(e.spmat_bytes));
  expected["sparse_pointers"] = macros(128, double(e.pointer_bytes) / 2);
  expected["sparse_accumulators"] = macros(64, double(e.activation_bytes));
  expected["sparse_engine"] = 2 * 64 * t.mac_um2 * 1e-6;
  expect_blocks(chip_area(t, p), expected, t.other_fraction);
}

TEST(Area, TheTinyChipWorkedOutByHand) {
  // configs/tiny.yaml at the table's 28 nm, with the shipped entries:
  //   matrix unit      8 x 8 MACs x 1263 um2                                    0.0808 mm2
  //   unified buffer   64 KiB in rows of 8 bytes: 8 macros of 8 KiB,
  //                    8 x (3.960 um2 x 8192 + 6715 um2)                        0.3132
  //   accumulators     8 column macros of 256 entries x 4 bytes,
  //                    8 x (3.960 um2 x 1024 + 6715 um2)                        0.0862
  //   weight FIFO      8 column macros of 4 tiles x 8 rows,
  //                    8 x (3.960 um2 x 32 + 6715 um2)                          0.0547
  //   activation unit  8 lanes x 64,650 um2                                     0.5172
  //   control                                                                   6.62
  //   host interface   15.75 GB/s x 0.841 mm2 per GB/s                         13.2458
  //   weight memory    34 GB/s x 0.584 mm2 per GB/s                            19.856
  // 40.774 mm2 of blocks, 1 - 0.21 of a 51.613 mm2 die; other 10.839 mm2.
  const AreaTable t = shipped();
  const ChipArea a = chip_area(t, shipped_chip("tiny.yaml"));
  expect_blocks(a, blocks_by_hand(t, 8, 8192, 256 * 4, 4 * 8), t.other_fraction);
  // The comment's figures, so that it cannot go stale: a change of the shipped entries must update it.
  EXPECT_NEAR(a.total_mm2, 51.613, 0.001);
  EXPECT_NEAR(a.of("other"), 10.839, 0.001);
}

TEST(Area, DoublingTheUnifiedBufferAddsItsBytesAtTheTablesRate) {
  const AreaTable t = shipped();
  const ChipArea base = chip_area(t, shipped_chip("tpu_v1.yaml"));
  const ChipArea doubled = chip_area(t, shipped_chip("tpu_v1.yaml", {"unified_buffer.size_bytes=48MiB"}));
  // The same 256 lane macros, each twice as large: 24 MiB more bytes, no more macros.
  const double added = t.sram_um2_per_byte * (24 << 20) * 1e-6;
  EXPECT_NEAR(doubled.of("unified_buffer") - base.of("unified_buffer"), added, 1e-9);
  EXPECT_NEAR(doubled.total_mm2 - base.total_mm2, added / (1 - t.other_fraction), 1e-9);
  EXPECT_DOUBLE_EQ(doubled.of("matrix_unit"), base.of("matrix_unit"));
}

TEST(Area, EachUnifiedBufferPortBeyondAReadAndAWritePortAddsTheTablesShare) {
  const AreaTable t = shipped();
  ASSERT_GT(t.sram_extra_port_fraction, 0);
  const double base = chip_area(t, shipped_chip("tpu_v1.yaml")).of("unified_buffer");
  // 256 macros of 96 KiB (24 MiB over a 256-byte row), worked out from the table as the other tests do.
  EXPECT_NEAR(base, 256 * (t.sram_um2_per_byte * 96 * 1024 + t.sram_um2_per_macro) * 1e-6, 1e-9);
  const ChipArea two_reads = chip_area(t, shipped_chip("tpu_v1.yaml", {"unified_buffer.read_ports=2"}));
  const ChipArea four = chip_area(t, shipped_chip("tpu_v1.yaml", {"unified_buffer.read_ports=2", "unified_buffer.write_ports=2"}));
  EXPECT_NEAR(two_reads.of("unified_buffer"), base * (1 + t.sram_extra_port_fraction), 1e-9);
  EXPECT_NEAR(four.of("unified_buffer"), base * (1 + 2 * t.sram_extra_port_fraction), 1e-9);
  EXPECT_DOUBLE_EQ(two_reads.of("accumulators"), chip_area(t, shipped_chip("tpu_v1.yaml")).of("accumulators"));
}

TEST(Area, AtAnotherNodeLogicAndMemoriesScaleByTheSquareAndIoByItsExponent) {
  const AreaTable t = shipped();
  const ChipArea at28 = chip_area(t, shipped_chip("tpu_v1.yaml"));
  const ChipArea at14 = chip_area(t, shipped_chip("tpu_v1.yaml", {"energy.technology_nm=14"}));
  for (const char* b : {"matrix_unit", "unified_buffer", "accumulators", "weight_fifo", "activation_unit", "control"})
    EXPECT_NEAR(at14.of(b), at28.of(b) * 0.5 * 0.5, 1e-9) << b;
  // The shipped table's PHYs do not shrink (io_node_exponent 0).
  EXPECT_EQ(t.io_node_exponent, 0);
  for (const char* b : {"host_interface", "weight_memory"}) EXPECT_NEAR(at14.of(b), at28.of(b), 1e-9) << b;
  EXPECT_NEAR(at14.of("other"), t.other_fraction * at14.total_mm2, 1e-9);
  // With exponent 1, half the node halves them: 15.75 GB/s of host link, 34 GB/s of DRAM.
  const AreaTable linear = load_area_table(edited("n1.yaml", "io_node_exponent: 0", "io_node_exponent: 1"));
  const ChipArea linear14 = chip_area(linear, shipped_chip("tpu_v1.yaml", {"energy.technology_nm=14"}));
  EXPECT_NEAR(linear14.of("host_interface"), 15.75 * t.host_link_mm2_per_gb_s * 0.5, 1e-9);
  EXPECT_NEAR(linear14.of("weight_memory"), 34 * t.dram_mm2_per_gb_s * 0.5, 1e-9);
  EXPECT_NEAR(linear14.of("matrix_unit"), at14.of("matrix_unit"), 1e-9);
}

TEST(Area, TheTinyChipIsItsIoAndControl) {
  const AreaTable t = shipped();
  const ChipArea tiny = chip_area(t, shipped_chip("tiny.yaml"));
  EXPECT_DOUBLE_EQ(tiny.of("matrix_unit"), 8 * 8 * t.mac_um2 * 1e-6);
  // Same host link and DRAM bandwidth as TPU v1, a 64-MAC array: I/O and control are most of it.
  EXPECT_GT(share(tiny, {"host_interface", "weight_memory", "control"}), 0.7);
  EXPECT_LT(tiny.total_mm2, chip_area(t, shipped_chip("tpu_v1.yaml")).total_mm2 / 5);
}

TEST(Area, CalibratedMacIsAFewTimesItsCells) {
  // An 8-bit multiplier, a 32-bit adder and the PE's registers at 45 nm, scaled to 28 nm by node^2.
  const AreaTable t = shipped();
  const double cells =
      (t.cross_int8_mult_um2 + t.cross_int32_add_um2 + kFlopsPerPe * t.cross_flop_um2) * (28.0 / 45) * (28.0 / 45);
  // Layout over cells: EIE's arithmetic unit is 2.9x its cells; allow 2x to 5x.
  EXPECT_GT(t.mac_um2 / cells, 2);
  EXPECT_LT(t.mac_um2 / cells, 5);
}

TEST(Area, TableMistakesNameFileLineAndKey) {
  const std::string bad = edited("a1.yaml", "mac_um2: 1263", "mac_um2: big");
  EXPECT_NE(error_of(bad).find(bad + ":"), std::string::npos);
  EXPECT_NE(error_of(bad).find(": area.mac_um2: expected a number, got 'big'"), std::string::npos) << error_of(bad);
  const std::string negative = edited("a2.yaml", "other_fraction: 0.21", "other_fraction: -1");
  EXPECT_NE(error_of(negative).find("area.other_fraction: -1 is out of range"), std::string::npos)
      << error_of(negative);
  const std::string missing = edited("a3.yaml", "  control_mm2: 6.62\n", "");
  EXPECT_NE(error_of(missing).find("area.control_mm2: missing"), std::string::npos) << error_of(missing);
  const std::string misspelt = edited("a4.yaml", "leakage_w_per_mm2:", "leakage_w_per_mm:");
  EXPECT_NE(error_of(misspelt).find("static.leakage_w_per_mm: unknown key; did you mean 'leakage_w_per_mm2'?"),
            std::string::npos)
      << error_of(misspelt);
  EXPECT_NE(error_of(write_table("a5.yaml", "node_nm: [28\n")).find("YAML syntax error"), std::string::npos);
  EXPECT_NE(error_of(testing::TempDir() + "none.yaml").find("cannot open"), std::string::npos);
}

TEST(Area, AKeyGivenTwiceIsRefusedWithBothLines) {
  // A lookup would take one of the two values and hide the other.
  const std::string twice = write_table("a6.yaml", "node_nm: 28\narea:\n  mac_um2: 1263\n  mac_um2: 1300\n");
  EXPECT_NE(error_of(twice).find(twice + ":4:3: area.mac_um2: given twice (first at line 3)"), std::string::npos)
      << error_of(twice);
  const std::string top = write_table("a7.yaml", "node_nm: 28\nnode_nm: 14\n");
  EXPECT_NE(error_of(top).find(top + ":2:1: node_nm: given twice (first at line 1)"), std::string::npos)
      << error_of(top);
  // In the shipped table, its line given again just below it.
  const std::string shipped_twice = edited("a8.yaml", "  mac_um2: 1263\n", "  mac_um2: 1263\n  mac_um2: 1300\n");
  const int line = test::line_of("energy/28nm_area.yaml", "  mac_um2: 1263");
  EXPECT_NE(error_of(shipped_twice)
                .find(shipped_twice + ":" + std::to_string(line + 1) + ":3: area.mac_um2: given twice (first at line " +
                      std::to_string(line) + ")"),
            std::string::npos)
      << error_of(shipped_twice);
}

}  // namespace
}  // namespace tpu::sim
