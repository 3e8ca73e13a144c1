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

// A counter track changes by `delta` at cycle `at`; its value is the sum of the changes so far.
struct TraceCounter {
  std::string track;  // counter name
  Cycle at;
  int64_t delta;
};

class TraceRecorder {
 public:
  void add(TraceSlice s) { slices_.push_back(std::move(s)); }
  // A slice whose end is not known yet (kNever until end() sets it; a run that stops first cuts it).
  size_t open(TraceSlice s) {
    s.end = kNever;
    slices_.push_back(std::move(s));
    return slices_.size() - 1;
  }
  void end(size_t slice, Cycle at) { slices_[slice].end = at; }
  void count(TraceCounter c) { counters_.push_back(std::move(c)); }
  const std::vector<TraceSlice>& slices() const { return slices_; }
  const std::vector<TraceCounter>& counters() const { return counters_; }

 private:
  std::vector<TraceSlice> slices_;
  std::vector<TraceCounter> counters_;
};

}  // namespace tpu::sim
