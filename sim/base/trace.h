#pragma once

// What the units did when, for a Chrome/Perfetto trace: slices of time each
// unit spent on an instruction or a wait (one track per unit), and counters
// sampled when they change (weight-FIFO occupancy).

#include <cstdint>
#include <string>
#include <vector>

#include "sim/base/cycles.h"

namespace tpu::sim {

struct TraceSlice {
  std::string track;  // unit name
  std::string name;   // mnemonic or activity
  int64_t pc;
  Cycle start;
  Cycle end;
};

struct TraceCounter {
  std::string track;  // counter name
  Cycle at;
  int64_t value;      // from this cycle on
};

class TraceRecorder {
 public:
  void add(TraceSlice s) { slices_.push_back(std::move(s)); }
  void count(TraceCounter c) { counters_.push_back(std::move(c)); }
  const std::vector<TraceSlice>& slices() const { return slices_; }
  const std::vector<TraceCounter>& counters() const { return counters_; }

 private:
  std::vector<TraceSlice> slices_;
  std::vector<TraceCounter> counters_;
};

}  // namespace tpu::sim
