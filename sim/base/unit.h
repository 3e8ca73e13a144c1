#pragma once

// What the sequencer sees of a unit that executes instructions: a check made
// at issue (operands in range, what memory the instruction will touch) and the
// queue it feeds. Each unit module implements it; the sequencer dispatches by
// the `unit` column of the ISA table.

#include <string>
#include <systemc>

#include "isa/arith.h"
#include "sim/base/context.h"
#include "sim/base/unit_queue.h"

namespace tpu::sim {

class ExecutionUnit {
 public:
  virtual ~ExecutionUnit() = default;
  // Returns why the instruction cannot run on this chip, or "" and its footprint.
  virtual std::string prepare(const isa::Word& word, Footprint* footprint) = 0;
  virtual UnitQueue& queue() = 0;
};

// "shift S is outside [min, max]", or "": the requantization shift check of prepare().
inline std::string shift_error(int64_t shift) {
  if (shift >= isa::arith::kMinShift && shift <= isa::arith::kMaxShift) return {};
  return "shift " + std::to_string(shift) + " is outside [" + std::to_string(isa::arith::kMinShift) + ", " +
         std::to_string(isa::arith::kMaxShift) + "]";
}

// "[lo, hi) is outside <what> (N bytes)": the common range check of prepare().
inline std::string range_error(const char* what, uint64_t lo, uint64_t hi, uint64_t size, const char* unit) {
  if (hi <= size && lo <= hi) return {};
  return std::string(what) + " [" + std::to_string(lo) + ", " + std::to_string(hi) + ") is outside the " +
         std::to_string(size) + " " + unit;
}

}  // namespace tpu::sim
