#include "sim/top/energy.h"

#include "isa/text.h"
#include "sim/base/config.h"
#include "sim/top/tech_table.h"

namespace tpu::sim {

namespace {

// Prices energy.cc itself needs from prices_pj.
const std::vector<std::string> kRequiredPrices = {"register_clock"};

uint64_t count_of(const std::vector<const StatGroup*>& stats, const std::string& counter, std::optional<size_t> region,
                  const std::string& table) {
  const size_t dot = counter.find('.');
  const std::string group = counter.substr(0, dot), stat = dot == std::string::npos ? "" : counter.substr(dot + 1);
  for (const StatGroup* g : stats) {
    if (g->name() != group) continue;
    for (const auto& s : g->stats())
      if (s.name == stat) return region ? g->value(stat, *region) : g->value(stat);
  }
  throw ConfigError(table + ": prices counter '" + counter + "', which the chip does not count");
}

}  // namespace

EnergyTable load_energy_table(const std::string& path) {
  const TechTable f(path);
  const YAML::Node& root = f.root();
  f.only(root, "", {"node_nm", "prices_pj", "events"});
  EnergyTable t;
  t.path = path;
  t.node_nm = f.number(root, "", "node_nm", 1, 1000);
  const YAML::Node prices = f.section(root, "", "prices_pj");
  for (const auto& kv : prices) {
    const std::string name = kv.first.as<std::string>();
    t.prices_pj[name] = f.number(kv.second, "prices_pj." + name, 0, 1e12);
  }
  for (const std::string& name : kRequiredPrices)
    if (!t.prices_pj.count(name)) throw ConfigError(f.at(prices) + ": prices_pj." + name + ": missing");
  std::vector<std::string_view> names;
  for (const auto& [name, unused] : t.prices_pj) names.push_back(name);
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
      if (e["per"]) ev.per = f.number(e["per"], "events.per", 1e-12, 1e12);
      if (!e["cost"] || !e["cost"].IsSequence()) throw ConfigError(f.at(e) + ": events.cost: expected a list");
      for (const auto& c : e["cost"]) {
        const std::string name = c.as<std::string>();
        if (!t.prices_pj.count(name))
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
  const double scale = p.energy.technology_nm / m.energy.node_nm;
  return static_cast<double>(p.matrix_unit.rows * p.matrix_unit.cols * kFlopsPerPe) *
         m.energy.prices_pj.at("register_clock") * scale;
}

StaticPower static_power(const EnergyModel& m, const ChipParams& p, const ChipArea& area) {
  StaticPower s;
  s.leakage_w = m.area.leakage_w_per_mm2 * area.total_mm2;
  s.dram_standby_w = m.area.dram_standby_w_per_gib * static_cast<double>(p.weight_memory.size_bytes) / (1 << 30);
  if (p.energy.clock_gating == "none") s.array_clock_w = array_clock_pj(m, p) * 1e-12 * p.clock_mhz * 1e6;
  return s;
}

EnergyReport price(const EnergyModel& model, const ChipParams& params, const std::vector<const StatGroup*>& stats,
                   Cycle cycles, std::optional<size_t> region) {
  const EnergyTable& table = model.energy;
  EnergyReport r;
  r.area = chip_area(model.area, params);
  r.scale = params.energy.technology_nm / table.node_nm;
  const auto book = [&](const std::string& counter, const std::string& cost, uint64_t count, double pj) {
    r.lines.push_back({counter, cost, count, pj});
    r.unit_pj[counter.substr(0, counter.find('.'))] += pj;
    r.dynamic_pj += pj;
  };
  for (const auto& ev : table.events) {
    double per_op = 0;
    std::string cost;
    for (const auto& c : ev.cost) {
      per_op += table.prices_pj.at(c);
      cost += (cost.empty() ? "" : "+") + c;
    }
    const uint64_t count = count_of(stats, ev.counter, region, table.path);
    book(ev.counter, cost, count, static_cast<double>(count) / ev.per * per_op * r.scale);
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
