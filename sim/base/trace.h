#pragma once

// Slices of time spent by each unit on each instruction, for a Chrome/Perfetto
// trace (one track per unit) and for per-region statistics.

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

class TraceRecorder {
 public:
  void add(TraceSlice s) { slices_.push_back(std::move(s)); }
  const std::vector<TraceSlice>& slices() const { return slices_; }

 private:
  std::vector<TraceSlice> slices_;
};

}  // namespace tpu::sim
