// The AVX-512 tile (this file alone is compiled with -mavx512f; gemm.cc calls it only where the
// CPU has AVX-512F): 6 rows by 4 vectors of 16 floats, 24 of the 32 registers.
#include <immintrin.h>

#include "tools/train/gemm_tile.h"

namespace tpu::train::gemm_detail {

namespace {
struct Avx512Ops {
  using Vec = __m512;
  using Mask = __mmask16;
  static constexpr int kWidth = 16, kRows = 6, kVecs = 4;
  static Mask mask(int lanes) { return static_cast<Mask>((1u << lanes) - 1u); }
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static Vec broadcast(float x) { return _mm512_set1_ps(x); }
  static Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static void store(float* p, Vec v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
};
}  // namespace

void run_avx512(const Task& t, bool columns, int64_t from, int64_t to) { run<Avx512Ops>(t, columns, from, to); }

}  // namespace tpu::train::gemm_detail
