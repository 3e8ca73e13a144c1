#pragma once

// The trainer's matrix products, C = op(A) op(B) or C += op(A) op(B), all
// float32 and row-major, on the fastest kernel this machine has (AVX-512,
// AVX2 with FMA, or portable C++). Every kernel sums each element of C in the
// same order -- from C's old value (or zero), one fused multiply-add per term,
// p = 0 to k - 1 -- so every kernel, on any x86-64 machine and with any number
// of threads, gives the same bits, and a trained network (with the same build
// and C library) is the same whichever kernel trained it. One caller at a time.

#include <cstdint>
#include <string>
#include <vector>

namespace tpu::train {

// A is m x k (stored k x m when `a_transposed`), B is k x n (stored n x k when `b_transposed`),
// C is m x n; each densely packed.
void gemm(int64_t m, int64_t n, int64_t k, const float* a, bool a_transposed, const float* b, bool b_transposed,
          float* c, bool accumulate);

// The kernels this machine can run, fastest first ("avx512", "avx2", "portable").
std::vector<std::string> gemm_kernels();
// The kernel gemm() runs: the fastest, unless set_gemm_kernel chose another.
const std::string& gemm_kernel();
// Throws std::invalid_argument naming the kernels this machine has when `name` is not one of them.
void set_gemm_kernel(const std::string& name);

// How many threads share each product (1 by default); any number gives the same bits.
void set_gemm_threads(int threads);
int gemm_threads();

}  // namespace tpu::train
