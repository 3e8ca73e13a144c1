#pragma once

// Running the chip model from tests. SystemC elaborates once per process, so
// every simulation runs in a forked child that sends its results back; a test
// can run as many as it likes.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "isa/program.h"
#include "sim/base/params.h"
#include "sim/base/trace.h"

namespace tpu::test {

struct SimOptions {
  bool compute_values = true;
  bool trace = false;
  std::map<std::string, std::vector<uint8_t>> inputs;  // input tensors by name
};

struct SimRun {
  nlohmann::json result;  // what `tpusim run --out` writes
  std::vector<uint8_t> ub;
  std::vector<int32_t> acc;  // entries x cols
  std::vector<sim::TraceSlice> trace;
  std::vector<sim::TraceCounter> trace_counters;

  bool halted() const { return result["status"] == "halted"; }
  uint64_t cycles() const { return result["cycles"].get<uint64_t>(); }
  uint64_t stat(const std::string& unit, const std::string& name) const {
    return result["units"][unit][name].get<uint64_t>();
  }
  std::string fault_reason() const { return halted() ? "" : result["fault"]["reason"].get<std::string>(); }
  int64_t fault_pc() const { return halted() ? -1 : result["fault"]["pc"].get<int64_t>(); }
  std::vector<int8_t> ub_i8(uint64_t addr, uint64_t n) const {
    return {reinterpret_cast<const int8_t*>(ub.data()) + addr, reinterpret_cast<const int8_t*>(ub.data()) + addr + n};
  }
  // The trace slices of one unit, in order.
  std::vector<sim::TraceSlice> slices(const std::string& track) const;
  // The cycles in which a counter track rose by one or more (ports taken), in order, each once per rise.
  std::vector<uint64_t> rises(const std::string& track) const;
};

SimRun simulate(const sim::ChipParams& params, const isa::Program& program, const SimOptions& options = {});

// A configuration from configs/ (path relative to the source tree) with overrides.
sim::ChipParams load_params(const std::string& config = "configs/tiny.yaml", const std::vector<std::string>& sets = {});

// Assembles or throws std::runtime_error with the diagnostics.
isa::Program assemble_or_throw(const std::string& source);

}  // namespace tpu::test
