#pragma once

// The matrix unit's arithmetic in one call, for the fast fidelity:
// out[b][c] = sum_k x[b][k] * w[k][c] for b < batch, c < n, in int32 (wrapping).
// Operands are widened to int16 once, with the weights transposed, so the
// inner loop is a contiguous int16 dot product the compiler vectorizes.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tpu::sim {

class Gemm {
 public:
  // w: k x n row-major bytes, signed or unsigned.
  void set_weights(const int8_t* w, uint32_t k, uint32_t n, bool is_unsigned);
  // x: batch vectors, vector b at x + b * x_stride (k bytes each); out: batch rows of `out_stride` int32.
  void multiply(const uint8_t* x, uint64_t x_stride, uint64_t batch, bool x_unsigned, int32_t* out,
                uint64_t out_stride) const;
  uint32_t k() const { return k_; }
  uint32_t n() const { return n_; }

 private:
  uint32_t k_ = 0, n_ = 0;
  std::vector<int16_t> wt_;  // n x k
};

}  // namespace tpu::sim
