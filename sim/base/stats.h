#pragma once

// Statistics, declared once with name, unit and description and collected the
// same way in every unit (the shape of gem5's ADD_STAT): a unit owns a
// StatGroup and keeps references to its counters.
//
//   StatGroup stats_{"matrix_unit"};
//   Counter& useful_macs_ = stats_.add("useful_macs", "MACs", "MACs on real weights and inputs");

#include <cstdint>
#include <deque>
#include <string>

namespace tpu::sim {

class Counter {
 public:
  Counter& operator+=(uint64_t n) {
    value_ += n;
    return *this;
  }
  Counter& operator++() { return *this += 1; }
  uint64_t value() const { return value_; }

 private:
  uint64_t value_ = 0;
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
    stats_.push_back({std::move(name), std::move(unit), std::move(description), {}});
    return stats_.back().counter;  // a deque keeps references stable
  }

  const std::string& name() const { return name_; }
  const std::deque<Stat>& stats() const { return stats_; }
  uint64_t value(const std::string& stat) const {
    for (const auto& s : stats_)
      if (s.name == stat) return s.counter.value();
    return 0;
  }

 private:
  std::string name_;
  std::deque<Stat> stats_;
};

}  // namespace tpu::sim
