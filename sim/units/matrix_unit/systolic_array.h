#pragma once

// SystolicArray: the register-level model of the matrix unit, stepped one
// cycle at a time (the `pe` fidelity). Each PE holds an input register moving
// right, a partial-sum register moving down and two weight registers; every
// input carries the index of the weight register it uses, so a new tile takes
// effect exactly with the wavefront of the first vector that uses it. Tiles
// are shifted in through a separate chain of registers, one row per cycle,
// and latched into a weight register in one step when complete.
//
// Plain C++, no SystemC: MatrixUnit drives it, and tests can drive it directly.

#include <cstdint>
#include <vector>

namespace tpu::sim {

class SystolicArray {
 public:
  SystolicArray(uint64_t rows, uint64_t cols);

  struct Injection {
    const int16_t* x = nullptr;  // rows values (inputs beyond the tile's k are zero)
    uint8_t reg = 0;             // weight register to use
    uint64_t tag = 0;            // identifies the vector in outputs
  };
  struct Output {
    uint64_t tag;
    uint32_t col;
    int32_t value;
  };

  // One cycle: results leaving the bottom row in the previous cycle are
  // appended to `outputs`; inputs move right, `in` (if any) enters the
  // skew buffer, and every PE multiplies and adds.
  void step(const Injection* in, std::vector<Output>& outputs);

  // Shift chain: `row` (cols values) enters at the top and every row moves down one.
  void shift(const int16_t* row);
  // Copies the shift chain into weight register `reg`.
  void latch(uint8_t reg);

  // Whether any input in row 0 still uses weight register `reg`.
  bool row0_uses(uint8_t reg) const;
  // Whether any input is in flight (in the skew buffer or the array).
  bool busy() const { return in_flight_ > 0; }
  uint64_t rows() const { return rows_; }
  uint64_t steps() const { return cycle_; }  // cycles stepped so far
  uint64_t cols() const { return cols_; }

 private:
  static constexpr uint8_t kBubble = 0xff;

  uint64_t rows_, cols_;
  // Per PE, row-major [row][col].
  std::vector<int16_t> x_;      // input register
  std::vector<uint8_t> sel_;    // weight register of the input, or kBubble
  std::vector<uint64_t> tag_;   // vector of the input
  std::vector<int32_t> psum_;   // partial-sum register
  std::vector<int16_t> w_[2];   // weight registers
  std::vector<int16_t> chain_;  // shift chain
  // Skew buffer: vectors that entered in the last `rows` cycles, by cycle.
  struct Entered {
    std::vector<int16_t> x;
    uint8_t sel = kBubble;
    uint64_t tag = 0;
  };
  std::vector<Entered> skew_;
  uint64_t cycle_ = 0;
  uint64_t in_flight_ = 0;  // valid inputs in the skew buffer and the array
};

}  // namespace tpu::sim
