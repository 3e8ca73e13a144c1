#pragma once

// A fault stops a run: an illegal instruction, an access out of range, a
// hazard between units, a deadlock, a missing halt or the watchdog. It names
// the program counter, the instruction as assembly, the cycle and the reason.

#include <cstdint>
#include <stdexcept>
#include <string>

#include "sim/base/cycles.h"

namespace tpu::sim {

struct FaultInfo {
  int64_t pc = -1;          // -1 when no instruction is to blame
  std::string instruction;  // disassembly of the word at pc
  Cycle cycle = 0;
  std::string reason;
};

class SimFault : public std::runtime_error {
 public:
  explicit SimFault(FaultInfo info) : std::runtime_error(describe(info)), info_(std::move(info)) {}
  const FaultInfo& info() const { return info_; }

  static std::string describe(const FaultInfo& f) {
    std::string s = "fault";
    if (f.pc >= 0) s += " at pc " + std::to_string(f.pc);
    s += ", cycle " + std::to_string(f.cycle) + ": " + f.reason;
    if (!f.instruction.empty()) s += "\n    " + f.instruction;
    return s;
  }

 private:
  FaultInfo info_;
};

// Not the program's doing nor the input's: the simulator itself broke an invariant
// (a process threw what no unit is meant to throw). A bug in tpusim.
struct InternalError : std::logic_error {
  using std::logic_error::logic_error;
};

}  // namespace tpu::sim
