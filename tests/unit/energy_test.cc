// Energy: counted events times prices, scaled to the node, plus static power.

#include <gtest/gtest.h>

#include <fstream>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/energy.h"

namespace tpu::sim {
namespace {

std::string write_table(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

ChipParams params_at(double node_nm, double static_w, double clock_mhz) {
  ChipParams p = read_chip_params(Config::load(std::string(TPUSIM_SOURCE_DIR) + "/configs/tiny.yaml"));
  p.clock_mhz = clock_mhz;
  p.energy.technology_nm = node_nm;
  p.energy.static_power_w = static_w;
  return p;
}

// An energy table with an area table of no area.
EnergyModel model_of(const EnergyTable& t) {
  AreaTable a;
  a.node_nm = 28;
  return {t, a};
}

TEST(Energy, PricesEventsScalesToTheNodeAndAddsStaticPower) {
  const EnergyTable t = load_energy_table(write_table("e.yaml",
                                                      "node_nm: 40\n"
                                                      "prices_pj: {mult: 2, add: 0.5, read: 8}\n"
                                                      "events:\n"
                                                      "  - {counter: mu.macs, per: 1, cost: [mult, add]}\n"
                                                      "  - {counter: ub.read_bytes, per: 4, cost: [read]}\n"));
  StatGroup mu("mu"), ub("ub");
  mu.add("macs", "MACs", "").add(1000, 0, When::at(0));
  ub.add("read_bytes", "bytes", "").add(400, 0, When::at(0));
  mu.finish(1000);
  ub.finish(1000);
  const EnergyReport r = price(model_of(t), params_at(20, 3, 500), {&mu, &ub}, 1000);
  const double scale = 20.0 / 40.0;
  EXPECT_DOUBLE_EQ(r.scale, scale);
  EXPECT_DOUBLE_EQ(r.unit_pj.at("mu"), 1000 * (2 + 0.5) * scale);
  EXPECT_DOUBLE_EQ(r.unit_pj.at("ub"), 400.0 / 4 * 8 * scale);
  EXPECT_DOUBLE_EQ(r.seconds, 1000 / 500e6);
  EXPECT_DOUBLE_EQ(r.static_pj, 3 * r.seconds * 1e12);
  EXPECT_DOUBLE_EQ(r.total_pj, r.dynamic_pj + r.static_pj);
  EXPECT_DOUBLE_EQ(r.average_power_w, r.total_pj * 1e-12 / r.seconds);
}

TEST(Energy, UnknownPriceIsNamedWithItsLine) {
  const std::string path = write_table("bad.yaml",
                                       "node_nm: 45\nprices_pj: {mult: 2}\nevents:\n"
                                       "  - counter: mu.macs\n    cost: [mul]\n");
  try {
    load_energy_table(path);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":5:12: no price named 'mul'; did you mean 'mult'?"), std::string::npos)
        << e.what();
  }
}

TEST(Energy, ACounterTheChipDoesNotHaveIsAnError) {
  const EnergyTable t = load_energy_table(
      write_table("c.yaml", "node_nm: 45\nprices_pj: {mult: 2}\nevents:\n  - {counter: mu.flops, cost: [mult]}\n"));
  StatGroup mu("mu");
  mu.add("macs", "MACs", "");
  EXPECT_THROW(price(model_of(t), params_at(45, 0, 100), {&mu}, 10), ConfigError);
}

TEST(Energy, TheShippedTableLoads) {
  const EnergyTable t = load_energy_table(std::string(TPUSIM_SOURCE_DIR) + "/configs/energy/45nm.yaml");
  EXPECT_EQ(t.node_nm, 45);
  EXPECT_EQ(t.prices_pj.at("dram_read_32bit"), 640);
  EXPECT_FALSE(t.events.empty());
}

}  // namespace
}  // namespace tpu::sim
