#pragma once

// Statistics, declared once with name, unit and description and collected the
// same way in every unit (the shape of gem5's ADD_STAT): a unit owns a
// StatGroup and keeps references to its counters.
//
//   StatGroup stats_{"matrix_unit"};
//   Counter& useful_macs_ = stats_.add("useful_macs", "MACs", "MACs on real weights and inputs");
//   useful_macs_.add(k * n, insn.region, When::every(first, v, vectors));
//
// Every count names the region (layer: the stretch between `tag`s) of the
// instruction that caused it and the cycles in which it happens. Those may
// lie ahead of simulated time: a unit timed in closed form books an
// instruction's work when it starts. When the run ends, finish() keeps
// exactly the counts of the cycles before its end, so a run cut short by a
// fault reports the work done until then and nothing more, whichever way a
// unit is timed.

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "sim/base/cycles.h"

namespace tpu::sim {

// The cycles a count is spread over: `events` windows of `width` cycles, one
// every `period` cycles from `first`. Within a window the count accrues
// evenly, so a run that ends inside one keeps the whole cycles' share.
struct When {
  Cycle first = 0;
  Cycle width = 1;
  Cycle period = 1;
  uint64_t events = 1;

  static When at(Cycle t) { return {t, 1, 1, 1}; }
  // Spread over [start, end); at `start` alone when the span is empty.
  static When over(Cycle start, Cycle end) {
    const Cycle w = end > start ? end - start : 1;
    return {start, w, w, 1};
  }
  // At first, first + period, ..., `events` times.
  static When every(Cycle first, Cycle period, uint64_t events) { return {first, 1, period, events}; }
  // Spread over [first + i * period, first + i * period + width) for each of `events`.
  static When windows(Cycle first, Cycle width, Cycle period, uint64_t events) { return {first, width, period, events}; }
};

class Counter {
 public:
  // `n` in each window of `when`, charged to `region`.
  void add(uint64_t n, size_t region, When when);
  // One a cycle from `start` until stop() or the end of the run: a wait whose end is not known yet.
  void start(size_t region, Cycle start);
  void stop(Cycle end);

  // Counts booked for cycles before `t` are final (simulated time has passed them).
  void settle_before(Cycle t);
  // The run ended at cycle `end`: counts booked at or after it never happened.
  void finish(Cycle end);

  // Final once the run has finished.
  uint64_t value() const { return value_; }
  uint64_t in_region(size_t r) const { return r < by_region_.size() ? by_region_[r] : 0; }

 private:
  struct Booking {
    uint64_t n;
    size_t region;
    When when;
    uint64_t credited = 0;  // of n * when.events
  };
  static uint64_t accrued(const Booking& b, Cycle t);  // of b, in the cycles before t
  void credit(size_t region, uint64_t n);

  uint64_t value_ = 0;
  std::vector<uint64_t> by_region_;
  std::vector<Booking> pending_;
  bool open_ = false;
  size_t open_region_ = 0;
  Cycle open_start_ = 0;
};

class StatGroup {
 public:
  struct Stat {
    std::string name;
    std::string unit;
    std::string description;
    Counter counter;
  };

  explicit StatGroup(std::string name) : name_(std::move(name)) {}
  StatGroup(const StatGroup&) = delete;
  StatGroup& operator=(const StatGroup&) = delete;

  Counter& add(std::string name, std::string unit, std::string description) {
    stats_.push_back({std::move(name), std::move(unit), std::move(description), Counter()});
    return stats_.back().counter;  // a deque keeps references stable
  }

  void settle_before(Cycle t) {
    for (Stat& s : stats_) s.counter.settle_before(t);
  }
  void finish(Cycle end) {
    for (Stat& s : stats_) s.counter.finish(end);
  }

  const std::string& name() const { return name_; }
  const std::deque<Stat>& stats() const { return stats_; }
  uint64_t value(const std::string& stat) const {
    for (const auto& s : stats_)
      if (s.name == stat) return s.counter.value();
    return 0;
  }
  uint64_t value(const std::string& stat, size_t region) const {
    for (const auto& s : stats_)
      if (s.name == stat) return s.counter.in_region(region);
    return 0;
  }

 private:
  std::string name_;
  std::deque<Stat> stats_;
};

}  // namespace tpu::sim
