#pragma once

// Typed parameters of the chip, one struct per module, mapping 1:1 to the YAML
// keys of configs/*.yaml. There are no defaults here: configs/tpu_v1.yaml is
// the one table of values, and other configs name it as their `base`. Every
// struct lists its fields once, in visit(); reading, range checks, the
// resolved-config dump and the documentation all walk that list.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "sim/base/config.h"

namespace tpu::sim {

// Walks the fields of a parameter struct.
class ParamVisitor {
 public:
  virtual ~ParamVisitor() = default;
  virtual void field(const char* key, int64_t& v, const char* unit, const char* doc, int64_t min, int64_t max) = 0;
  virtual void field(const char* key, double& v, const char* unit, const char* doc, double min, double max) = 0;
  // A string drawn from `choices`.
  virtual void field(const char* key, std::string& v, const char* doc, const std::vector<std::string>& choices) = 0;
  virtual void begin(const char* key, const char* doc) = 0;
  virtual void end() = 0;

  template <class Params>
  void group(const char* key, const char* doc, Params& p) {
    begin(key, doc);
    p.visit(*this);
    end();
  }
};

inline constexpr int64_t kMaxInt = int64_t{1} << 50;

struct SequencerParams {
  int64_t instruction_buffer;  // instructions the host may have in flight to the chip
  int64_t unit_queue;          // instructions waiting in each unit's queue
  int64_t pipeline_stages;     // fetch, decode, read, issue
  void visit(ParamVisitor& v) {
    v.field("instruction_buffer", instruction_buffer, "instructions", "Depth of the on-chip instruction buffer", 1,
            1 << 20);
    v.field("unit_queue", unit_queue, "instructions", "Depth of each unit's instruction queue", 1, 1 << 20);
    v.field("pipeline_stages", pipeline_stages, "stages", "Stages from instruction buffer to issue", 1, 64);
  }
};

struct HostInterfaceParams {
  double bandwidth_gb_s;  // 1e9 bytes per second, in each direction
  double latency_ns;
  int64_t packet_bytes;
  double op_latency_ns;
  double op_bandwidth_gb_s;
  void visit(ParamVisitor& v) {
    v.field("bandwidth_gb_s", bandwidth_gb_s, "GB/s",
            "Host link bandwidth in each direction (full duplex: host to chip, chip to host)", 1e-3, 1e6);
    v.field("latency_ns", latency_ns, "ns", "Latency of one host transfer", 0, 1e9);
    v.field("packet_bytes", packet_bytes, "bytes",
            "Largest data packet: instruction words interleave with a transfer's packets", 1, 1 << 30);
    v.field("op_latency_ns", op_latency_ns, "ns", "Host operation (hop): interrupt to the host and its reply", 0, 1e9);
    v.field("op_bandwidth_gb_s", op_bandwidth_gb_s, "GB/s",
            "Host operation (hop): bytes the host reads and writes per second (operand plus result)", 1e-3, 1e6);
  }
};

struct UnifiedBufferParams {
  int64_t size_bytes;
  int64_t row_bytes;  // bytes one port reads or writes per cycle
  int64_t read_ports;
  int64_t write_ports;
  int64_t stream_grant_cycles;  // the matrix unit's input stream asks for this much port time at once
  void visit(ParamVisitor& v) {
    v.field("size_bytes", size_bytes, "bytes", "Capacity of the unified buffer", 1, kMaxInt);
    v.field("row_bytes", row_bytes, "bytes", "Row width: bytes each port reads or writes per cycle", 1, 1 << 16);
    v.field("read_ports", read_ports, "ports",
            "Read ports, shared by the matrix unit, the activation unit and the host interface", 1, 16);
    v.field("write_ports", write_ports, "ports",
            "Write ports, shared by the activation unit and the host interface", 1, 16);
    v.field("stream_grant_cycles", stream_grant_cycles, "cycles",
            "Port time the matrix unit's input vectors are granted at a time: a request made meanwhile is served "
            "before the next grant",
            1, 1 << 20);
  }
};

struct MatrixUnitParams {
  int64_t rows;  // input lanes (K of a weight tile)
  int64_t cols;  // output lanes (N of a weight tile)
  void visit(ParamVisitor& v) {
    v.field("rows", rows, "MACs", "Rows of the systolic array: input lanes", 1, 4096);
    v.field("cols", cols, "MACs", "Columns of the systolic array: output lanes", 1, 4096);
  }
};

struct AccumulatorParams {
  int64_t entries;  // rows of `cols` int32 accumulators
  void visit(ParamVisitor& v) {
    v.field("entries", entries, "rows", "Accumulator rows, each one int32 per array column", 1, 1 << 16);
  }
};

struct WeightMemoryParams {
  int64_t size_bytes;
  double bandwidth_gb_s;
  double latency_ns;
  int64_t burst_bytes;  // transfers are whole bursts
  std::string tile_reads;  // "whole" or "exact"
  void visit(ParamVisitor& v) {
    v.field("size_bytes", size_bytes, "bytes", "Capacity of weight DRAM", 1, int64_t{1} << 40);
    v.field("bandwidth_gb_s", bandwidth_gb_s, "GB/s", "Weight DRAM bandwidth", 1e-3, 1e6);
    v.field("latency_ns", latency_ns, "ns", "Access latency of weight DRAM", 0, 1e9);
    v.field("burst_bytes", burst_bytes, "bytes", "Burst size; every transfer is rounded up to whole bursts", 1,
            1 << 20);
    v.field("tile_reads", tile_reads,
            "whole: every weight tile moves the array's rows x cols bytes (a partial tile stored padded, as a weight "
            "path of fixed-size tiles moves it); exact: only the tile's k x n bytes",
            {"whole", "exact"});
  }
};

struct WeightFifoParams {
  int64_t depth_tiles;
  void visit(ParamVisitor& v) { v.field("depth_tiles", depth_tiles, "tiles", "Weight tiles the FIFO holds", 1, 1024); }
};

struct ActivationUnitParams {
  int64_t lanes;           // elements processed per cycle
  int64_t latency_cycles;  // pipeline depth from accumulator read to unified-buffer write
  void visit(ParamVisitor& v) {
    v.field("lanes", lanes, "elements/cycle", "Elements the activation pipeline takes per cycle", 1, 1 << 16);
    v.field("latency_cycles", latency_cycles, "cycles", "Pipeline latency of the activation unit", 0, 1 << 20);
  }
};

// The EIE-style sparse engine (Han et al., ISCA 2016): `pes` processing elements, each with its
// own SRAMs, fed non-zero input activations by a broadcast through per-PE queues.
struct SparseEngineParams {
  int64_t pes;               // 0: no sparse engine
  int64_t queue_depth;       // activation queue entries per PE
  int64_t spmat_bytes;       // sparse-matrix SRAM per PE
  int64_t spmat_width_bits;  // one read of it: width / 8 entries
  int64_t pointer_bytes;     // column-pointer SRAM per PE (two banks)
  int64_t activation_bytes;  // destination accumulators per PE
  int64_t pipeline_stages;   // of the arithmetic unit
  int64_t detector_fanin;    // leading non-zero detection: children of each quadtree node
  double clock_mhz;          // 0: the chip's clock
  void visit(ParamVisitor& v) {
    v.field("pes", pes, "PEs", "Processing elements (row i of a layer in PE i mod pes); 0: no sparse engine", 0, 4096);
    v.field("queue_depth", queue_depth, "entries", "Activation queue of each PE: the broadcast stops while one is full",
            1, 1 << 16);
    v.field("spmat_bytes", spmat_bytes, "bytes", "Sparse-matrix SRAM of each PE (one byte per entry)", 1,
            int64_t{1} << 32);
    v.field("spmat_width_bits", spmat_width_bits, "bits", "Width of a sparse-matrix SRAM read (8 bits per entry)", 8,
            4096);
    v.field("pointer_bytes", pointer_bytes, "bytes",
            "Column-pointer SRAM of each PE: 16-bit pointers in two banks (even and odd columns)", 4,
            int64_t{1} << 32);
    v.field("activation_bytes", activation_bytes, "bytes",
            "Destination accumulators of each PE (int32, one per local row)", 4, int64_t{1} << 32);
    v.field("pipeline_stages", pipeline_stages, "stages",
            "Arithmetic pipeline depth (a bypass serves back-to-back writes to one accumulator)", 1, 64);
    v.field("detector_fanin", detector_fanin, "children",
            "Leading non-zero detection: children per node of the detector tree (the leaves' are PEs)", 2, 64);
    v.field("clock_mhz", clock_mhz, "MHz", "Clock of the engine; 0: the chip's", 0, 1e6);
  }
};

struct EnergyParams {
  std::string table;       // configs/energy/*.yaml, relative to the file that names it
  std::string area_table;  // likewise
  double technology_nm;
  std::string clock_gating;  // "none" or "array"
  void visit(ParamVisitor& v) {
    v.field("table", table, "Energy table, relative to the configuration file that names it", {});
    v.field("area_table", area_table, "Area and static-power table, relative to the configuration file that names it",
            {});
    v.field("technology_nm", technology_nm, "nm", "Process node the tables are scaled to", 1, 1000);
    v.field("clock_gating", clock_gating,
            "none: the array's clock runs every cycle (static power); array: only in its active cycles (dynamic)",
            {"none", "array"});
  }
};

struct ChipParams {
  double clock_mhz;
  std::string fidelity;  // "fast" or "pe"
  int64_t watchdog_cycles;
  SequencerParams sequencer;
  HostInterfaceParams host_interface;
  UnifiedBufferParams unified_buffer;
  MatrixUnitParams matrix_unit;
  AccumulatorParams accumulators;
  WeightMemoryParams weight_memory;
  WeightFifoParams weight_fifo;
  ActivationUnitParams activation_unit;
  SparseEngineParams sparse_engine;
  EnergyParams energy;

  void visit(ParamVisitor& v) {
    v.field("clock_mhz", clock_mhz, "MHz", "Clock frequency", 1e-3, 1e6);
    v.field("fidelity", fidelity, "fast: closed-form timing; pe: every PE stepped each cycle", {"fast", "pe"});
    v.field("watchdog_cycles", watchdog_cycles, "cycles", "A run that has not halted by then is stopped", 1, kMaxInt);
    v.group("sequencer", "Instruction buffer, decoder and in-order issue", sequencer);
    v.group("host_interface", "Link to host memory", host_interface);
    v.group("unified_buffer", "On-chip activation SRAM", unified_buffer);
    v.group("matrix_unit", "Weight-stationary systolic array", matrix_unit);
    v.group("accumulators", "int32 accumulator memory", accumulators);
    v.group("weight_memory", "Off-chip weight DRAM", weight_memory);
    v.group("weight_fifo", "Tiles between weight DRAM and the matrix unit", weight_fifo);
    v.group("activation_unit", "Requantization, nonlinearities, pooling, vector ops", activation_unit);
    v.group("sparse_engine", "EIE-style engine for compressed fully connected layers (spmv)", sparse_engine);
    v.group("energy", "Energy accounting", energy);
  }
};

// Every key a configuration sets, by dotted path, with its kind and range.
struct ParamKey {
  enum class Kind { integer, real, text } kind;
  std::string path;
  double min = 0, max = 0;  // integer and real keys
  std::vector<std::string> choices;  // text keys drawn from a list
};
std::vector<ParamKey> param_keys();

// Reads and validates the parameters; every problem (missing, unknown or
// mistyped key, value out of range, inconsistent values) is reported at its
// origin, all at once, in one ConfigError.
ChipParams read_chip_params(const Config& config);

// The resolved parameters as a JSON tree mirroring the YAML.
void to_json(nlohmann::json& out, const ChipParams& params);

}  // namespace tpu::sim
