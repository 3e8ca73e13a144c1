// The portable tile: one float per "vector", std::fma for the single rounding the vector
// kernels' fused multiply-adds have, so its bits are theirs.
#include <cmath>

#include "tools/train/gemm_tile.h"

namespace tpu::train::gemm_detail {

namespace {
struct PortableOps {
  using Vec = float;
  using Mask = bool;
  static constexpr int kWidth = 1, kRows = 4, kVecs = 4;
  static Mask mask(int) { return true; }
  static Vec zero() { return 0.0f; }
  static Vec load(const float* p, Mask) { return *p; }
  static Vec broadcast(float x) { return x; }
  static Vec fma(Vec a, Vec b, Vec c) { return std::fma(a, b, c); }
  static void store(float* p, Vec v, Mask) { *p = v; }
};
}  // namespace

void run_portable(const Task& t, bool columns, int64_t from, int64_t to) { run<PortableOps>(t, columns, from, to); }

}  // namespace tpu::train::gemm_detail
