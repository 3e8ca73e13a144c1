#pragma once

// One simulation in a child process. SystemC can elaborate only once per
// process, so tools and tests that run several simulations fork a child for
// each; the child sends back the results and the memories asked for.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "isa/program.h"
#include "sim/base/params.h"
#include "sim/base/trace.h"

namespace tpu::sim {

struct IsolatedOptions {
  bool compute_values = true;
  bool trace = false;
  bool memories = true;  // send back the unified buffer and accumulators
  std::map<std::string, std::vector<uint8_t>> inputs;
  std::vector<std::pair<uint64_t, uint64_t>> host_ranges;  // host memory to send back: (address, bytes)
};

struct IsolatedRun {
  nlohmann::json result;  // what `tpusim run --out` writes
  std::vector<uint8_t> ub;
  std::vector<int32_t> acc;  // entries x cols
  std::vector<TraceSlice> trace;
  std::vector<TraceCounter> trace_counters;
  std::map<std::string, std::vector<uint8_t>> outputs;
  std::vector<std::vector<uint8_t>> host_ranges;  // as asked for in IsolatedOptions
  // How the simulation itself went, for benchmarks: not results of the chip.
  double wall_seconds = 0;  // Chip::run() alone
  uint64_t pe_steps = 0;

  bool halted() const { return result["status"] == "halted"; }
};

// Throws std::runtime_error if the child cannot run the program at all (bad
// inputs, an unreadable energy table) or dies; a fault is a normal result.
IsolatedRun run_isolated(const ChipParams& params, const isa::Program& program, const IsolatedOptions& options);

}  // namespace tpu::sim
