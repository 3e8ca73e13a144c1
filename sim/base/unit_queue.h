#pragma once

// The queue in front of a unit. The sequencer pushes an instruction when it
// issues it; the unit takes it when it starts it, which frees the slot. Both
// happen at definite cycles whatever the order of processes within a cycle:
// a unit only takes an instruction issued in an earlier cycle.

#include <deque>
#include <systemc>

#include "sim/base/context.h"

namespace tpu::sim {

class UnitQueue {
 public:
  explicit UnitQueue(size_t capacity) : capacity_(capacity) {}

  bool full() const { return items_.size() >= capacity_; }
  bool empty() const { return items_.empty(); }
  const Issued& head() const { return items_.front(); }

  void push(const Issued& insn) {
    items_.push_back(insn);
    pushed_.notify(sc_core::SC_ZERO_TIME);
  }
  Issued take() {
    Issued i = items_.front();
    items_.pop_front();
    taken_.notify(sc_core::SC_ZERO_TIME);
    return i;
  }

  const sc_core::sc_event& pushed() const { return pushed_; }
  const sc_core::sc_event& taken() const { return taken_; }

  // For units that start one instruction at a time: waits for the next one and
  // takes it at max(cycle after issue, `earliest`).
  Issued take_when_ready(Cycle earliest) {
    while (empty()) sc_core::wait(pushed_);
    wait_until(std::max(head().issued + 1, earliest));
    return take();
  }

 private:
  size_t capacity_;
  std::deque<Issued> items_;
  sc_core::sc_event pushed_;
  sc_core::sc_event taken_;
};

}  // namespace tpu::sim
