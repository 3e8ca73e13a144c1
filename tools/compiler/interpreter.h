#pragma once

// Two plain interpreters of a network: in float (for calibration and for
// measuring what quantization costs) and in int8, executing the quantized
// graph with the chip's arithmetic (isa/arith.h). The chip's outputs must
// equal the int8 interpreter's bit for bit.

#include <cstdint>
#include <vector>

#include "tools/compiler/graph.h"
#include "tools/compiler/quantize.h"

namespace tpu::compiler {

struct FloatOutputs {
  std::vector<std::vector<float>> pre;   // per layer, before the activation function
  std::vector<std::vector<float>> post;  // per layer, after it
};
FloatOutputs run_float(const Graph& g, const std::vector<float>& input);

// The largest magnitude of each layer's outputs, before and after its function
// (run_float's, without keeping every layer's outputs at once).
struct FloatRanges {
  std::vector<double> pre, post;
};
FloatRanges float_ranges(const Graph& g, const std::vector<float>& input);

// Per layer int8 outputs for an int8 input; layers whose output is int32
// sums (QLayer::raw) put them in `wide` (required for such graphs).
std::vector<std::vector<int8_t>> run_int8(const QGraph& q, const std::vector<int8_t>& input,
                                          std::vector<std::vector<int32_t>>* wide = nullptr);

// The input tensor as the host hands it to the chip.
std::vector<int8_t> quantize_input(const QGraph& q, const std::vector<float>& input);

}  // namespace tpu::compiler
