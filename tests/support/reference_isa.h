#pragma once

// A plain reference for the values a program computes: every instruction
// executed one after another, straight from its definition in isa/ISA.md,
// with no timing and no sharing of code with the chip model beyond the ISA's
// arithmetic (isa/arith.h) and the host's own computations (isa/host_ops.h).
// Tests compare the chip's memories against it.

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "isa/encoding.h"
#include "isa/program.h"
#include "sim/base/params.h"

namespace tpu::test {

class ReferenceMachine {
 public:
  explicit ReferenceMachine(const sim::ChipParams& params);

  // Runs `program` from its images to halt; throws std::runtime_error on anything the chip would fault on.
  void run(const isa::Program& program);

  std::vector<uint8_t> ub;
  std::vector<int32_t> acc;  // entries x cols
  uint64_t cols;

  uint8_t host(uint64_t addr) const {
    const auto it = host_.find(addr);
    return it == host_.end() ? 0 : it->second;
  }
  int32_t acc_at(uint64_t row, uint64_t col) const { return acc[row * cols + col]; }

 private:
  struct Tile {
    uint64_t k = 0, n = 0;
    bool is_unsigned = false;
    std::vector<uint8_t> w;  // k x n
    bool filled = false;
  };
  // Reads the tiles of the rdw whose first tile is stream_[first].
  void fetch(const isa::Instruction& rdw, size_t first);
  void execute(const isa::Instruction& insn);

  sim::ChipParams params_;
  std::map<uint64_t, uint8_t> host_, dram_;
  std::vector<Tile> stream_;             // every tile the program's rdws bring, in order
  std::map<size_t, size_t> first_tile_;  // pc of an rdw -> its first tile in stream_
  size_t next_swap_ = 0;
  Tile active_;
  bool has_active_ = false;
  isa::Rounding rounding_ = isa::Rounding::half_away;
  std::vector<int64_t> sparse_sums_;  // what an spmv slice kept for the next
};

}  // namespace tpu::test
