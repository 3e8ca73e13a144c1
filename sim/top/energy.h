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
#include <utility>
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
    std::string at;  // "file:line:column" of its counter, for messages
  };
  std::string path;
  double node_nm = 0;
  std::map<std::string, double> prices_pj;                    // on chip, at node_nm; includes the kRulePrices
  std::map<std::string, double> offchip_pj;                   // not scaled
  std::vector<std::pair<double, double>> sram_read_64bit_pj;  // (macro bytes, pJ), bytes ascending
  double sram_write_per_read = 1;
  double sram_wire_mm_per_sqrt_mm2 = 0;
  std::vector<Event> events;
};

// Prices the rules below need from prices_pj.
inline const std::vector<std::string> kRulePrices = {"register_clock", "register_data", "wire_bit_mm"};
// Prices derived for the chip at hand, which events may name besides the table's own.
inline const std::vector<std::string> kDerivedPrices = {
    "unified_buffer_read",      "unified_buffer_write",     "accumulators_read",       "accumulators_write",
    "weight_fifo_read",         "weight_fifo_write",        "array_data",              "sparse_spmat_read",
    "sparse_spmat_write",       "sparse_pointers_read",     "sparse_pointers_write",   "sparse_accumulators_read",
    "sparse_accumulators_write"};

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

// A 64-bit read from one SRAM macro of `bytes`, in pJ at the table's node:
// the table's points joined by straight lines in log-log, extended beyond
// them with the end segments' exponents.
double sram_read_64bit_pj(const EnergyTable& table, double bytes);
// A byte read (or written) in `sram`, in pJ at the chip's node: 1/8 of the
// 64-bit read of one of its macros (times write_per_read for a write), plus 8
// bits carried wire_mm_per_sqrt_mm2 x sqrt(its area).
double sram_byte_pj(const EnergyModel& model, const ChipParams& params, const Sram& sram, bool write);

// Every price an event may name, in pJ at the chip's node: prices_pj scaled,
// offchip_pj as they are, and the kDerivedPrices.
std::map<std::string, double> chip_prices(const EnergyModel& model, const ChipParams& params);

struct StaticPower {
  double leakage_w = 0;       // leakage_density x die area
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
  std::map<std::string, double> unit_pj;     // dynamic energy by unit
  std::map<std::string, double> derived_pj;  // the kDerivedPrices for this chip
  double scale = 1;                          // chip node / table node
  double dynamic_pj = 0;
  double static_pj = 0;
  double total_pj = 0;
  double seconds = 0;
  double dynamic_power_w = 0;
  double average_power_w = 0;
};

// Throws ConfigError if the table prices a counter the chip does not have,
// naming the event's file, line and column and the nearest counter it has.
// With a region, only the counts of that region (layer), over its `cycles`.
EnergyReport price(const EnergyModel& model, const ChipParams& params, const std::vector<const StatGroup*>& stats,
                   Cycle cycles, std::optional<size_t> region = std::nullopt);

}  // namespace tpu::sim
