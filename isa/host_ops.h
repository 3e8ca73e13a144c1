#pragma once

// What the host computes for `hop`: the HostFn semantics of isa.def, exactly.
// This is the host's part of a program, not a unit of the chip, so the chip
// model, the reference machine and the compiler's interpreter all run this
// one definition; tests check it against the float functions it stands for.

#include <cstdint>
#include <vector>

#include "isa/isa.h"

namespace tpu::isa::host {

constexpr uint32_t kSoftmaxOne = uint32_t{1} << 24;  // T[0], exp(0)
constexpr uint64_t kSoftmaxTableEntries = 256;
constexpr uint64_t kMaxOperandBytes = uint64_t{1} << 28;  // rows * cols of one hop

// Bytes of the parameter block `fn` reads for rows `cols` bytes long.
uint64_t params_bytes(HostFn fn, uint64_t cols);

// The rows-by-cols result of `fn` on the int8 matrix at `src`, with the
// parameter block at `params` (params_bytes(fn, cols) bytes).
std::vector<uint8_t> compute(HostFn fn, const uint8_t* src, uint64_t rows, uint64_t cols, const uint8_t* params);

// Parameter blocks as a program carries them.
// softmax of int8 inputs of scale `scale`.
std::vector<uint8_t> softmax_params(double scale);
// layernorm: eps in squared input steps, the input zero point, and per column
// the output's a_j = gamma_j / out_scale and b_j = beta_j / out_scale + out_zp.
std::vector<uint8_t> layernorm_params(double eps, int32_t zp, const std::vector<double>& a,
                                      const std::vector<double>& b);

}  // namespace tpu::isa::host
