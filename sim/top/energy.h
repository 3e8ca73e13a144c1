#pragma once

// Energy = sum over counted events of count x price, plus static power x time.
// Units only count; the prices and which counter each one prices come from an
// energy table (configs/energy/*.yaml), scaled from the table's node to the
// chip's by energy linear in feature size. Static power follows from the
// chip's area (area.h): leakage per mm2 of die, weight DRAM standby per GiB,
// and, without clock gating, the clock of the array's registers every cycle.

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
  std::map<std::string, double> prices_pj;  // at node_nm; must include register_clock
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

// Energy of clocking every register of the array once, in pJ at the chip's node.
double array_clock_pj(const EnergyModel& model, const ChipParams& params);

struct StaticPower {
  double leakage_w = 0;       // leakage_w_per_mm2 x die area
  double dram_standby_w = 0;  // dram_standby_w_per_gib x weight DRAM
  double array_clock_w = 0;   // array_clock_pj every cycle, with clock_gating none
  double total_w() const { return leakage_w + dram_standby_w + array_clock_w; }
};
StaticPower static_power(const EnergyModel& model, const ChipParams& params, const ChipArea& area);

struct EnergyReport {
  struct Line {
    std::string counter;
    std::string cost;  // the prices it pays, joined by '+'
    uint64_t count;
    double pj;
  };
  std::vector<Line> lines;
  ChipArea area;
  StaticPower static_power;
  std::map<std::string, double> unit_pj;  // dynamic energy by unit
  double scale = 1;                       // chip node / table node
  double dynamic_pj = 0;
  double static_pj = 0;
  double total_pj = 0;
  double seconds = 0;
  double dynamic_power_w = 0;
  double average_power_w = 0;
};

// Throws ConfigError if the table prices a counter the chip does not have.
// With a region, only the counts of that region (layer), over its `cycles`.
EnergyReport price(const EnergyModel& model, const ChipParams& params, const std::vector<const StatGroup*>& stats,
                   Cycle cycles, std::optional<size_t> region = std::nullopt);

}  // namespace tpu::sim
