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
#include <vector>

namespace tpu::sim {

// A counter also keeps its counts per region of the program (the stretches
// between `tag` instructions: layers), attributed to the region its group
// is set to when counting.
class Counter {
 public:
  explicit Counter(const size_t* region) : region_(region) {}
  Counter& operator+=(uint64_t n) {
    value_ += n;
    if (*region_ >= by_region_.size()) by_region_.resize(*region_ + 1, 0);
    by_region_[*region_] += n;
    return *this;
  }
  Counter& operator++() { return *this += 1; }
  uint64_t value() const { return value_; }
  uint64_t in_region(size_t r) const { return r < by_region_.size() ? by_region_[r] : 0; }

 private:
  uint64_t value_ = 0;
  const size_t* region_;
  std::vector<uint64_t> by_region_;
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
    stats_.push_back({std::move(name), std::move(unit), std::move(description), Counter(&region_)});
    return stats_.back().counter;  // a deque keeps references stable
  }

  // Counts from now on belong to region r (0: before the first tag).
  void set_region(size_t r) { region_ = r; }

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
  size_t region_ = 0;
  std::deque<Stat> stats_;
};

}  // namespace tpu::sim
