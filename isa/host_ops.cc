#include "isa/host_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace tpu::isa::host {

namespace {

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian host, as the program image
  return v;
}

template <class T>
void store(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

// Saturated to int8; NaN (a 0/0 of a row without spread and eps 0) gives 0.
int8_t sat8(double v) { return std::isnan(v) ? 0 : static_cast<int8_t>(std::clamp(v, -128.0, 127.0)); }

void softmax(const uint8_t* src, uint64_t rows, uint64_t cols, const uint8_t* params, uint8_t* dst) {
  for (uint64_t r = 0; r < rows; ++r) {
    const auto* x = reinterpret_cast<const int8_t*>(src + r * cols);
    const int m = *std::max_element(x, x + cols);
    std::vector<uint64_t> e(cols);
    uint64_t s = 0;
    for (uint64_t j = 0; j < cols; ++j) {
      e[j] = load<uint32_t>(params + 4 * static_cast<uint64_t>(m - x[j]));
      s += e[j];
    }
    for (uint64_t j = 0; j < cols; ++j) {
      const uint64_t y = s == 0 ? 0 : (254 * e[j] + s) / (2 * s);
      dst[r * cols + j] = static_cast<uint8_t>(std::min<uint64_t>(y, 127));
    }
  }
}

void layernorm(const uint8_t* src, uint64_t rows, uint64_t cols, const uint8_t* params, uint8_t* dst) {
  const double eps = load<double>(params);
  const double zp = load<int32_t>(params + 8);
  std::vector<double> x(cols);
  for (uint64_t r = 0; r < rows; ++r) {
    const auto* q = reinterpret_cast<const int8_t*>(src + r * cols);
    double sum = 0;
    for (uint64_t j = 0; j < cols; ++j) sum += x[j] = q[j] - zp;
    const double mu = sum / static_cast<double>(cols);
    double ss = 0;
    for (uint64_t j = 0; j < cols; ++j) ss += (x[j] - mu) * (x[j] - mu);
    const double sd = std::sqrt(ss / static_cast<double>(cols) + eps);
    for (uint64_t j = 0; j < cols; ++j) {
      const double a = load<double>(params + 16 + 16 * j), b = load<double>(params + 24 + 16 * j);
      dst[r * cols + j] = static_cast<uint8_t>(sat8(std::nearbyint((x[j] - mu) / sd * a + b)));
    }
  }
}

}  // namespace

uint64_t params_bytes(HostFn fn, uint64_t cols) {
  switch (fn) {
    case HostFn::softmax: return 4 * kSoftmaxTableEntries;
    case HostFn::layernorm: return 16 + 16 * cols;
    case HostFn::transpose: return 0;
  }
  return 0;
}

std::vector<uint8_t> compute(HostFn fn, const uint8_t* src, uint64_t rows, uint64_t cols, const uint8_t* params) {
  if (rows * cols > kMaxOperandBytes) throw std::invalid_argument("hop operand larger than kMaxOperandBytes");
  std::vector<uint8_t> dst(rows * cols);
  switch (fn) {
    case HostFn::softmax: softmax(src, rows, cols, params, dst.data()); break;
    case HostFn::layernorm: layernorm(src, rows, cols, params, dst.data()); break;
    case HostFn::transpose:
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * cols + c];
      break;
  }
  return dst;
}

std::vector<uint8_t> softmax_params(double scale) {
  std::vector<uint8_t> out;
  for (uint64_t d = 0; d < kSoftmaxTableEntries; ++d)
    store<uint32_t>(out, static_cast<uint32_t>(std::lround(kSoftmaxOne * std::exp(-static_cast<double>(d) * scale))));
  return out;
}

std::vector<uint8_t> layernorm_params(double eps, int32_t zp, const std::vector<double>& a,
                                      const std::vector<double>& b) {
  if (a.size() != b.size()) throw std::invalid_argument("layernorm_params: a and b differ in length");
  std::vector<uint8_t> out;
  store<double>(out, eps);
  store<int32_t>(out, zp);
  store<int32_t>(out, 0);
  for (size_t j = 0; j < a.size(); ++j) {
    store<double>(out, a[j]);
    store<double>(out, b[j]);
  }
  return out;
}

}  // namespace tpu::isa::host
