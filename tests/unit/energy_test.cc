// Energy: counted events times the table's prices, scaled to the node, plus
// static power from the chip's area. Expected values are computed here from
// the tables' numbers.

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <regex>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/energy.h"

namespace tpu::sim {
namespace {

const std::string kConfigs = std::string(TPUSIM_SOURCE_DIR) + "/configs/";

ChipParams chip(const std::string& file, const std::vector<std::string>& sets = {}) {
  Config c = Config::load(kConfigs + file);
  for (const std::string& s : sets) c.set(s);
  return read_chip_params(c);
}

std::string write_table(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// The shipped energy table with `from` replaced by `to` (a regular expression), as a temporary file.
std::string edited_table(const std::string& name, const std::string& from, const std::string& to) {
  const std::string text = read_text(kConfigs + "energy/45nm.yaml");
  const std::string changed = std::regex_replace(text, std::regex(from), to);
  EXPECT_NE(changed, text) << from;
  return write_table(name, changed);
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

TEST(Energy, PricesEventsScalesToTheNodeAndAddsStaticPower) {
  const EnergyTable t = load_energy_table(write_table("e.yaml",
                                                      "node_nm: 40\n"
                                                      "prices_pj: {mult: 2, add: 0.5, read: 8, register_clock: 0.01}\n"
                                                      "events:\n"
                                                      "  - {counter: mu.macs, per: 1, cost: [mult, add]}\n"
                                                      "  - {counter: ub.read_bytes, per: 4, cost: [read]}\n"));
  const Counts c({{"mu.macs", 1000}, {"ub.read_bytes", 400}}, 1000);
  const ChipParams p = chip("tiny.yaml", {"energy.technology_nm=20", "clock_mhz=500"});
  const EnergyModel m{t, load_area_table(p.energy.area_table)};
  const EnergyReport r = price(m, p, c.stats(), 1000);
  const double scale = 20.0 / 40.0;
  EXPECT_DOUBLE_EQ(r.scale, scale);
  EXPECT_DOUBLE_EQ(r.unit_pj.at("mu"), 1000 * (2 + 0.5) * scale);
  EXPECT_DOUBLE_EQ(r.unit_pj.at("ub"), 400.0 / 4 * 8 * scale);
  EXPECT_DOUBLE_EQ(r.seconds, 1000 / 500e6);
  EXPECT_DOUBLE_EQ(r.static_pj, r.static_power.total_w() * r.seconds * 1e12);
  EXPECT_DOUBLE_EQ(r.total_pj, r.dynamic_pj + r.static_pj);
  EXPECT_DOUBLE_EQ(r.average_power_w, r.total_pj * 1e-12 / r.seconds);
  EXPECT_DOUBLE_EQ(r.dynamic_power_w, r.dynamic_pj * 1e-12 / r.seconds);
}

TEST(Energy, TpuV1IdlesAtItsMeasured28Watts) {
  // Table 2: 28 W idle per die. The leakage density is calibrated to it and rounded to three digits: 1%.
  const ChipParams p = chip("tpu_v1.yaml");
  const EnergyModel m = load_energy_model(p);
  EXPECT_NEAR(static_power(m, p, chip_area(m.area, p)).total_w(), 28.0, 0.28);
}

TEST(Energy, StaticPowerIsLeakageDramStandbyAndTheUngatedArrayClock) {
  const ChipParams p = chip("tpu_v1.yaml");
  const EnergyModel m = load_energy_model(p);
  const ChipArea area = chip_area(m.area, p);
  const StaticPower s = static_power(m, p, area);
  EXPECT_DOUBLE_EQ(s.leakage_w, m.area.leakage_w_per_mm2 * area.total_mm2);
  EXPECT_DOUBLE_EQ(s.dram_standby_w, m.area.dram_standby_w_per_gib * 8);  // 8 GiB of DDR3
  // 65,536 PEs of 8 + 2 x 8 + 32 flops, each clocked every cycle at 700 MHz, at 28/45 of the 45 nm price.
  EXPECT_NEAR(s.array_clock_w, 65536.0 * 56 * m.energy.prices_pj.at("register_clock") * 28 / 45 * 1e-12 * 700e6, 1e-9);
}

TEST(Energy, TheTinyChipLeaksASmallFractionOfTpuV1) {
  const ChipParams big = chip("tpu_v1.yaml"), tiny = chip("tiny.yaml");
  const EnergyModel m = load_energy_model(big);
  const double p_big = static_power(m, big, chip_area(m.area, big)).total_w();
  const double p_tiny = static_power(m, tiny, chip_area(m.area, tiny)).total_w();
  // Its I/O and control are TPU v1's; its array, memories and DRAM are small.
  EXPECT_LT(p_tiny, 0.15 * p_big) << p_tiny << " W against " << p_big << " W";
}

TEST(Energy, DoublingTheUnifiedBufferLeaksItsAddedArea) {
  const ChipParams p = chip("tpu_v1.yaml"), doubled = chip("tpu_v1.yaml", {"unified_buffer.size_bytes=48MiB"});
  const EnergyModel m = load_energy_model(p);
  const double before = static_power(m, p, chip_area(m.area, p)).total_w();
  const double after = static_power(m, doubled, chip_area(m.area, doubled)).total_w();
  // 24 MiB more at sram_um2_per_byte (the lane macros grow, their number does not), plus the die's unassigned share.
  const double added_mm2 = m.area.sram_um2_per_byte * (24 << 20) * 1e-6 / (1 - m.area.other_fraction);
  EXPECT_NEAR(after - before, m.area.leakage_w_per_mm2 * added_mm2, 1e-9);
}

TEST(Energy, ClockGatingMovesTheArrayClockIntoItsActiveCycles) {
  const ChipParams ungated = chip("tpu_v1.yaml"), gated = chip("tpu_v1.yaml", {"energy.clock_gating=array"});
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
  const ChipParams p = chip("tpu_v1.yaml");
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
  const std::string path = write_table("bad.yaml",
                                       "node_nm: 45\nprices_pj: {mult: 2, register_clock: 0}\nevents:\n"
                                       "  - counter: mu.macs\n    cost: [mul]\n");
  try {
    load_energy_table(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":5:12: no price named 'mul'; did you mean 'mult'?"), std::string::npos)
        << e.what();
  }
}

std::string error_of(const std::string& path) {
  try {
    load_energy_table(path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Energy, TableMistakesNameFileLineAndKey) {
  const std::string bad = edited_table("b1.yaml", "int8_add: 0.03", "int8_add: cheap");
  EXPECT_NE(error_of(bad).find(bad + ":"), std::string::npos);
  EXPECT_NE(error_of(bad).find(": prices_pj.int8_add: expected a number, got 'cheap'"), std::string::npos)
      << error_of(bad);
  const std::string negative = edited_table("b2.yaml", "int8_add: 0.03", "int8_add: -1");
  EXPECT_NE(error_of(negative).find("prices_pj.int8_add: -1 is out of range"), std::string::npos) << error_of(negative);
  const std::string missing = edited_table("b3.yaml", "  register_clock: [0-9.]+\n", "");
  EXPECT_NE(error_of(missing).find("prices_pj.register_clock: missing"), std::string::npos) << error_of(missing);
  const std::string misspelt = edited_table("b4.yaml", "\nevents:", "\nevent:");
  EXPECT_NE(error_of(misspelt).find("event: unknown key; did you mean 'events'?"), std::string::npos)
      << error_of(misspelt);
  const std::string per = edited_table("b5.yaml", "per: 4", "per: 0");
  EXPECT_NE(error_of(per).find("events.per: 0 is out of range"), std::string::npos) << error_of(per);
}

TEST(Energy, ACounterTheChipDoesNotHaveIsAnError) {
  const EnergyTable t = load_energy_table(write_table(
      "c.yaml",
      "node_nm: 45\nprices_pj: {mult: 2, register_clock: 0}\nevents:\n  - {counter: mu.flops, cost: [mult]}\n"));
  const Counts c({{"mu.macs", 1}}, 10);
  const ChipParams p = chip("tiny.yaml");
  EXPECT_THROW(price({t, load_area_table(p.energy.area_table)}, p, c.stats(), 10), ConfigError);
}

TEST(Energy, TheShippedTableLoads) {
  const EnergyTable t = load_energy_table(kConfigs + "energy/45nm.yaml");
  EXPECT_EQ(t.node_nm, 45);
  EXPECT_EQ(t.prices_pj.at("dram_read_32bit"), 640);
  EXPECT_FALSE(t.events.empty());
}

}  // namespace
}  // namespace tpu::sim
