#pragma once

// A workload: which model to run at which batch, with what input, under what
// deadline, and (for validation) the published figure it is compared with.
// workloads/*.yaml; paths inside are relative to the workload file.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "isa/program.h"
#include "sim/base/params.h"

namespace tpu::report {

struct Workload {
  std::string file;
  std::string name;
  std::string model;  // resolved path
  int64_t batch = 0;
  std::string input = "synthetic";  // or a file of raw input bytes (resolved path)
  // With synthetic int8 input: the fraction of elements that are not the tensor's zero point (as
  // the activations a ReLU leaves), exactly (rounded); unset, every element is drawn from [-64, 63].
  std::optional<double> input_density;
  uint64_t seed = 1;
  std::optional<double> deadline_ms;
  std::optional<double> reference_tops;
  // Where the simulated TOPS must lie: [low, high] differences from reference_tops, as fractions
  // (a drift detector: a change that moves the figure out of its stated band fails CI).
  std::optional<std::pair<double, double>> band;
  std::string reference_source;
  std::optional<double> reference_power_w;  // measured average power, compared with the simulated
  std::string reference_power_source;
  // Published performance counters (the paper's Table 3), in percent, in the order of kTable3Counters.
  std::vector<std::pair<std::string, double>> reference_counters;
  std::string reference_counters_source;
  // An explanation of the difference from the published figure, written for one configuration
  // (resolved path): it holds only for a chip with that configuration's parameters.
  struct Note {
    std::string text;
    std::string config;
  };
  std::optional<Note> note;
};

// The counters a workload may state published shares of, in the order of the paper's Table 3, by
// the name the run's "counters" use, with the label a report gives them.
struct Table3Counter {
  const char* key;
  const char* label;
};
inline const std::vector<Table3Counter> kTable3Counters = {
    {"array_active", "array active"}, {"useful_macs", "useful MACs"},   {"unused_macs", "unused MACs"},
    {"weight_stall", "weight stall"}, {"weight_shift", "weight shift"}, {"non_matrix", "non-matrix"},
    {"raw_stall", "RAW stalls"},      {"input_stall", "input stalls"}};

// Throws compiler::ModelError naming the file and key.
Workload load_workload(const std::string& path);

// FNV-1a: a stable hash for cache keys, and a key as 16 hex digits (for file names).
uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull);
std::string hex(uint64_t key);
// Where derived files are kept between runs: $XDG_CACHE_HOME/tpusim or ~/.cache/tpusim ("" when
// neither is set).
std::string cache_dir();
// The running executable's size and modification time: any rebuild (a changed
// compiler) gives new cache keys, so a stale program is never reused.
std::string build_identity();

// The workload's program for a chip: compiled, or taken from the cache
// ($XDG_CACHE_HOME/tpusim or ~/.cache/tpusim) when batch, chip, compiler and
// the contents of every file the compile read (the model and the weight files
// it names) are unchanged. `timing_only`: the program of a timing-only compile (no weights), which
// runs only without values.
isa::Program workload_program(const Workload& w, const sim::ChipParams& chip, bool timing_only = false);

// How a run of the workload fares (`result` as sim::to_json gives it): its
// latency against the deadline, its TOPS and its power against the published
// figures, where the workload names them. Empty when it names none.
nlohmann::json workload_verdict(const Workload& w, const nlohmann::json& result);
// "MLP0 latency 0.645 ms against its 7 ms deadline: met." and the like, one line each.
std::string verdict_text(const Workload& w, const nlohmann::json& verdict);

// The bytes of each input tensor: the named file, or seeded synthetic int8 values.
std::vector<std::pair<std::string, std::vector<uint8_t>>> workload_inputs(const Workload& w, const isa::Program& p);

}  // namespace tpu::report
