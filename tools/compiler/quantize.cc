#include "tools/compiler/quantize.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>

#include "isa/host_ops.h"
#include "tools/compiler/compress.h"
#include "tools/compiler/interpreter.h"

namespace tpu::compiler {

Requant requant_for(double m, const std::string& where) {
  if (!(m >= 0) || !std::isfinite(m)) throw ModelError(where + "invalid requantization scale");
  if (m < std::ldexp(1.0, -62)) return {0, 0};  // indistinguishable from zero
  int e = 0;
  const double frac = std::frexp(m, &e);  // m = frac * 2^e, frac in [0.5, 1)
  int64_t mult = std::llround(frac * 2147483648.0);
  if (mult == (int64_t{1} << 31)) {
    mult /= 2;
    ++e;
  }
  // m = mult / 2^31 * 2^e = mult / 2^(31 + shift) with shift = -e.
  int shift = -e;
  if (shift < -31) throw ModelError(where + "requantization scale " + std::to_string(m) + " is too large for the chip");
  while (shift > 31) {  // a tiny multiplier: trade precision for range
    mult >>= 1;
    --shift;
  }
  return {static_cast<int32_t>(mult), shift};
}

// x rounded to the nearest integer, ties to even (as std::nearbyint in the default rounding mode),
// for |x| < 2^51 (a scaled weight is at most 127): adding and taking away 1.5 x 2^52 leaves no
// fraction bits (IEEE arithmetic, which the build keeps: no -ffast-math). Inline, where nearbyint
// is a library call per weight.
double round_half_even(double x) {
  constexpr double kShift = 6755399441055744.0;  // 1.5 x 2^52
  if (!(std::fabs(x) < 2251799813685248.0)) return std::nearbyint(x);
  return (x + kShift) - kShift;
}

std::vector<std::vector<float>> synthetic_inputs(const Graph& g, int count, int64_t batch) {
  std::mt19937_64 rng(g.seed * 7919 + 17);
  const Layer& in = g.layers[0];
  const int64_t per_sample = elements(in.shape) / in.shape[0];
  std::vector<std::vector<float>> batches(static_cast<size_t>(count));
  for (auto& b : batches) {
    b.resize(static_cast<size_t>(per_sample * (batch > 0 ? batch : in.shape[0])));
    for (float& v : b) {
      const double u = static_cast<double>(rng() >> 11) / 9007199254740992.0;
      if (in.is_image()) {
        v = static_cast<float>(u);
      } else {
        const double u2 = (static_cast<double>(rng() >> 11) + 1.0) / 9007199254740993.0;
        v = static_cast<float>(std::sqrt(-2.0 * std::log(u2)) * std::cos(6.283185307179586 * u));
      }
    }
  }
  return batches;
}

namespace {

// The p-th percentile of |values| (p = 100: the maximum).
double magnitude(std::vector<float> values, double p) {
  if (values.empty()) return 0;
  for (float& v : values) v = std::fabs(v);
  if (p >= 100) return *std::max_element(values.begin(), values.end());
  const size_t k = static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(values.size() - 1)));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
  return values[k];
}

// Fraction bits for a function reading (q - zp) / 2^frac, so that `range` fits in int8.
int frac_for(double range) {
  if (range <= 0) return 7;
  return std::clamp(static_cast<int>(std::floor(std::log2(127.0 / range))), 0, 7);
}

}  // namespace

namespace {

// A layer's weights, bias and requantization as the model states them
// (GivenQuant): the input zero point folded into the bias, as for calibrated layers.
void given_weights(const GivenQuant& gq, const QLayer& in, int64_t m, const std::string& where, QLayer* ql) {
  ql->weights = gq.weights;
  ql->raw = gq.int32_out;
  const int64_t rows = static_cast<int64_t>(gq.weights.size()) / m;
  ql->bias.assign(static_cast<size_t>(m), 0);
  ql->requant.resize(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) {
    int64_t wsum = 0;
    for (int64_t r = 0; r < rows; ++r) wsum += gq.weights[r * m + j];
    ql->bias[j] = static_cast<int32_t>((gq.bias.empty() ? 0 : gq.bias[j]) - static_cast<int64_t>(in.zp) * wsum);
    ql->requant[j] = requant_for(in.scale * gq.weight_scales[j] / gq.scale, where);
  }
}

}  // namespace

namespace {

QGraph quantize_graph(const Graph& g, const std::vector<std::vector<float>>& inputs, double percentile, bool values);

// A dense layer for the sparse engine: pruned and shared (compress.h), its codebook in int16 steps
// of a scale that makes the largest shared value 32767. The weights are there in a timing-only
// compile too: its timing depends on where the zeros are.
void compress_layer(const Layer& l, const QLayer& in, double target, const std::string& where, QLayer* ql) {
  if (l.given) throw ModelError(where + "a layer with given integer weights does not run on the sparse engine");
  if (l.weights.empty()) throw ModelError(where + "the sparse engine needs the layer's weights");
  const SharedWeights shared = share_weights(prune(l.weights, l.density), (1 << l.bits) - 1);
  double largest = 0, largest_bias = 0;
  for (float c : shared.codebook) largest = std::max(largest, std::fabs(double(c)));
  for (float b : l.bias) largest_bias = std::max(largest_bias, std::fabs(double(b)));
  // The largest shared value is `code` steps: 32767 (int16), unless a row's sum could then leave
  // int32: at most its non-zeros times code times 255 (the widest input minus zero point), plus
  // its bias of largest_bias / (in.scale x largest / code) steps.
  const int64_t m = l.units;
  std::vector<uint64_t> row_nonzeros(static_cast<size_t>(m), 0);
  for (size_t i = 0; i < shared.indices.size(); ++i) row_nonzeros[i % static_cast<size_t>(m)] += shared.indices[i] != 0;
  const double nonzeros = double(*std::max_element(row_nonzeros.begin(), row_nonzeros.end()));
  const double per_code = 255 * nonzeros + (largest > 0 ? largest_bias / (in.scale * largest) : 0);
  if (per_code > double(INT32_MAX))
    throw ModelError(where + "its sums could leave int32 on the sparse engine even with a codebook of +-1 (" +
                     std::to_string(static_cast<uint64_t>(nonzeros)) + " non-zeros in a row, a bias of " +
                     std::to_string(largest_bias) + "); prune it further");
  const double code = std::min(std::floor(double(INT32_MAX) / std::max(per_code, 1.0)), 32767.0);
  const double scale = largest > 0 ? largest / code : 1;
  ql->sparse = true;
  ql->codebook_indices = shared.indices;
  ql->codebook.clear();
  for (float c : shared.codebook) ql->codebook.push_back(static_cast<int16_t>(round_half_even(c / scale)));
  ql->bias.resize(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) {
    const double b = l.bias.empty() ? 0 : std::nearbyint(l.bias[j] / (in.scale * scale));
    ql->bias[j] = static_cast<int32_t>(std::clamp<double>(b, INT32_MIN, INT32_MAX));
  }
  ql->requant.assign(1, requant_for(in.scale * scale / target, where));
}

}  // namespace

QGraph quantize(const Graph& g, const std::vector<std::vector<float>>& inputs, double percentile) {
  if (inputs.empty()) throw ModelError(g.file + ": calibration needs at least one batch of inputs");
  return quantize_graph(g, inputs, percentile, true);
}

QGraph quantize_for_timing(const Graph& g) { return quantize_graph(g, {}, 100.0, false); }

namespace {

QGraph quantize_graph(const Graph& g, const std::vector<std::vector<float>>& inputs, double percentile, bool values) {
  // |x| ranges per layer, before and after its function: maxima directly, or
  // all values kept when a percentile is asked for.
  const bool keep = percentile < 100;
  std::vector<std::vector<float>> pre(g.layers.size()), post(g.layers.size());
  std::vector<double> pre_max(g.layers.size(), 0), post_max(g.layers.size(), 0);
  const int64_t per_sample = elements(g.layers[0].shape) / g.layers[0].shape[0];
  for (const auto& x : inputs) {
    const int64_t batch = static_cast<int64_t>(x.size()) / per_sample;
    std::optional<Graph> reshaped;  // a copy only when the batch differs: the graph holds the weights
    if (batch != g.layers[0].shape[0]) reshaped = with_batch(g, batch);
    const Graph& batched = reshaped ? *reshaped : g;
    if (!keep) {
      const FloatRanges f = float_ranges(batched, x);
      for (size_t i = 0; i < g.layers.size(); ++i) {
        pre_max[i] = std::max(pre_max[i], f.pre[i]);
        post_max[i] = std::max(post_max[i], f.post[i]);
      }
      continue;
    }
    const FloatOutputs f = run_float(batched, x);
    for (size_t i = 0; i < g.layers.size(); ++i) {
      pre[i].insert(pre[i].end(), f.pre[i].begin(), f.pre[i].end());
      post[i].insert(post[i].end(), f.post[i].begin(), f.post[i].end());
    }
  }
  auto range_pre = [&](size_t i) { return keep ? magnitude(pre[i], percentile) : pre_max[i]; };
  auto range_post = [&](size_t i) { return keep ? magnitude(post[i], percentile) : post_max[i]; };
  QGraph q;
  q.graph = &g;
  q.values = values;
  q.layers.resize(g.layers.size());
  auto symmetric = [](double range) { return range > 0 ? range / 127.0 : 1.0 / 127.0; };
  q.layers[0].scale = symmetric(range_post(0));
  if (g.layers[0].given) {
    q.layers[0].scale = g.layers[0].given->scale;
    q.layers[0].zp = g.layers[0].given->zp;
  }
  for (const Layer& l : g.layers)
    if (l.given) q.rounding = isa::Rounding::half_even;  // ONNX rounds its integer operators half to even
  for (size_t i = 1; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    QLayer& ql = q.layers[i];
    const std::string where = g.where(l);
    const QLayer& in = q.layers[l.inputs[0]];
    ql.func = l.act;
    // Output quantization, and the scale the requantization aims at.
    double target = 1;
    if (l.given) {  // the model's own numbers: no calibration
      ql.scale = target = l.given->scale;
      ql.zp = l.given->zp;
    } else {
      switch (l.act) {
        case isa::ActFunc::identity:
        case isa::ActFunc::relu: ql.scale = target = symmetric(range_post(i)); break;
        case isa::ActFunc::relu6:  // the function reads q / 2^frac: a power-of-two scale
          ql.frac = 4;
          ql.scale = target = 1.0 / 16;
          break;
        case isa::ActFunc::sigmoid:
        case isa::ActFunc::tanh:
          ql.frac = frac_for(range_pre(i));
          target = std::ldexp(1.0, -ql.frac);
          ql.scale = l.act == isa::ActFunc::sigmoid ? 1.0 / 256 : 1.0 / 128;
          ql.zp = l.act == isa::ActFunc::sigmoid ? -128 : 0;
          break;
        case isa::ActFunc::gelu:  // the table keeps the input's power-of-two scale
          ql.frac = frac_for(range_pre(i));
          ql.scale = target = std::ldexp(1.0, -ql.frac);
          break;
      }
    }
    switch (l.op) {
      case Op::kInput: break;
      case Op::kDense:
      case Op::kConv2d: {
        // Decided from the float weights, which a timing-only compile has too where the model gives
        // them (and a later step without its own takes the earlier step's).
        ql.same_weights = l.shares >= 0 && (l.weights.empty() || l.weights == g.layers[l.shares].weights);
        if (l.sparse) {
          compress_layer(l, in, target, where, &ql);
          break;
        }
        if (l.given) {
          given_weights(*l.given, in, l.units, where, &ql);
          break;
        }
        const int64_t m = l.units;
        if (!q.values) {
          ql.bias.assign(static_cast<size_t>(m), 0);
          ql.requant.assign(static_cast<size_t>(m), requant_for(in.scale / target, where));
          break;
        }
        const int64_t per_channel = static_cast<int64_t>(l.weights.size()) / m;  // rows of the [.., m] layout
        std::vector<double> sw(static_cast<size_t>(m), 0);
        for (int64_t r = 0; r < per_channel; ++r)
          for (int64_t j = 0; j < m; ++j) sw[j] = std::max<double>(sw[j], std::fabs(l.weights[r * m + j]));
        std::vector<double> inv(static_cast<size_t>(m));
        for (int64_t j = 0; j < m; ++j) {
          sw[j] = sw[j] > 0 ? sw[j] / 127.0 : 1.0;
          inv[j] = 1.0 / sw[j];
        }
        ql.weights.resize(l.weights.size());
        std::vector<int64_t> wsum(static_cast<size_t>(m), 0);
        for (int64_t r = 0; r < per_channel; ++r)
          for (int64_t j = 0; j < m; ++j) {
            const double q = round_half_even(l.weights[r * m + j] * inv[j]);
            const int8_t v = static_cast<int8_t>(std::clamp(q, -127.0, 127.0));
            ql.weights[r * m + j] = v;
            wsum[j] += v;
          }
        ql.bias.resize(static_cast<size_t>(m));
        ql.requant.resize(static_cast<size_t>(m));
        for (int64_t j = 0; j < m; ++j) {
          // The input zero point, folded into the bias: sum (x - zx) w = sum x w - zx sum w.
          const double b = std::llround(l.bias[j] / (in.scale * sw[j])) - static_cast<double>(in.zp) * wsum[j];
          ql.bias[j] = static_cast<int32_t>(std::clamp<double>(b, INT32_MIN, INT32_MAX));
          ql.requant[j] = requant_for(in.scale * sw[j] / target, where);
        }
        break;
      }
      case Op::kMaxPool:
      case Op::kAvgPool:
      case Op::kGlobalAvgPool:
      case Op::kFlatten:
      case Op::kToken:
        ql.scale = in.scale;
        ql.zp = in.zp;
        ql.func = isa::ActFunc::identity;
        ql.frac = 0;
        if (l.act != isa::ActFunc::identity)
          throw ModelError(where + op_name(l.op) + " takes no activation; put it on the layer before");
        if (l.averages_valid_taps()) {
          // Window sums through the matrix unit (a depthwise convolution by ones), each divided by its
          // count of taps inside the image; with a zero point the padding would enter the sums.
          if (in.zp != 0)
            throw ModelError(where + "an average pool not counting its padding needs an input of zero point 0, not " +
                             std::to_string(in.zp) + " (the padding would enter its sums)");
          ql.weights.assign(static_cast<size_t>(l.kh * l.kw * l.shape.back()), 1);
          ql.bias.assign(static_cast<size_t>(l.shape.back()), 0);
        }
        break;
      case Op::kMul: ql.add = requant_for(in.scale * q.layers[l.inputs[1]].scale / target, where); break;
      case Op::kActivation: ql.add = requant_for(in.scale / target, where); break;
      case Op::kZeros: ql.scale = 1.0 / 127; break;
      case Op::kConstant:
        if (!q.values) break;
        ql.weights.resize(l.weights.size());
        for (size_t v = 0; v < l.weights.size(); ++v)
          ql.weights[v] = static_cast<int8_t>(std::clamp<double>(std::nearbyint(l.weights[v] / ql.scale), -127, 127));
        break;
      case Op::kConcat:
        if (l.act != isa::ActFunc::identity) throw ModelError(where + "concat takes no activation");
        for (int input : l.inputs) ql.requant.push_back(requant_for(q.layers[input].scale / target, where));
        break;
      case Op::kMatMul: {
        // Both operands must be symmetric: a zero point would need per-row and per-column corrections
        // that depend on the data.
        const QLayer& b = q.layers[l.inputs[1]];
        for (int input : l.inputs)
          if (q.layers[input].zp != 0)
            throw ModelError(where + "matmul reads '" + g.layers[input].name + "', whose zero point is " +
                             std::to_string(q.layers[input].zp) + "; its operands need zero point 0");
        const int64_t cols = l.shape.back();
        ql.bias.assign(static_cast<size_t>(cols), 0);
        ql.requant.assign(static_cast<size_t>(cols), requant_for(in.scale * b.scale * l.alpha / target, where));
        break;
      }
      case Op::kSoftmax:
        ql.scale = 1.0 / 127;  // the host's rounding of probabilities to 7 bits
        ql.zp = 0;
        ql.host_params = isa::host::softmax_params(in.scale);
        break;
      case Op::kLayerNorm: {
        const size_t channels = static_cast<size_t>(l.channels());
        std::vector<double> a(channels, 0), b(channels, ql.zp);
        for (size_t j = 0; q.values && j < channels; ++j) {
          a[j] = l.weights[j] / ql.scale;
          b[j] = l.bias[j] / ql.scale + ql.zp;
        }
        ql.host_params = isa::host::layernorm_params(l.eps / (in.scale * in.scale), in.zp, a, b);
        break;
      }
      case Op::kAdd: {
        const QLayer& b = q.layers[l.inputs[1]];
        const double ra = in.scale / target, rb = b.scale / target, top = std::max(ra, rb);
        ql.ma = static_cast<int>(std::llround(ra / top * 16384));
        ql.mb = static_cast<int>(std::llround(rb / top * 16384));
        ql.add = requant_for(top / 16384, where);
        break;
      }
    }
    // Functions other than identity and relu see a symmetric pre-activation.
    ql.act_zp = (l.act == isa::ActFunc::identity || l.act == isa::ActFunc::relu) ? ql.zp : 0;
    if (l.op == Op::kMaxPool || l.op == Op::kAvgPool || l.op == Op::kGlobalAvgPool || l.op == Op::kFlatten)
      ql.act_zp = 0;                            // the chip passes the input through unchanged
    if (l.op == Op::kToken) ql.act_zp = ql.zp;  // copied by a vop that requantizes to the same zero point
  }
  return q;
}

}  // namespace

}  // namespace tpu::compiler
