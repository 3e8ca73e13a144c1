#include "sim/top/energy.h"

#include <yaml-cpp/yaml.h>

#include "isa/text.h"
#include "sim/base/config.h"

namespace tpu::sim {

namespace {
std::string at(const std::string& path, const YAML::Node& n) {
  return path + ":" + std::to_string(n.Mark().line + 1) + ":" + std::to_string(n.Mark().column + 1);
}
}  // namespace

EnergyTable load_energy_table(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ConfigError(path + ": cannot open the energy table (energy.table)");
  } catch (const YAML::ParserException& e) {
    throw ConfigError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  EnergyTable t;
  t.path = path;
  try {
    if (!root["node_nm"] || !root["prices_pj"] || !root["events"])
      throw ConfigError(path + ": an energy table needs node_nm, prices_pj and events");
    t.node_nm = root["node_nm"].as<double>();
    for (const auto& kv : root["prices_pj"]) t.prices_pj[kv.first.as<std::string>()] = kv.second.as<double>();
    std::vector<std::string_view> names;
    for (const auto& [name, unused] : t.prices_pj) names.push_back(name);
    for (const auto& e : root["events"]) {
      EnergyTable::Event ev;
      ev.counter = e["counter"].as<std::string>();
      ev.per = e["per"] ? e["per"].as<double>() : 1.0;
      if (!(ev.per > 0)) throw ConfigError(at(path, e["per"]) + ": per must be positive");
      for (const auto& c : e["cost"]) {
        const std::string name = c.as<std::string>();
        if (!t.prices_pj.count(name))
          throw ConfigError(at(path, c) + ": no price named '" + name + "'" + isa::did_you_mean(name, names));
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

EnergyReport price(const EnergyModel& model, const ChipParams& params, const std::vector<const StatGroup*>& stats,
                   Cycle cycles, std::optional<size_t> region) {
  const EnergyTable& table = model.energy;
  EnergyReport r;
  r.area = chip_area(model.area, params);
  r.scale = params.energy.technology_nm / table.node_nm;
  for (const auto& ev : table.events) {
    const size_t dot = ev.counter.find('.');
    const std::string group = ev.counter.substr(0, dot), stat = ev.counter.substr(dot + 1);
    const StatGroup* g = nullptr;
    for (const StatGroup* s : stats)
      if (s->name() == group) g = s;
    bool found = false;
    if (g)
      for (const auto& s : g->stats()) found = found || s.name == stat;
    if (!found) throw ConfigError(table.path + ": prices counter '" + ev.counter + "', which the chip does not count");
    double per_op = 0;
    for (const auto& c : ev.cost) per_op += table.prices_pj.at(c);
    const uint64_t count = region ? g->value(stat, *region) : g->value(stat);
    const double pj = static_cast<double>(count) / ev.per * per_op * r.scale;
    r.lines.push_back({ev.counter, count, pj});
    r.unit_pj[group] += pj;
    r.dynamic_pj += pj;
  }
  r.seconds = static_cast<double>(cycles) / (params.clock_mhz * 1e6);
  r.static_pj = params.energy.static_power_w * r.seconds * 1e12;
  r.total_pj = r.dynamic_pj + r.static_pj;
  r.average_power_w = r.seconds > 0 ? r.total_pj * 1e-12 / r.seconds : 0;
  return r;
}

}  // namespace tpu::sim
