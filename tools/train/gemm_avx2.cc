// The AVX2 tile (this file alone is compiled with -mavx2 -mfma; gemm.cc calls it only where the
// CPU has both): 6 rows by 2 vectors of 8 floats, 12 of the 16 registers.
#include <immintrin.h>

#include "tools/train/gemm_tile.h"

namespace tpu::train::gemm_detail {

namespace {
struct Avx2Ops {
  using Vec = __m256;
  using Mask = __m256i;
  static constexpr int kWidth = 8, kRows = 6, kVecs = 2;
  static Mask mask(int lanes) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static Vec broadcast(float x) { return _mm256_set1_ps(x); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static void store(float* p, Vec v, Mask m) { _mm256_maskstore_ps(p, m, v); }
};
}  // namespace

void run_avx2(const Task& t, bool columns, int64_t from, int64_t to) { run<Avx2Ops>(t, columns, from, to); }

}  // namespace tpu::train::gemm_detail
