#pragma once

// The stretches of cycles the sequencer spent in a `sync` waiting for units
// other than the matrix unit, in time order. The matrix unit, when it had
// nothing to run because its next mmul was held behind such a wait, counts
// those cycles as RAW stalls: from its own point of view, as the TPU's
// counter does, so they never overlap its active, weight-stall or
// weight-shift cycles.

#include <deque>

#include "sim/base/stats.h"

namespace tpu::sim {

class SyncWaits {
 public:
  void add(Cycle start, Cycle end, size_t region) {
    if (end > start) waits_.push_back({start, end, region});
  }

  // Books into `counter` the cycles of [from, to) spent in such waits, each to
  // the region of its sync, and forgets the waits that end by `to` (the
  // matrix unit asks about ever later stretches).
  void book_overlap(Cycle from, Cycle to, Counter& counter) {
    for (const Wait& w : waits_) {
      const Cycle a = std::max(from, w.start), b = std::min(to, w.end);
      if (a < b) counter.add(b - a, w.region, When::over(a, b));
    }
    while (!waits_.empty() && waits_.front().end <= to) waits_.pop_front();
  }

 private:
  struct Wait {
    Cycle start, end;
    size_t region;
  };
  std::deque<Wait> waits_;
};

}  // namespace tpu::sim
