#pragma once

// A run's results as JSON (run.json) and as a short text summary. Everything
// in them is derived from the model's counters; the fully resolved
// configuration is included so a result can be reproduced.

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "isa/program.h"
#include "sim/base/params.h"
#include "sim/top/chip.h"
#include "sim/top/energy.h"

namespace tpu::sim {

struct RunRecord {
  const RunOutcome& outcome;
  const ChipParams& params;
  const isa::Program& program;
  const EnergyReport& energy;
  std::map<std::string, std::vector<uint8_t>> outputs;  // output tensors by name
  const EnergyModel* energy_model = nullptr;            // for per-layer energy
};

// Per layer (region between tags): cycles from its first issue to the next
// layer's, its counters, MACs, bytes and energy. Layers partition the run.
nlohmann::json layers_json(const RunRecord& run);
// The same as a table, or CSV.
std::string layers_text(const nlohmann::json& layers, bool csv);

// Two operations per MAC of the whole array every cycle.
double peak_tops(const ChipParams& params);

nlohmann::json to_json(const RunRecord& run);
// `result` is to_json(run), computed once by the caller.
std::string summary(const RunRecord& run, const nlohmann::json& result);

// The Chrome/Perfetto trace-event JSON of the run: one track per unit (the
// sequencer's track shows its waits in sync, halt and full queues), a track of
// the layers (regions between tags, named from the program's metadata) and
// counter tracks (weight-FIFO occupancy); everything within the run's cycles.
nlohmann::json trace_json(const RunOutcome& outcome, const ChipParams& params, const isa::Program& program);

}  // namespace tpu::sim
