#include "sim/top/area.h"

#include <algorithm>

#include <cmath>
#include <type_traits>
#include <utility>

#include "sim/top/tech_table.h"
#include "sim/units/accumulators/accumulators.h"
#include "sim/units/weight_fifo/weight_fifo.h"

namespace tpu::sim {

namespace {

// The datapath's widths, each stated once by the unit that holds it: an
// operand is an element of a weight tile (an input lane is as wide: isa.def,
// mmul multiplies a k-byte vector by a tile of k by n bytes), a partial sum an
// accumulator's value.
using Operand = decltype(WeightTile::data)::value_type;
using PartialSum = std::remove_cv_t<std::remove_pointer_t<decltype(std::declval<const Accumulators&>().row(0))>>;
constexpr int64_t kOperandBits = 8 * sizeof(Operand);
constexpr int64_t kPartialSumBits = 8 * sizeof(PartialSum);

// (chip node / table node)^exponent; logic and memories scale by the square.
double node_scale(const AreaTable& t, const ChipParams& p, double exponent = 2) {
  return std::pow(p.energy.technology_nm / t.node_nm, exponent);
}

}  // namespace

const int64_t kFlopsPerPe = kOperandBits + 2 * kOperandBits + kPartialSumBits;
const int64_t kMovingBitsPerPe = kOperandBits + kPartialSumBits;

AreaTable load_area_table(const std::string& path) {
  const TechTable f(path);
  const YAML::Node& root = f.root();
  f.only(root, "", {"node_nm", "area", "static", "cross_check_45nm_um2"});
  AreaTable t;
  t.path = path;
  t.node_nm = f.number(root, "", "node_nm", 1, 1000);
  const YAML::Node area = f.section(root, "", "area");
  f.only(area, "area",
         {"mac_um2", "sram_um2_per_byte", "sram_um2_per_macro", "sram_extra_port_fraction", "activation_lane_um2",
          "control_mm2",
          "host_link_mm2_per_gb_s", "dram_mm2_per_gb_s", "io_node_exponent", "other_fraction"});
  t.mac_um2 = f.number(area, "area", "mac_um2", 0, 1e9);
  t.sram_um2_per_byte = f.number(area, "area", "sram_um2_per_byte", 0, 1e9);
  t.sram_um2_per_macro = f.number(area, "area", "sram_um2_per_macro", 0, 1e12);
  t.sram_extra_port_fraction = f.number(area, "area", "sram_extra_port_fraction", 0, 10);
  t.activation_lane_um2 = f.number(area, "area", "activation_lane_um2", 0, 1e12);
  t.control_mm2 = f.number(area, "area", "control_mm2", 0, 1e6);
  t.host_link_mm2_per_gb_s = f.number(area, "area", "host_link_mm2_per_gb_s", 0, 1e6);
  t.dram_mm2_per_gb_s = f.number(area, "area", "dram_mm2_per_gb_s", 0, 1e6);
  t.io_node_exponent = f.number(area, "area", "io_node_exponent", 0, 2);
  t.other_fraction = f.number(area, "area", "other_fraction", 0, 0.99);
  const YAML::Node stat = f.section(root, "", "static");
  f.only(stat, "static", {"leakage_w_per_mm2", "leakage_node_exponent", "dram_standby_w_per_gib"});
  t.leakage_w_per_mm2 = f.number(stat, "static", "leakage_w_per_mm2", 0, 1e3);
  t.leakage_node_exponent = f.number(stat, "static", "leakage_node_exponent", -3, 3);
  t.dram_standby_w_per_gib = f.number(stat, "static", "dram_standby_w_per_gib", 0, 1e3);
  const YAML::Node cross = f.section(root, "", "cross_check_45nm_um2");
  f.only(cross, "cross_check_45nm_um2", {"int8_mult", "int32_add", "flop"});
  t.cross_int8_mult_um2 = f.number(cross, "cross_check_45nm_um2", "int8_mult", 0, 1e9);
  t.cross_int32_add_um2 = f.number(cross, "cross_check_45nm_um2", "int32_add", 0, 1e9);
  t.cross_flop_um2 = f.number(cross, "cross_check_45nm_um2", "flop", 0, 1e9);
  return t;
}

std::vector<Sram> on_chip_srams(const ChipParams& p) {
  const auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  const int64_t cols = p.matrix_unit.cols;
  std::vector<Sram> srams = {
      {"unified_buffer", p.unified_buffer.row_bytes, ceil_div(p.unified_buffer.size_bytes, p.unified_buffer.row_bytes),
       p.unified_buffer.read_ports + p.unified_buffer.write_ports},
      {"accumulators", cols, p.accumulators.entries * int64_t{sizeof(PartialSum)}, 2},
      {"weight_fifo", cols, p.weight_fifo.depth_tiles * p.matrix_unit.rows * int64_t{sizeof(Operand)}, 2}};
  // The sparse engine's, per PE: the sparse matrix, the pointers in two banks, the accumulators.
  const SparseEngineParams& e = p.sparse_engine;
  if (e.pes > 0) {
    srams.push_back({"sparse_spmat", e.pes, e.spmat_bytes, 2});
    srams.push_back({"sparse_pointers", 2 * e.pes, e.pointer_bytes / 2, 2});
    srams.push_back({"sparse_accumulators", e.pes, e.activation_bytes, 2});
  }
  return srams;
}

double sram_mm2(const AreaTable& t, const ChipParams& p, const Sram& s) {
  const double um2 =
      static_cast<double>(s.macros) * (t.sram_um2_per_byte * static_cast<double>(s.macro_bytes) + t.sram_um2_per_macro);
  const double ports = 1 + t.sram_extra_port_fraction * static_cast<double>(std::max<int64_t>(0, s.ports - 2));
  return um2 * ports * 1e-6 * node_scale(t, p);
}

double ChipArea::of(const std::string& block) const {
  for (const auto& [name, a] : mm2)
    if (name == block) return a;
  return 0;
}

ChipArea chip_area(const AreaTable& t, const ChipParams& p) {
  const double scale = node_scale(t, p);
  ChipArea a;
  a.mm2.emplace_back("matrix_unit",
                     static_cast<double>(p.matrix_unit.rows * p.matrix_unit.cols) * t.mac_um2 * 1e-6 * scale);
  for (const Sram& s : on_chip_srams(p)) a.mm2.emplace_back(s.unit, sram_mm2(t, p, s));
  a.mm2.emplace_back("activation_unit",
                     static_cast<double>(p.activation_unit.lanes) * t.activation_lane_um2 * 1e-6 * scale);
  // A PE's arithmetic multiplies a 16-bit shared weight by an int8 activation into an int32 sum:
  // taken as two int8 MACs (two 8 x 8 partial products).
  if (p.sparse_engine.pes > 0)
    a.mm2.emplace_back("sparse_engine", static_cast<double>(2 * p.sparse_engine.pes) * t.mac_um2 * 1e-6 * scale);
  a.mm2.emplace_back("control", t.control_mm2 * scale);
  const double io_scale = node_scale(t, p, t.io_node_exponent);
  a.mm2.emplace_back("host_interface", p.host_interface.bandwidth_gb_s * t.host_link_mm2_per_gb_s * io_scale);
  a.mm2.emplace_back("weight_memory", p.weight_memory.bandwidth_gb_s * t.dram_mm2_per_gb_s * io_scale);
  double blocks = 0;
  for (const auto& [name, mm2] : a.mm2) blocks += mm2;
  a.total_mm2 = blocks / (1 - t.other_fraction);
  a.mm2.emplace_back("other", a.total_mm2 - blocks);
  return a;
}

double leakage_density(const AreaTable& t, const ChipParams& p) {
  return t.leakage_w_per_mm2 * node_scale(t, p, t.leakage_node_exponent);
}

}  // namespace tpu::sim
