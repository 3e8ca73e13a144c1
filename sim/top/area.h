#pragma once

// Die area from the chip's parameters and an area table
// (configs/energy/*_area.yaml, named by energy.area_table): the matrix unit
// by its MACs, each on-chip memory by its macros, the activation unit by its
// lanes, control as a fixed block, I/O by the bandwidth of the host link and
// of weight DRAM, and the unassigned rest as a share of the die. Every area
// is the table's at its node, scaled to the chip's by (node / table node)^2,
// except the I/O PHYs' (the host link's and weight DRAM's), scaled by
// (node / table node)^io_node_exponent: their pads and analog devices do not
// shrink like logic, so the table states how they scale.

#include <string>
#include <utility>
#include <vector>

#include "sim/base/params.h"

namespace tpu::sim {

struct AreaTable {
  std::string path;
  double node_nm = 0;
  double mac_um2 = 0;
  double sram_um2_per_byte = 0;
  double sram_um2_per_macro = 0;
  double sram_extra_port_fraction = 0;  // of a macro's area, per port beyond one read and one write port
  double activation_lane_um2 = 0;
  double control_mm2 = 0;
  double host_link_mm2_per_gb_s = 0;
  double dram_mm2_per_gb_s = 0;
  double other_fraction = 0;
  double io_node_exponent = 0;
  double leakage_w_per_mm2 = 0;  // at node_nm; leakage_density() gives it at the chip's node
  double leakage_node_exponent = 0;
  double dram_standby_w_per_gib = 0;
  // Cell areas at 45 nm that cross-check mac_um2; not used by the model.
  double cross_int8_mult_um2 = 0, cross_int32_add_um2 = 0, cross_flop_um2 = 0;
};

// Throws ConfigError naming the file, line and key of any mistake.
AreaTable load_area_table(const std::string& path);

// An on-chip memory as the model builds it: one macro per lane along the
// array. Its energy is priced per byte moved (energy.h), whatever the width
// of an access, so the width is not part of it.
struct Sram {
  std::string unit;  // the unit that owns it, as its counters are named
  int64_t macros;
  int64_t macro_bytes;
  int64_t ports;  // read and write ports together
};
// The unified buffer (a macro per byte of its row, with its configured ports),
// the accumulators (one per array column) and the weight FIFO (one per array
// column), each of these with one read and one write port.
std::vector<Sram> on_chip_srams(const ChipParams& params);

// Both follow from the datapath's widths as the units that hold the data
// state them (area.cc). Register bits of one PE: its input, its weight and the
// next tile's weight, its partial sum.
extern const int64_t kFlopsPerPe;
// Bits that move through a PE each active cycle: the input passed right and
// the partial sum passed down.
extern const int64_t kMovingBitsPerPe;

struct ChipArea {
  std::vector<std::pair<std::string, double>> mm2;  // by block, in floorplan order, `other` last
  double total_mm2 = 0;
  double of(const std::string& block) const;  // 0 for a block not listed
};

ChipArea chip_area(const AreaTable& table, const ChipParams& params);

// The area of one memory at the chip's node, in mm2.
double sram_mm2(const AreaTable& table, const ChipParams& params, const Sram& sram);

// Leakage per mm2 of die at the chip's node, in W: leakage_w_per_mm2 x
// (node / table node)^leakage_node_exponent.
double leakage_density(const AreaTable& table, const ChipParams& params);

}  // namespace tpu::sim
