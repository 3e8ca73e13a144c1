// Energy: counted events times the table's prices, scaled to the node, plus
// static power from the chip's area. Expected values are worked out here from
// the tables' numbers, without the area model; the TPU v1 idle power it was
// calibrated to is a drift guard of its own.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <regex>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/energy.h"
#include "tests/support/table_files.h"

namespace tpu::sim {
namespace {

using test::kConfigs;
using test::shipped_chip;
using test::write_table;

// The shipped energy table with `from` replaced by `to` (a regular expression), as a temporary file.
std::string edited_table(const std::string& name, const std::string& from, const std::string& to) {
  return test::edited_copy("energy/45nm.yaml", name, from, to);
}

// A table with the rule prices and SRAM points every table needs, plus `prices` and `events`.
std::string minimal_table(const std::string& prices, const std::string& events, const std::string& node = "45") {
  return "node_nm: " + node + "\nprices_pj: {register_clock: 0, register_data: 0, wire_bit_mm: 0, " + prices +
         "}\noffchip_pj: {}\nsram:\n  read_64bit_pj: [{bytes: 1, pj: 1}, {bytes: 2, pj: 2}]\n"
         "  write_per_read: 1\n  wire_mm_per_sqrt_mm2: 0\nevents:\n" +
         events;
}

// Counters by "unit.stat", booked in region 0 of a run of `cycles`.
class Counts {
 public:
  Counts(const std::map<std::string, uint64_t>& values, Cycle cycles) {
    for (const auto& [counter, n] : values) {
      const std::string group = counter.substr(0, counter.find('.'));
      StatGroup* g = nullptr;
      for (auto& owned : groups_)
        if (owned->name() == group) g = owned.get();
      if (!g) g = groups_.emplace_back(std::make_unique<StatGroup>(group)).get();
      g->add(counter.substr(counter.find('.') + 1), "", "").add(n, 0, When::at(0));
    }
    for (auto& g : groups_) g->finish(cycles);
  }
  std::vector<const StatGroup*> stats() const {
    std::vector<const StatGroup*> v;
    for (const auto& g : groups_) v.push_back(g.get());
    return v;
  }

 private:
  std::vector<std::unique_ptr<StatGroup>> groups_;
};

// Every counter the shipped table prices, at `n` each.
std::map<std::string, uint64_t> every_counter(const EnergyTable& t, uint64_t n) {
  std::map<std::string, uint64_t> m;
  for (const auto& e : t.events) m[e.counter] = n;
  m["matrix_unit.array_active_cycles"] = n;
  return m;
}

// The tiny chip's die (configs/tiny.yaml, at the area table's 28 nm) from the
// area table's entries, without the area model (area_test.cc works it out block
// by block): 8 x 8 MACs; on each of its 8 lanes a unified-buffer macro of 64 KiB
// / 8 = 8 KiB, an accumulator macro of 256 entries x 4 bytes and a weight-FIFO
// macro of 4 tiles x 8 rows; 8 activation lanes; control; I/O for 15.75 GB/s
// of host link and 34 GB/s of DRAM; all over 1 - other_fraction. With the
// shipped entries: 40.774 mm2 of blocks, a 51.613 mm2 die.
double tiny_die_mm2(const AreaTable& t) {
  const double lane_um2 = t.sram_um2_per_byte * (8192 + 256 * 4 + 4 * 8) + 3 * t.sram_um2_per_macro;
  const double um2 = 8 * 8 * t.mac_um2 + 8 * lane_um2 + 8 * t.activation_lane_um2;
  const double blocks = um2 * 1e-6 + t.control_mm2 + 15.75 * t.host_link_mm2_per_gb_s + 34 * t.dram_mm2_per_gb_s;
  return blocks / (1 - t.other_fraction);
}

// The tiny chip's static power at 28 nm and `mhz`, ungated, by hand:
//   leakage       leakage_w_per_mm2 x the die, at the area table's own node:
//                 0.0370 W/mm2 x 51.613 mm2                                  1.9097 W
//   DRAM standby  dram_standby_w_per_gib x its 1 MiB: 0.1875 W / 1024        0.0002 W
//   array clock   64 PEs x (8 + 2 x 8 + 32) register bits (an int8 input, two
//                 int8 weights, an int32 sum) x register_clock, from the
//                 energy table's node to 28 nm, every cycle:
//                 64 x 56 x 0.00893 pJ x 28/45 x 700 MHz                     0.0139 W
//                                                                            1.9238 W
StaticPower tiny_static_power(const EnergyModel& m, double mhz) {
  StaticPower s;
  s.leakage_w = m.area.leakage_w_per_mm2 * tiny_die_mm2(m.area);
  s.dram_standby_w = m.area.dram_standby_w_per_gib / 1024;
  s.array_clock_w = 64 * 56 * m.energy.prices_pj.at("register_clock") * 28 / m.energy.node_nm * 1e-12 * mhz * 1e6;
  return s;
}

TEST(Energy, PricesEventsScalesToTheNodeAndAddsStaticPower) {
  const EnergyTable t = load_energy_table(write_table("e.yaml", minimal_table("mult: 2, add: 0.5, read: 8",
                                                                              "  - {counter: mu.macs, per: 1, cost: "
                                                                              "[mult, add]}\n"
                                                                              "  - {counter: ub.read_bytes, per: 4, "
                                                                              "cost: [read]}\n",
                                                                              "56")));
  const Counts c({{"mu.macs", 1000}, {"ub.read_bytes", 400}}, 1000);
  const ChipParams p = shipped_chip("tiny.yaml", {"clock_mhz=500"});  // 28 nm, half the energy table's node
  const EnergyModel m{t, load_area_table(p.energy.area_table)};
  const EnergyReport r = price(m, p, c.stats(), 1000);
  const double scale = 28.0 / 56.0;
  EXPECT_DOUBLE_EQ(r.scale, scale);
  const double mu_pj = 1000 * (2 + 0.5) * scale, ub_pj = 400.0 / 4 * 8 * scale;
  EXPECT_DOUBLE_EQ(r.unit_pj.at("mu"), mu_pj);
  EXPECT_DOUBLE_EQ(r.unit_pj.at("ub"), ub_pj);
  EXPECT_DOUBLE_EQ(r.dynamic_pj, mu_pj + ub_pj);
  const double seconds = 1000 / 500e6;
  EXPECT_DOUBLE_EQ(r.seconds, seconds);
  // The minimal table's register_clock is 0: leakage and DRAM standby only.
  const double static_w = tiny_static_power(m, 500).total_w();
  EXPECT_NEAR(r.static_pj, static_w * seconds * 1e12, 1e-9 * r.static_pj);
  EXPECT_NEAR(r.total_pj, mu_pj + ub_pj + static_w * seconds * 1e12, 1e-9 * r.total_pj);
  EXPECT_NEAR(r.average_power_w, (mu_pj + ub_pj) * 1e-12 / seconds + static_w, 1e-9 * r.average_power_w);
  EXPECT_DOUBLE_EQ(r.dynamic_power_w, (mu_pj + ub_pj) * 1e-12 / seconds);
}

// Guards the calibration against drift; it does not show the model right: the
// leakage density was fitted so that this holds (28nm_area.yaml), and a change
// to the area rules, the clock's price or the DRAM standby that moves TPU v1's
// idle power fails here until the density is refitted. Target: Jouppi et al.,
// ISCA 2017, Table 2, 28 W idle per die. Tolerance 1% (0.28 W): the paper gives
// whole watts, and the density's rounding to three digits alone moves the sum
// by up to 0.02 W.
TEST(Calibration, TpuV1IdlePowerStaysAtTheMeasured28Watts) {
  const ChipParams p = shipped_chip("tpu_v1.yaml");
  const EnergyModel m = load_energy_model(p);
  EXPECT_NEAR(static_power(m, p, chip_area(m.area, p)).total_w(), 28.0, 0.28);
}

TEST(Energy, TheTinyChipsStaticPowerWorkedOutByHand) {
  const ChipParams p = shipped_chip("tiny.yaml");
  const EnergyModel m = load_energy_model(p);
  const StaticPower s = static_power(m, p, chip_area(m.area, p)), expected = tiny_static_power(m, 700);
  EXPECT_NEAR(s.leakage_w, expected.leakage_w, 1e-12);
  EXPECT_NEAR(s.dram_standby_w, expected.dram_standby_w, 1e-15);
  EXPECT_NEAR(s.array_clock_w, expected.array_clock_w, 1e-15);
  // The comment's figures, so that it cannot go stale: a change of the shipped entries must update it.
  EXPECT_NEAR(s.total_w(), 1.9238, 0.0001);
}

TEST(Energy, TheTinyChipLeaksASmallFractionOfTpuV1) {
  const ChipParams big = shipped_chip("tpu_v1.yaml"), tiny = shipped_chip("tiny.yaml");
  const EnergyModel m = load_energy_model(big);
  const double p_big = static_power(m, big, chip_area(m.area, big)).total_w();
  const double p_tiny = static_power(m, tiny, chip_area(m.area, tiny)).total_w();
  // Its I/O and control are TPU v1's; its array, memories and DRAM are small.
  EXPECT_LT(p_tiny, 0.15 * p_big) << p_tiny << " W against " << p_big << " W";
}

TEST(Energy, DoublingTheUnifiedBufferLeaksItsAddedArea) {
  const ChipParams p = shipped_chip("tpu_v1.yaml"), doubled = shipped_chip("tpu_v1.yaml", {"unified_buffer.size_bytes=48MiB"});
  const EnergyModel m = load_energy_model(p);
  const double before = static_power(m, p, chip_area(m.area, p)).total_w();
  const double after = static_power(m, doubled, chip_area(m.area, doubled)).total_w();
  // 24 MiB more at sram_um2_per_byte (the lane macros grow, their number does not), plus the die's unassigned share.
  const double added_mm2 = m.area.sram_um2_per_byte * (24 << 20) * 1e-6 / (1 - m.area.other_fraction);
  EXPECT_NEAR(after - before, m.area.leakage_w_per_mm2 * added_mm2, 1e-9);
}

TEST(Energy, LeakageDensityScalesByTheTablesExponent) {
  const ChipParams p28 = shipped_chip("tpu_v1.yaml"), p14 = shipped_chip("tpu_v1.yaml", {"energy.technology_nm=14"});
  const EnergyModel m = load_energy_model(p28);
  EXPECT_DOUBLE_EQ(leakage_density(m.area, p28), m.area.leakage_w_per_mm2);
  // The shipped exponent is -1: at half the node, twice the watts per mm2.
  EXPECT_EQ(m.area.leakage_node_exponent, -1);
  EXPECT_DOUBLE_EQ(leakage_density(m.area, p14), 2 * m.area.leakage_w_per_mm2);
  const AreaTable steep = load_area_table(
      test::edited_copy("energy/28nm_area.yaml", "l1.yaml", "leakage_node_exponent: -1", "leakage_node_exponent: -2"));
  EXPECT_DOUBLE_EQ(leakage_density(steep, p14), 4 * m.area.leakage_w_per_mm2);
}

TEST(Energy, ClockGatingMovesTheArrayClockIntoItsActiveCycles) {
  const ChipParams ungated = shipped_chip("tpu_v1.yaml"), gated = shipped_chip("tpu_v1.yaml", {"energy.clock_gating=array"});
  const EnergyModel m = load_energy_model(ungated);
  std::map<std::string, uint64_t> with_active = every_counter(m.energy, 0);
  with_active["matrix_unit.array_active_cycles"] = 400;
  const Counts busy(with_active, 1000);
  const EnergyReport off = price(m, ungated, busy.stats(), 1000), on = price(m, gated, busy.stats(), 1000);
  const double clock_pj = 65536.0 * 56 * m.energy.prices_pj.at("register_clock") * 28 / 45;
  EXPECT_NEAR(off.static_pj - on.static_pj, clock_pj * 1000, 1e-6 * clock_pj);
  EXPECT_NEAR(on.dynamic_pj - off.dynamic_pj, clock_pj * 400, 1e-6 * clock_pj);
  EXPECT_DOUBLE_EQ(on.static_power.array_clock_w, 0);
}

TEST(Energy, ChangingAPriceInTheTableChangesTheEnergyByIt) {
  const ChipParams p = shipped_chip("tpu_v1.yaml");
  const EnergyModel shipped = load_energy_model(p);
  EnergyModel changed = shipped;
  changed.energy = load_energy_table(edited_table("price.yaml", "int8_mult: 0.2", "int8_mult: 0.7"));
  std::map<std::string, uint64_t> counts = every_counter(shipped.energy, 0);
  counts["matrix_unit.useful_macs"] = 1'000'000;
  const Counts c(counts, 1000);
  const double delta = price(changed, p, c.stats(), 1000).total_pj - price(shipped, p, c.stats(), 1000).total_pj;
  EXPECT_NEAR(delta, 1e6 * (0.7 - 0.2) * 28 / 45, 1e-6);
}

TEST(Energy, UnknownPriceIsNamedWithItsLine) {
  const std::string path = write_table("bad.yaml", minimal_table("mult: 2", "  - counter: mu.macs\n    cost: [mul]\n"));
  try {
    load_energy_table(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":10:12: no price named 'mul'; did you mean 'mult'?"),
              std::string::npos)
        << e.what();
  }
}

std::string error_of(const std::string& path) { return test::config_error_of(load_energy_table, path); }

TEST(Energy, TableMistakesNameFileLineAndKey) {
  const std::string bad = edited_table("b1.yaml", "int8_add: 0.03", "int8_add: cheap");
  EXPECT_NE(error_of(bad).find(bad + ":"), std::string::npos);
  EXPECT_NE(error_of(bad).find(": prices_pj.int8_add: expected a number, got 'cheap'"), std::string::npos)
      << error_of(bad);
  const std::string listed = edited_table("b1l.yaml", "int8_add: 0.03", "[int8_add]: 0.03");
  const int listed_line = test::line_of("energy/45nm.yaml", "  int8_add: 0.03");
  EXPECT_NE(error_of(listed).find(listed + ":" + std::to_string(listed_line) + ":"), std::string::npos)
      << error_of(listed);
  EXPECT_NE(error_of(listed).find("prices_pj: a price needs a plain name"), std::string::npos) << error_of(listed);
  const std::string negative = edited_table("b2.yaml", "int8_add: 0.03", "int8_add: -1");
  EXPECT_NE(error_of(negative).find("prices_pj.int8_add: -1 is out of range"), std::string::npos) << error_of(negative);
  const std::string missing = edited_table("b3.yaml", "  register_clock: [0-9.]+\n", "");
  EXPECT_NE(error_of(missing).find("prices_pj.register_clock: missing"), std::string::npos) << error_of(missing);
  const std::string misspelt = edited_table("b4.yaml", "\nevents:", "\nevent:");
  EXPECT_NE(error_of(misspelt).find("event: unknown key; did you mean 'events'?"), std::string::npos)
      << error_of(misspelt);
  const std::string per = edited_table("b5.yaml", "per: 4", "per: 0");
  EXPECT_NE(error_of(per).find("events.per: 0 is out of range"), std::string::npos) << error_of(per);
  const std::string order = edited_table("b6.yaml", "bytes: 32768", "bytes: 4096");
  EXPECT_NE(error_of(order).find("sram.read_64bit_pj.bytes: points must grow in size"), std::string::npos)
      << error_of(order);
  const std::string taken = edited_table("b7.yaml", "  int8_add:", "  array_data:");
  EXPECT_NE(error_of(taken).find("prices_pj.array_data: a price of that name exists already"), std::string::npos)
      << error_of(taken);
  const std::string no_sram = edited_table("b8.yaml", "\nsram:", "\nsrams:");
  EXPECT_NE(error_of(no_sram).find("srams: unknown key; did you mean 'sram'?"), std::string::npos) << error_of(no_sram);
}

TEST(Energy, AKeyGivenTwiceIsRefusedWithBothLines) {
  // A line of the shipped table given again just below it.
  const std::string price = edited_table("d1.yaml", "  int8_add: 0.03\n", "  int8_add: 0.03\n  int8_add: 0.04\n");
  const int line = test::line_of("energy/45nm.yaml", "  int8_add: 0.03");
  EXPECT_NE(error_of(price).find(price + ":" + std::to_string(line + 1) +
                                 ":3: prices_pj.int8_add: given twice (first at line " + std::to_string(line) + ")"),
            std::string::npos)
      << error_of(price);
  // Inside an entry of a list: the event on line 9 of the minimal table names its counter twice, the second at
  // column 38.
  const std::string event =
      write_table("d2.yaml", minimal_table("mult: 2", "  - {counter: mu.macs, cost: [mult], counter: mu.other}\n"));
  EXPECT_NE(error_of(event).find(event + ":9:38: events.counter: given twice (first at line 9)"), std::string::npos)
      << error_of(event);
}

TEST(Energy, SramReadEnergyJoinsThePublishedPointsInLogLog) {
  const EnergyTable t = load_energy_table(kConfigs + "energy/45nm.yaml");
  const double kib = 1024;
  // Horowitz's 64-bit reads at 8 KB, 32 KB and 1 MB.
  EXPECT_NEAR(sram_read_64bit_pj(t, 8 * kib), 10, 1e-9);
  EXPECT_NEAR(sram_read_64bit_pj(t, 32 * kib), 20, 1e-9);
  EXPECT_NEAR(sram_read_64bit_pj(t, 1024 * kib), 100, 1e-9);
  // Halfway in log size is the geometric mean of the energies.
  EXPECT_NEAR(sram_read_64bit_pj(t, 16 * kib), std::sqrt(10.0 * 20), 1e-9);
  // 128 KB is 2 of the 5 doublings from 32 KB to 1 MB.
  EXPECT_NEAR(sram_read_64bit_pj(t, 128 * kib), 20 * std::pow(5.0, 2 / 5.0), 1e-9);
  // Beyond the points, the end segments' power laws: E ~ C^(log 2 / log 4) below, C^(log 5 / log 32) above.
  EXPECT_NEAR(sram_read_64bit_pj(t, 2 * kib), 10 * std::pow(0.25, std::log(2.0) / std::log(4.0)), 1e-9);
  EXPECT_NEAR(sram_read_64bit_pj(t, 4096 * kib), 100 * std::pow(4.0, std::log(5.0) / std::log(32.0)), 1e-9);
}

TEST(Energy, AUnifiedBufferBytePaysItsMacroAndItsWire) {
  const ChipParams p = shipped_chip("tpu_v1.yaml");
  const EnergyModel m = load_energy_model(p);
  const double s = 28.0 / 45;
  const double wire_bit_mm = m.energy.prices_pj.at("wire_bit_mm"), mm_per_root = m.energy.sram_wire_mm_per_sqrt_mm2;
  // A 96 KiB lane macro (24 MiB / 256), between the 32 KB and 1 MB points.
  const double macro64 = 20 * std::pow(3.0, std::log(100.0 / 20) / std::log(32.0));
  const double area_mm2 = 256 * (m.area.sram_um2_per_byte * 96 * 1024 + m.area.sram_um2_per_macro) * 1e-6;
  const double wire = 8 * wire_bit_mm * mm_per_root * std::sqrt(area_mm2);
  const double read = macro64 / 8 * s + wire;  // the macro scales with the node, the wire per mm does not
  const std::map<std::string, double> prices = chip_prices(m, p);
  EXPECT_NEAR(prices.at("unified_buffer_read"), read, 1e-9);
  // Writes: the table prices the macro's part at write_per_read of a read.
  EnergyModel dear = m;
  dear.energy = load_energy_table(edited_table("w.yaml", "write_per_read: 1.0", "write_per_read: 3"));
  const std::map<std::string, double> dear_prices = chip_prices(dear, p);
  EXPECT_NEAR(dear_prices.at("unified_buffer_read"), read, 1e-9);
  EXPECT_NEAR(dear_prices.at("unified_buffer_write"), 3 * macro64 / 8 * s + wire, 1e-9);
  // An accumulator byte: a byte of a 16 KiB column macro, 16 KiB lying halfway between 8 and 32 KB.
  const double acc_mm2 = 256 * (m.area.sram_um2_per_byte * 16 * 1024 + m.area.sram_um2_per_macro) * 1e-6;
  EXPECT_NEAR(prices.at("accumulators_read"),
              std::sqrt(200.0) / 8 * s + 8 * wire_bit_mm * mm_per_root * std::sqrt(acc_mm2), 1e-9);
}

TEST(Energy, DoublingTheUnifiedBufferRaisesItsAccessEnergy) {
  const ChipParams p = shipped_chip("tpu_v1.yaml"), doubled = shipped_chip("tpu_v1.yaml", {"unified_buffer.size_bytes=48MiB"});
  const EnergyModel m = load_energy_model(p);
  EXPECT_GT(chip_prices(m, doubled).at("unified_buffer_read"), chip_prices(m, p).at("unified_buffer_read"));
}

TEST(Energy, EveryPeOfTheArrayPaysItsDataInActiveCycles) {
  const ChipParams p = shipped_chip("tpu_v1.yaml");
  const EnergyModel m = load_energy_model(p);
  std::map<std::string, uint64_t> counts = every_counter(m.energy, 0);
  counts["matrix_unit.array_active_cycles"] = 100;  // vectors flowed, no useful MAC (a tile of zeros)
  const Counts c(counts, 1000);
  const EnergyReport r = price(m, p, c.stats(), 1000);
  // 65,536 PEs, each passing 8 input bits right and 32 partial-sum bits down.
  EXPECT_NEAR(r.dynamic_pj, 100 * 65536.0 * 40 * m.energy.prices_pj.at("register_data") * 28 / 45, 1e-6);
}

TEST(Energy, OffChipBitsAreNotScaledToTheNode) {
  const ChipParams p28 = shipped_chip("tpu_v1.yaml"), p14 = shipped_chip("tpu_v1.yaml", {"energy.technology_nm=14"});
  const EnergyModel m = load_energy_model(p28);
  std::map<std::string, uint64_t> counts = every_counter(m.energy, 0);
  counts["weight_memory.read_bytes"] = 1000;
  counts["host_interface.host_read_bytes"] = 10;
  const Counts c(counts, 1000);
  const double expected =
      1000 * 8 * m.energy.offchip_pj.at("dram_read_bit") + 10 * 8 * m.energy.offchip_pj.at("host_link_bit");
  EXPECT_NEAR(price(m, p28, c.stats(), 1000).dynamic_pj, expected, 1e-6);
  EXPECT_NEAR(price(m, p14, c.stats(), 1000).dynamic_pj, expected, 1e-6);
}

TEST(Energy, ACounterTheChipDoesNotHaveIsNamedWithItsLineAndTheNearestCounter) {
  // The event stands on line 9 of the minimal table; its counter's name at column 15.
  const std::string path = write_table("c.yaml", minimal_table("mult: 2", "  - {counter: mu.mac, cost: [mult]}\n"));
  const EnergyTable t = load_energy_table(path);
  const Counts c({{"mu.macs", 1}, {"ub.read_bytes", 1}}, 10);
  const ChipParams p = shipped_chip("tiny.yaml");
  const std::string error = test::config_error_of(
      [&](const std::string&) {
        price({t, load_area_table(p.energy.area_table)}, p, c.stats(), 10);
      },
      path);
  EXPECT_NE(error.find(path + ":9:15: prices counter 'mu.mac', which the chip does not count; did you mean "
                              "'mu.macs'?"),
            std::string::npos)
      << error;
}

TEST(Energy, TheShippedTableLoads) {
  const EnergyTable t = load_energy_table(kConfigs + "energy/45nm.yaml");
  EXPECT_EQ(t.node_nm, 45);
  EXPECT_EQ(t.offchip_pj.at("dram_read_bit"), 20);  // Horowitz: 640 pJ per 32 bits
  EXPECT_FALSE(t.events.empty());
}

}  // namespace
}  // namespace tpu::sim
