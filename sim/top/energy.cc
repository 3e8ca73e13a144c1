#include "sim/top/energy.h"

#include <algorithm>
#include <cmath>

#include "isa/text.h"
#include "sim/base/config.h"
#include "sim/top/tech_table.h"

namespace tpu::sim {

namespace {

double node_scale(const EnergyTable& t, const ChipParams& p) { return p.energy.technology_nm / t.node_nm; }

// Units a chip may be built without (sparse_engine.pes: 0): the table's events of their counters count
// nothing there.
bool optional_unit(const std::string& group) { return group == "sparse_engine"; }

// The count of `counter` ("unit.stat"); `at` names where it was asked for in messages.
uint64_t count_of(const std::vector<const StatGroup*>& stats, const std::string& counter, std::optional<size_t> region,
                  const std::string& at) {
  const size_t dot = counter.find('.');
  const std::string group = counter.substr(0, dot), stat = dot == std::string::npos ? "" : counter.substr(dot + 1);
  if (optional_unit(group) &&
      std::none_of(stats.begin(), stats.end(), [&](const StatGroup* g) { return g->name() == group; }))
    return 0;
  std::vector<std::string> names;
  for (const StatGroup* g : stats)
    for (const auto& s : g->stats()) {
      if (g->name() == group && s.name == stat) return region ? g->value(stat, *region) : g->value(stat);
      names.push_back(g->name() + "." + s.name);
    }
  const std::vector<std::string_view> views(names.begin(), names.end());
  throw ConfigError(at + ": prices counter '" + counter + "', which the chip does not count" +
                    isa::did_you_mean(counter, views));
}

}  // namespace

EnergyTable load_energy_table(const std::string& path) {
  const TechTable f(path);
  const YAML::Node& root = f.root();
  f.only(root, "", {"node_nm", "prices_pj", "offchip_pj", "sram", "events"});
  EnergyTable t;
  t.path = path;
  t.node_nm = f.number(root, "", "node_nm", 1, 1000);
  std::vector<std::string_view> names(kDerivedPrices.begin(), kDerivedPrices.end());
  for (const auto& [key, prices] : {std::pair{"prices_pj", &t.prices_pj}, std::pair{"offchip_pj", &t.offchip_pj}}) {
    const YAML::Node section = f.section(root, "", key);
    for (const auto& kv : section) {
      if (!kv.first.IsScalar()) throw ConfigError(f.at(kv.first) + ": " + key + ": a price needs a plain name");
      const std::string name = kv.first.Scalar();
      if (t.prices_pj.count(name) || t.offchip_pj.count(name) ||
          std::find(kDerivedPrices.begin(), kDerivedPrices.end(), name) != kDerivedPrices.end())
        throw ConfigError(f.at(kv.first) + ": " + key + "." + name + ": a price of that name exists already");
      (*prices)[name] = f.number(kv.second, std::string(key) + "." + name, 0, 1e12);
    }
    if (prices == &t.prices_pj)
      for (const std::string& name : kRulePrices)
        if (!t.prices_pj.count(name)) throw ConfigError(f.at(section) + ": prices_pj." + name + ": missing");
  }
  for (const auto& [name, unused] : t.prices_pj) names.push_back(name);
  for (const auto& [name, unused] : t.offchip_pj) names.push_back(name);

  const YAML::Node sram = f.section(root, "", "sram");
  f.only(sram, "sram", {"read_64bit_pj", "write_per_read", "wire_mm_per_sqrt_mm2"});
  t.sram_write_per_read = f.number(sram, "sram", "write_per_read", 0, 100);
  t.sram_wire_mm_per_sqrt_mm2 = f.number(sram, "sram", "wire_mm_per_sqrt_mm2", 0, 100);
  const YAML::Node points = sram["read_64bit_pj"];
  if (!points || !points.IsSequence() || points.size() < 2)
    throw ConfigError(f.at(points ? points : sram) + ": sram.read_64bit_pj: expected a list of two or more points");
  for (const auto& pt : points) {
    if (!pt.IsMap()) throw ConfigError(f.at(pt) + ": sram.read_64bit_pj: expected {bytes, pj}");
    f.only(pt, "sram.read_64bit_pj", {"bytes", "pj"});
    const double bytes = f.number(pt, "sram.read_64bit_pj", "bytes", 1, 1e15);
    const double pj = f.number(pt, "sram.read_64bit_pj", "pj", 1e-9, 1e12);
    if (!t.sram_read_64bit_pj.empty() && bytes <= t.sram_read_64bit_pj.back().first)
      throw ConfigError(f.at(pt["bytes"]) + ": sram.read_64bit_pj.bytes: points must grow in size");
    t.sram_read_64bit_pj.emplace_back(bytes, pj);
  }

  const YAML::Node events = root["events"];
  if (!events) throw ConfigError(f.at(root) + ": events: missing");
  if (!events.IsSequence()) throw ConfigError(f.at(events) + ": events: expected a list");
  try {
    for (const auto& e : events) {
      if (!e.IsMap()) throw ConfigError(f.at(e) + ": events: expected {counter, per, cost}");
      f.only(e, "events", {"counter", "per", "cost"});
      EnergyTable::Event ev;
      if (!e["counter"]) throw ConfigError(f.at(e) + ": events.counter: missing");
      ev.counter = e["counter"].as<std::string>();
      ev.at = f.at(e["counter"]);
      if (e["per"]) ev.per = f.number(e["per"], "events.per", 1e-12, 1e12);
      if (!e["cost"] || !e["cost"].IsSequence()) throw ConfigError(f.at(e) + ": events.cost: expected a list");
      for (const auto& c : e["cost"]) {
        const std::string name = c.as<std::string>();
        if (std::find(names.begin(), names.end(), name) == names.end())
          throw ConfigError(f.at(c) + ": no price named '" + name + "'" + isa::did_you_mean(name, names));
        ev.cost.push_back(name);
      }
      t.events.push_back(std::move(ev));
    }
  } catch (const YAML::Exception& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return t;
}

EnergyModel load_energy_model(const ChipParams& params) {
  return {load_energy_table(params.energy.table), load_area_table(params.energy.area_table)};
}

double array_clock_pj(const EnergyModel& m, const ChipParams& p) {
  return static_cast<double>(p.matrix_unit.rows * p.matrix_unit.cols * kFlopsPerPe) *
         m.energy.prices_pj.at("register_clock") * node_scale(m.energy, p);
}

double sram_read_64bit_pj(const EnergyTable& t, double bytes) {
  const auto& pts = t.sram_read_64bit_pj;
  size_t i = 0;  // the segment [i, i + 1] that holds `bytes`, or the end segment nearest it
  while (i + 2 < pts.size() && bytes > pts[i + 1].first) ++i;
  const auto [c0, e0] = pts[i];
  const auto [c1, e1] = pts[i + 1];
  const double exponent = std::log(e1 / e0) / std::log(c1 / c0);
  return e0 * std::pow(bytes / c0, exponent);
}

double sram_byte_pj(const EnergyModel& m, const ChipParams& p, const Sram& s, bool write) {
  const EnergyTable& t = m.energy;
  const double array =
      sram_read_64bit_pj(t, static_cast<double>(s.macro_bytes)) / 8 * (write ? t.sram_write_per_read : 1.0);
  const double wire_mm = t.sram_wire_mm_per_sqrt_mm2 * std::sqrt(sram_mm2(m.area, p, s));
  // The array's energy scales with the node; a wire's energy per mm hardly does, and its length
  // already shrinks with the memory's area.
  return array * node_scale(t, p) + 8 * t.prices_pj.at("wire_bit_mm") * wire_mm;
}

std::map<std::string, double> chip_prices(const EnergyModel& m, const ChipParams& p) {
  std::map<std::string, double> prices;
  for (const auto& [name, pj] : m.energy.prices_pj) prices[name] = pj * node_scale(m.energy, p);
  for (const auto& [name, pj] : m.energy.offchip_pj) prices[name] = pj;
  for (const std::string& name : kDerivedPrices) prices[name] = 0;  // a memory the chip has not costs nothing
  for (const Sram& s : on_chip_srams(p)) {
    prices[s.unit + "_read"] = sram_byte_pj(m, p, s, false);
    prices[s.unit + "_write"] = sram_byte_pj(m, p, s, true);
  }
  prices["array_data"] = static_cast<double>(p.matrix_unit.rows * p.matrix_unit.cols * kMovingBitsPerPe) *
                         m.energy.prices_pj.at("register_data") * node_scale(m.energy, p);
  return prices;
}

StaticPower static_power(const EnergyModel& m, const ChipParams& p, const ChipArea& area) {
  StaticPower s;
  s.leakage_w = leakage_density(m.area, p) * area.total_mm2;
  s.dram_standby_w = m.area.dram_standby_w_per_gib * static_cast<double>(p.weight_memory.size_bytes) / (1 << 30);
  if (p.energy.clock_gating == "none") s.array_clock_w = array_clock_pj(m, p) * 1e-12 * p.clock_mhz * 1e6;
  return s;
}

EnergyReport price(const EnergyModel& model, const ChipParams& params, const std::vector<const StatGroup*>& stats,
                   Cycle cycles, std::optional<size_t> region) {
  const EnergyTable& table = model.energy;
  EnergyReport r;
  r.area = chip_area(model.area, params);
  r.scale = node_scale(table, params);
  const std::map<std::string, double> prices = chip_prices(model, params);
  for (const std::string& name : kDerivedPrices) r.derived_pj[name] = prices.at(name);
  const auto book = [&](const std::string& counter, const std::string& cost, uint64_t count, double pj) {
    r.lines.push_back({counter, cost, count, pj});
    r.unit_pj[counter.substr(0, counter.find('.'))] += pj;
    r.dynamic_pj += pj;
  };
  for (const auto& ev : table.events) {
    double per_op = 0;
    std::string cost;
    for (const auto& c : ev.cost) {
      per_op += prices.at(c);
      cost += (cost.empty() ? "" : "+") + c;
    }
    const uint64_t count = count_of(stats, ev.counter, region, ev.at);
    book(ev.counter, cost, count, static_cast<double>(count) / ev.per * per_op);
  }
  // A gated array clocks its registers only while vectors flow through it.
  if (params.energy.clock_gating == "array") {
    const char* active = "matrix_unit.array_active_cycles";
    const uint64_t count = count_of(stats, active, region, table.path);
    book(active, "array_clock", count, static_cast<double>(count) * array_clock_pj(model, params));
  }
  r.static_power = static_power(model, params, r.area);
  r.seconds = static_cast<double>(cycles) / (params.clock_mhz * 1e6);
  r.static_pj = r.static_power.total_w() * r.seconds * 1e12;
  r.total_pj = r.dynamic_pj + r.static_pj;
  r.dynamic_power_w = r.seconds > 0 ? r.dynamic_pj * 1e-12 / r.seconds : 0;
  r.average_power_w = r.seconds > 0 ? r.total_pj * 1e-12 / r.seconds : 0;
  return r;
}

}  // namespace tpu::sim
