#include "sim/units/matrix_unit/gemm.h"

namespace tpu::sim {

void Gemm::set_weights(const int8_t* w, uint32_t k, uint32_t n, bool is_unsigned) {
  k_ = k;
  n_ = n;
  wt_.assign(static_cast<size_t>(k) * n, 0);
  for (uint32_t r = 0; r < k; ++r)
    for (uint32_t c = 0; c < n; ++c) {
      const int8_t v = w[static_cast<size_t>(r) * n + c];
      wt_[static_cast<size_t>(c) * k + r] = is_unsigned ? int16_t(uint8_t(v)) : int16_t(v);
    }
}

void Gemm::multiply(const uint8_t* x, uint64_t x_stride, uint64_t batch, bool x_unsigned, int32_t* out,
                    uint64_t out_stride) const {
  std::vector<int16_t> xv(k_);
  const uint32_t k = k_;
  for (uint64_t b = 0; b < batch; ++b) {
    const uint8_t* src = x + b * x_stride;
    for (uint32_t i = 0; i < k; ++i) xv[i] = x_unsigned ? int16_t(src[i]) : int16_t(int8_t(src[i]));
    const int16_t* xp = xv.data();
    int32_t* dst = out + b * out_stride;
    // Four columns at a time, so each input element loaded serves four products.
    uint32_t c = 0;
    for (; c + 4 <= n_; c += 4) {
      const int16_t* w0 = wt_.data() + static_cast<size_t>(c) * k;
      const int16_t* w1 = w0 + k;
      const int16_t* w2 = w1 + k;
      const int16_t* w3 = w2 + k;
      int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (uint32_t i = 0; i < k; ++i) {
        const int32_t xi = xp[i];
        s0 += xi * w0[i];
        s1 += xi * w1[i];
        s2 += xi * w2[i];
        s3 += xi * w3[i];
      }
      dst[c] = s0;
      dst[c + 1] = s1;
      dst[c + 2] = s2;
      dst[c + 3] = s3;
    }
    for (; c < n_; ++c) {
      const int16_t* wc = wt_.data() + static_cast<size_t>(c) * k;
      int32_t sum = 0;
      for (uint32_t i = 0; i < k; ++i) sum += int32_t(xp[i]) * int32_t(wc[i]);
      dst[c] = sum;
    }
  }
}

}  // namespace tpu::sim
