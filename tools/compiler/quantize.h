#pragma once

// Quantization to the chip's integer arithmetic: int8 symmetric weights per
// output channel, int8 activations per tensor (zero point 0, except where a
// function fixes it: sigmoid outputs have scale 1/256 and zero point -128,
// tanh outputs 1/128, softmax outputs 1/127; gelu keeps its input's
// power-of-two scale), int32 biases with the input zero point folded in, and
// requantization multipliers and shifts in exactly the form `act` and `vop`
// take. The quantized graph is what the reference interpreter executes and
// what the lowering emits: both read these numbers and nothing else.

#include <cstdint>
#include <vector>

#include "isa/isa.h"
#include "tools/compiler/graph.h"

namespace tpu::compiler {

struct Requant {
  int32_t mult = 0;  // Q31
  int32_t shift = 0;
};

// x rounded to the nearest integer, halves to even: how weights round to int8.
double round_half_even(double x);

// Requant for a real multiplier m >= 0: m ~= mult / 2^(31 + shift); throws ModelError if m is too large.
Requant requant_for(double m, const std::string& where);
// The requantization dividing a window's sum by its `count` taps (average pooling without padding).
inline Requant divide_by(int64_t count) { return requant_for(1.0 / static_cast<double>(count), ""); }

struct QLayer {
  double scale = 1;  // output: real = scale * (q - zp)
  int zp = 0;
  isa::ActFunc func = isa::ActFunc::identity;
  int frac = 0;    // fraction bits read by relu6, sigmoid and tanh
  int act_zp = 0;  // zero point `act`/`vop` requantize to (the function may change it)
  // dense, conv2d: weights in the float layout, and per output channel
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  std::vector<Requant> requant;
  // add: out = requant(ma * (a - za) + mb * (b - zb))
  int ma = 1, mb = 1;
  Requant add;
  bool raw = false;                  // dense, conv2d: the int32 sums (plus bias) are the output (act raw)
  bool same_weights = false;         // dense: the weights are Layer::shares's (an LSTM gate at a later step)
  std::vector<uint8_t> host_params;  // softmax, layernorm: the parameter block of their `hop`
  // dense on the sparse engine (Layer::sparse): per weight its codebook entry ([K][M], as `weights`);
  // the codebook (entry 0 the zero weight) in int16 steps of the layer's weight scale; `bias` per
  // output in steps of the input's scale times that; requant[0] for every output.
  bool sparse = false;
  std::vector<uint8_t> codebook_indices;
  std::vector<int16_t> codebook;
};

struct QGraph {
  const Graph* graph = nullptr;
  // false: quantized without data for a timing-only compile; the scales, biases and
  // requantizations are placeholders, there are no int8 weights, and only the shapes are the network's.
  bool values = true;
  std::vector<QLayer> layers;
  isa::Rounding rounding = isa::Rounding::half_away;
};

// Float inputs: `count` batches of the graph's input shape (or of `batch`
// samples when given), drawn from the seeded generator (uniform in [0, 1)
// for images, standard normal otherwise).
std::vector<std::vector<float>> synthetic_inputs(const Graph& g, int count, int64_t batch = 0);

// Calibrates activation ranges on `inputs` (one or more batches of any size of the input
// sample shape; max |x| per tensor, or the given percentile of |x|) and quantizes.
QGraph quantize(const Graph& g, const std::vector<std::vector<float>>& inputs, double percentile = 100.0);
// Without data, for a timing-only compile: placeholder scales, no int8 weights (QGraph::values false).
QGraph quantize_for_timing(const Graph& g);

}  // namespace tpu::compiler
