#pragma once

// Energy = sum over counted events of count x price, plus static power x time.
// Units only count; the prices and which counter each one prices come from an
// energy table (configs/energy/*.yaml), scaled from the table's node to the
// chip's by energy linear in feature size.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/base/cycles.h"
#include "sim/base/params.h"
#include "sim/base/stats.h"
#include "sim/top/area.h"

namespace tpu::sim {

struct EnergyTable {
  struct Event {
    std::string counter;  // "unit.stat"
    double per = 1;       // counted units per priced operation
    std::vector<std::string> cost;
  };
  std::string path;
  double node_nm = 0;
  std::map<std::string, double> prices_pj;
  std::vector<Event> events;
};

// Throws ConfigError naming the file, line and key of any mistake.
EnergyTable load_energy_table(const std::string& path);

// The tables a chip's energy, power and area come from (energy.table and energy.area_table).
struct EnergyModel {
  EnergyTable energy;
  AreaTable area;
};
EnergyModel load_energy_model(const ChipParams& params);

struct EnergyReport {
  struct Line {
    std::string counter;
    uint64_t count;
    double pj;
  };
  std::vector<Line> lines;
  ChipArea area;
  std::map<std::string, double> unit_pj;  // dynamic energy by unit
  double scale = 1;                       // chip node / table node
  double dynamic_pj = 0;
  double static_pj = 0;
  double total_pj = 0;
  double seconds = 0;
  double average_power_w = 0;
};

// Throws ConfigError if the table prices a counter the chip does not have.
// With a region, only the counts of that region (layer), over its `cycles`.
EnergyReport price(const EnergyModel& model, const ChipParams& params, const std::vector<const StatGroup*>& stats,
                   Cycle cycles, std::optional<size_t> region = std::nullopt);

}  // namespace tpu::sim
