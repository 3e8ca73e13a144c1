#pragma once

// Stretches of cycles in which the sequencer waited (in `sync` or `intr`)
// for units other than the matrix unit, in time order, each with the region
// of the instruction that waited. The matrix unit, idle while its next
// mmul is held behind such a wait, books the overlap as RAW stalls.

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
