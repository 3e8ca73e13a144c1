#include "tools/train/gemm.h"

#include <stdexcept>

#include "tools/train/gemm_tile.h"

namespace tpu::train {

namespace {

using Kernel = void (*)(const gemm_detail::Task&, bool columns);

struct Available {
  std::string name;
  Kernel run;
};

const std::vector<Available>& available() {
  static const std::vector<Available> kernels = [] {
    std::vector<Available> k;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) k.push_back({"avx512", gemm_detail::run_avx512});
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k.push_back({"avx2", gemm_detail::run_avx2});
    k.push_back({"portable", gemm_detail::run_portable});
    return k;
  }();
  return kernels;
}

const Available*& chosen() {
  static const Available* c = &available().front();
  return c;
}

}  // namespace

void gemm(int64_t m, int64_t n, int64_t k, const float* a, bool a_transposed, const float* b, bool b_transposed,
          float* c, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  // The tile reads rows of B; a transposed B is laid out so first (n k floats, small beside the product).
  std::vector<float> packed;
  if (b_transposed) {
    packed.resize(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) packed[static_cast<size_t>(p * n + j)] = b[j * k + p];
    b = packed.data();
  }
  const gemm_detail::Task t{m, n, k, a, a_transposed ? 1 : k, a_transposed ? m : 1, b, c, accumulate};
  // A C narrower than a vector fills the vectors with its rows instead, where A's columns are rows
  // of memory (A stored transposed). Either tile gives the same bits; this is only speed.
  chosen()->run(t, a_transposed && n < 16 && m > n);
}

std::vector<std::string> gemm_kernels() {
  std::vector<std::string> names;
  for (const Available& k : available()) names.push_back(k.name);
  return names;
}

const std::string& gemm_kernel() { return chosen()->name; }

void set_gemm_kernel(const std::string& name) {
  for (const Available& k : available())
    if (k.name == name) {
      chosen() = &k;
      return;
    }
  std::string have;
  for (const Available& k : available()) have += (have.empty() ? "" : ", ") + k.name;
  throw std::invalid_argument("no matrix kernel '" + name + "' on this machine (it has " + have + ")");
}

}  // namespace tpu::train
