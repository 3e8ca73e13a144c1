#pragma once

// PortCalendar: when each of a set of identical ports is taken. A user asks
// for runs of consecutive cycles on one port each (an input vector of the
// matrix unit, an output row of the activation unit), one run after another;
// every run goes at the earliest cycle some port is free for its whole
// length, on the port of the run before it if that one is (a stream stays on
// its port), else on the lowest-numbered. What is reserved stays reserved: a
// later request takes the cycles left free.

#include <cstdint>
#include <map>
#include <vector>

#include "sim/base/cycles.h"

namespace tpu::sim {

// `count` runs of `length` cycles; run j starts at or after the end of run
// j - 1 and at or after earliest + max(0, floor((j * pace_num + pace_offset)
// / pace_den)), so pace_num = 0 asks for the runs back to back.
struct PortRuns {
  uint64_t count = 0;
  Cycle length = 1;
  Cycle earliest = 0;
  uint64_t pace_num = 0;
  uint64_t pace_den = 1;
  int64_t pace_offset = 0;

  // `n` runs of `length` one after another from `from`.
  static PortRuns back_to_back(uint64_t n, Cycle length, Cycle from) { return {n, length, from, 0, 1, 0}; }
  // `n` runs starting evenly over `span` cycles from `from` (run j at from + floor(j * span / n)).
  static PortRuns spread(uint64_t n, Cycle length, Cycle from, Cycle span) { return {n, length, from, span, n, 0}; }
  // `n` runs each ending by the end of its share of `span` cycles from `from` (run j by
  // from + ceil((j + 1) * span / n)) when the port is free and span >= n * length (back to back from
  // `from` otherwise): rows written as they are produced.
  static PortRuns ending_with(uint64_t n, Cycle length, Cycle from, Cycle span) {
    return {n, length, from, span,
            n, static_cast<int64_t>(span + n - 1) - static_cast<int64_t>(length * n)};
  }
  Cycle earliest_of(uint64_t j) const;
};

// Runs starting at first, first + period, ..., `count` of them.
struct RunSegment {
  Cycle first = 0;
  Cycle period = 1;
  uint64_t count = 0;
  Cycle last() const { return first + (count - 1) * period; }
};

// Where a request's runs went, in order. A request of no runs (or runs of no
// cycles) takes nothing and ends where it could have begun.
struct PortGrant {
  Cycle length = 1;
  Cycle earliest = 0;  // of the request
  std::vector<RunSegment> segments;
  uint64_t runs() const;
  Cycle first() const { return segments.empty() ? earliest : segments.front().first; }  // the first run's start
  Cycle last() const { return segments.empty() ? earliest : segments.back().last(); }   // the last run's start
  Cycle end() const { return segments.empty() ? earliest : last() + length; }  // the cycle after the last run
};

class PortCalendar {
 public:
  explicit PortCalendar(int ports) : busy_(static_cast<size_t>(ports)) {}

  int ports() const { return static_cast<int>(busy_.size()); }
  // Reserves `runs` and says where they went.
  PortGrant reserve(const PortRuns& runs);
  // No request will ask for cycles before `t` again.
  void forget_before(Cycle t);

 private:
  struct Fit {
    Cycle start;
    size_t port;
    Cycle free_until;  // the port's next taken cycle after `start` (kNever: none)
  };
  Fit first_fit(Cycle earliest, Cycle length, size_t preferred) const;
  void take(size_t port, Cycle start, Cycle end);

  // Per port, its taken stretches [start, end), disjoint, not touching, by start.
  std::vector<std::map<Cycle, Cycle>> busy_;
};

}  // namespace tpu::sim
