#include "tools/compiler/interpreter.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <Eigen/Core>

#include "isa/arith.h"
#include "isa/host_ops.h"

namespace tpu::compiler {

namespace arith = isa::arith;

namespace {

float act_float(isa::ActFunc f, float x) {
  switch (f) {
    case isa::ActFunc::identity: return x;
    case isa::ActFunc::relu: return std::max(x, 0.0f);
    case isa::ActFunc::relu6: return std::min(std::max(x, 0.0f), 6.0f);
    case isa::ActFunc::sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case isa::ActFunc::tanh: return std::tanh(x);
    case isa::ActFunc::gelu: return 0.5f * x * (1.0f + std::erf(x / std::sqrt(2.0f)));
  }
  return x;
}

// Geometry of a conv2d or pooling window over an NHWC input.
struct Window {
  int64_t n, h, w, c, oh, ow, oc;
  int64_t index(int64_t b, int64_t y, int64_t x, int64_t ch) const { return ((b * h + y) * w + x) * c + ch; }
  int64_t out(int64_t b, int64_t y, int64_t x, int64_t ch) const { return ((b * oh + y) * ow + x) * oc + ch; }
};

Window window(const Graph& g, const Layer& l) {
  const auto& in = g.layers[l.inputs[0]].shape;
  return {in[0], in[1], in[2], in[3], l.shape[1], l.shape[2], l.shape[3]};
}

// Calls f(output index, out channel, input index, weight index) for every
// product of a conv2d, skipping taps in the padding.
template <class F>
void for_each_conv_product(const Graph& g, const Layer& l, F&& f) {
  const Window win = window(g, l);
  const int64_t cin_g = win.c / l.groups, cout_g = win.oc / l.groups;
  for (int64_t b = 0; b < win.n; ++b)
    for (int64_t oy = 0; oy < win.oh; ++oy)
      for (int64_t ox = 0; ox < win.ow; ++ox)
        for (int64_t j = 0; j < win.oc; ++j) {
          const int64_t group = j / cout_g;
          for (int64_t dy = 0; dy < l.kh; ++dy) {
            const int64_t y = oy * l.sh + dy * l.dh - l.pad_top;
            if (y < 0 || y >= win.h) continue;
            for (int64_t dx = 0; dx < l.kw; ++dx) {
              const int64_t x = ox * l.sw + dx * l.dw - l.pad_left;
              if (x < 0 || x >= win.w) continue;
              for (int64_t ci = 0; ci < cin_g; ++ci)
                f(win.out(b, oy, ox, j), j, win.index(b, y, x, group * cin_g + ci),
                  ((dy * l.kw + dx) * cin_g + ci) * win.oc + j);
            }
          }
        }
}

// Calls f(output index, input indices) for every pooling window; taps in the
// padding are left out (a max pool's border holds -128, which no max exceeds;
// an average pool's count_pad counts them as zeros).
template <class F>
void for_each_pool_window(const Graph& g, const Layer& l, F&& f) {
  const Window win = window(g, l);
  for (int64_t b = 0; b < win.n; ++b)
    for (int64_t oy = 0; oy < win.oh; ++oy)
      for (int64_t ox = 0; ox < win.ow; ++ox)
        for (int64_t ch = 0; ch < win.c; ++ch) {
          std::vector<int64_t> taps;
          for (int64_t dy = 0; dy < l.kh; ++dy)
            for (int64_t dx = 0; dx < l.kw; ++dx) {
              const int64_t y = oy * l.sh + dy - l.pad_top, x = ox * l.sw + dx - l.pad_left;
              if (y >= 0 && y < win.h && x >= 0 && x < win.w) taps.push_back(win.index(b, y, x, ch));
            }
          f(win.out(b, oy, ox, ch), taps);
        }
}

// The sums of a matmul layer (Layer::heads): sums[o] = sum of a * b over the
// shared axis, for every output element o.
template <class In, class Sum>
void matmul_sums(const Graph& g, const Layer& l, const std::vector<In>& a, const std::vector<In>& b,
                 std::vector<Sum>& sums) {
  const auto& sa = g.layers[l.inputs[0]].shape;
  const auto& sb = g.layers[l.inputs[1]].shape;
  const int64_t N = sa[0], H = l.heads, S = sa[2], T = sb[2], F = sb[3], d = F / H;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t s = 0; s < S; ++s) {
        if (l.transpose_b) {
          for (int64_t t = 0; t < T; ++t) {
            Sum sum = 0;
            for (int64_t k = 0; k < d; ++k)
              sum += Sum(a[(n * S + s) * F + h * d + k]) * Sum(b[(n * T + t) * F + h * d + k]);
            sums[((n * H + h) * S + s) * T + t] = sum;
          }
        } else {
          for (int64_t j = 0; j < d; ++j) {
            Sum sum = 0;
            for (int64_t t = 0; t < T; ++t)
              sum += Sum(a[((n * H + h) * S + s) * T + t]) * Sum(b[(n * T + t) * F + h * d + j]);
            sums[(n * S + s) * F + h * d + j] = sum;
          }
        }
      }
}

// Per image and channel of an NHWC input, the sum over all its pixels (global pooling).
template <class In, class Sum>
void channel_sums(const std::vector<int64_t>& in, const std::vector<In>& x, std::vector<Sum>& sums) {
  const int64_t hw = in[1] * in[2], c = in[3];
  for (int64_t b = 0; b < in[0]; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      Sum s = 0;
      for (int64_t p = 0; p < hw; ++p) s += x[(b * hw + p) * c + ch];
      sums[b * c + ch] = s;
    }
}

// Token `index` of each sequence [N, 1, T, F] into [N, F].
template <class In, class Out>
void copy_token(const Graph& g, const Layer& l, const std::vector<In>& x, std::vector<Out>& y) {
  const auto& in = g.layers[l.inputs[0]].shape;
  const int64_t T = in[2], F = in[3];
  for (int64_t n = 0; n < in[0]; ++n)
    for (int64_t f = 0; f < F; ++f) y[n * F + f] = x[(n * T + l.index) * F + f];
}

// The input patches of image b, group grp, one row per output pixel (taps
// over padding read `pad`): the contraction of a conv2d as a matrix product.
template <class In, class Out>
void im2col(const Layer& l, const Window& win, const std::vector<In>& x, int64_t b, int64_t grp, Out pad, Out* cols) {
  const int64_t cin_g = win.c / l.groups, K = l.kh * l.kw * cin_g;
  for (int64_t oy = 0; oy < win.oh; ++oy)
    for (int64_t ox = 0; ox < win.ow; ++ox)
      for (int64_t dy = 0; dy < l.kh; ++dy)
        for (int64_t dx = 0; dx < l.kw; ++dx) {
          const int64_t yy = oy * l.sh + dy * l.dh - l.pad_top, xx = ox * l.sw + dx * l.dw - l.pad_left;
          const bool inside = yy >= 0 && yy < win.h && xx >= 0 && xx < win.w;
          Out* dst = &cols[(oy * win.ow + ox) * K + (dy * l.kw + dx) * cin_g];
          for (int64_t ci = 0; ci < cin_g; ++ci)
            dst[ci] = inside ? Out(x[win.index(b, yy, xx, grp * cin_g + ci)]) : pad;
        }
}

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// conv2d in float through im2col and a matrix product, group by group.
void conv_float(const Graph& g, const Layer& l, const std::vector<float>& x, std::vector<double>& y) {
  const Window win = window(g, l);
  const int64_t cin_g = win.c / l.groups, cout_g = win.oc / l.groups, taps = l.kh * l.kw;
  const int64_t pixels = win.oh * win.ow;
  RowMatrix cols(pixels, taps * cin_g), w(taps * cin_g, cout_g);
  for (int64_t grp = 0; grp < l.groups; ++grp) {
    for (int64_t r = 0; r < taps * cin_g; ++r)
      for (int64_t j = 0; j < cout_g; ++j) w(r, j) = l.weights[r * win.oc + grp * cout_g + j];
    for (int64_t b = 0; b < win.n; ++b) {
      im2col(l, win, x, b, grp, 0.0f, cols.data());
      const RowMatrix out = cols * w;
      for (int64_t p = 0; p < pixels; ++p)
        for (int64_t j = 0; j < cout_g; ++j)
          y[(b * pixels + p) * win.oc + grp * cout_g + j] = double(out(p, j)) + l.bias[grp * cout_g + j];
    }
  }
}

// Sum of products of int8 values (held in int16), wrapped to int32 as the accumulators are.
int32_t dot(const int16_t* a, const int16_t* b, int64_t n) {
  int64_t sum = 0;
  for (int64_t start = 0; start < n; start += 32768) {  // int32 partial sums cannot overflow in 32768 products
    int32_t part = 0;
    const int64_t end = std::min(n, start + 32768);
    for (int64_t i = start; i < end; ++i) part += int32_t(a[i]) * int32_t(b[i]);
    sum += part;
  }
  return static_cast<int32_t>(static_cast<uint32_t>(sum));
}

}  // namespace

namespace {

// Runs the float graph layer by layer, handing each layer's outputs before and
// after its function to visit(layer, pre, post), and returns every layer's
// outputs after it. With `release`, a layer's outputs are dropped once its last
// reader has run (calibration needs only their ranges, and ResNet-50's all at
// once would be hundreds of MB); outputs nobody reads are dropped at once.
template <class Visit>
std::vector<std::vector<float>> evaluate_float(const Graph& g, const std::vector<float>& input, bool release,
                                               Visit&& visit) {
  std::vector<std::vector<float>> post(g.layers.size());
  std::vector<size_t> last_reader(g.layers.size(), 0);
  for (size_t i = 1; i < g.layers.size(); ++i)
    for (int input_layer : g.layers[i].inputs) last_reader[static_cast<size_t>(input_layer)] = i;
  post[0] = input;
  visit(size_t{0}, input, input);
  std::vector<float> pre;
  for (size_t i = 1; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    const std::vector<float>& x = post[l.inputs[0]];
    std::vector<double> y(static_cast<size_t>(elements(l.shape)), 0.0);
    switch (l.op) {
      case Op::kInput: break;
      case Op::kDense: {
        const int64_t k = g.layers[l.inputs[0]].shape.back(), m = l.units, n = elements(l.shape) / m;
        const Eigen::Map<const RowMatrix> X(x.data(), n, k), W(l.weights.data(), k, m);
        const RowMatrix Y = X * W;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t j = 0; j < m; ++j) y[b * m + j] = double(Y(b, j)) + l.bias[j];
        break;
      }
      case Op::kConv2d: conv_float(g, l, x, y); break;
      case Op::kMaxPool:
      case Op::kAvgPool:
        for_each_pool_window(g, l, [&](int64_t o, const std::vector<int64_t>& taps) {
          double best = -1e300, sum = 0;
          for (int64_t t : taps) {
            best = std::max(best, double(x[t]));
            sum += x[t];
          }
          y[o] = l.op == Op::kMaxPool ? best : sum / double(l.count_pad ? l.kh * l.kw : int64_t(taps.size()));
        });
        break;
      case Op::kGlobalAvgPool: {
        const auto& in = g.layers[l.inputs[0]].shape;
        channel_sums(in, x, y);
        for (double& v : y) v /= static_cast<double>(in[1] * in[2]);
        break;
      }
      case Op::kAdd: {
        const std::vector<float>& x2 = post[l.inputs[1]];
        for (size_t o = 0; o < y.size(); ++o) y[o] = double(x[o]) + x2[o];
        break;
      }
      case Op::kFlatten:
      case Op::kActivation:
        for (size_t o = 0; o < y.size(); ++o) y[o] = x[o];
        break;
      case Op::kToken: copy_token(g, l, x, y); break;
      case Op::kMul: {
        const std::vector<float>& x2 = post[l.inputs[1]];
        for (size_t o = 0; o < y.size(); ++o) y[o] = double(x[o]) * x2[o];
        break;
      }
      case Op::kZeros: break;
      case Op::kConstant:
        for (size_t o = 0; o < y.size(); ++o) y[o] = l.weights[o];
        break;
      case Op::kMatMul: {
        matmul_sums(g, l, x, post[l.inputs[1]], y);
        for (double& v : y) v *= l.alpha;
        break;
      }
      case Op::kSoftmax:
      case Op::kLayerNorm: {
        const int64_t cols = l.shape.back(), rows = elements(l.shape) / cols;
        for (int64_t row = 0; row < rows; ++row) {
          const float* xr = &x[row * cols];
          double* yr = &y[row * cols];
          if (l.op == Op::kSoftmax) {
            const double m = *std::max_element(xr, xr + cols);
            double sum = 0;
            for (int64_t j = 0; j < cols; ++j) sum += yr[j] = std::exp(xr[j] - m);
            for (int64_t j = 0; j < cols; ++j) yr[j] /= sum;
          } else {
            double mean = 0, var = 0;
            for (int64_t j = 0; j < cols; ++j) mean += xr[j];
            mean /= cols;
            for (int64_t j = 0; j < cols; ++j) var += (xr[j] - mean) * (xr[j] - mean);
            const double inv = 1.0 / std::sqrt(var / cols + l.eps);
            for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - mean) * inv * l.weights[j] + l.bias[j];
          }
        }
        break;
      }
      case Op::kConcat: {
        const int64_t rows = elements(l.shape) / l.shape.back(), width = l.shape.back();
        int64_t off = 0;
        for (int input : l.inputs) {
          const std::vector<float>& xi = post[input];
          const int64_t wi = g.layers[input].shape.back();
          for (int64_t row = 0; row < rows; ++row)
            for (int64_t c = 0; c < wi; ++c) y[row * width + off + c] = xi[row * wi + c];
          off += wi;
        }
        break;
      }
    }
    pre.assign(y.begin(), y.end());
    post[i].resize(y.size());
    for (size_t o = 0; o < y.size(); ++o) post[i][o] = act_float(l.act, pre[o]);
    visit(i, pre, post[i]);
    if (!release) continue;
    for (int input_layer : l.inputs)
      if (last_reader[static_cast<size_t>(input_layer)] == i) std::vector<float>().swap(post[input_layer]);
    if (last_reader[i] == 0) std::vector<float>().swap(post[i]);
  }
  return post;
}

}  // namespace

FloatOutputs run_float(const Graph& g, const std::vector<float>& input) {
  FloatOutputs r;
  r.pre.resize(g.layers.size());
  r.post = evaluate_float(g, input, false,
                          [&](size_t i, const std::vector<float>& pre, const std::vector<float>&) { r.pre[i] = pre; });
  return r;
}

FloatRanges float_ranges(const Graph& g, const std::vector<float>& input) {
  FloatRanges r;
  r.pre.assign(g.layers.size(), 0.0);
  r.post.assign(g.layers.size(), 0.0);
  auto largest = [](const std::vector<float>& v) {
    float m = 0;
    for (float x : v) m = std::max(m, std::fabs(x));
    return double(m);
  };
  evaluate_float(g, input, true, [&](size_t i, const std::vector<float>& pre, const std::vector<float>& post) {
    r.pre[i] = largest(pre);
    r.post[i] = largest(post);
  });
  return r;
}

std::vector<int8_t> quantize_input(const QGraph& q, const std::vector<float>& input) {
  std::vector<int8_t> out(input.size());
  for (size_t i = 0; i < input.size(); ++i)
    out[i] = arith::sat8(arith::quantize(input[i], q.layers[0].scale, q.layers[0].zp));
  return out;
}

std::vector<std::vector<int8_t>> run_int8(const QGraph& q, const std::vector<int8_t>& input,
                                          std::vector<std::vector<int32_t>>* wide) {
  const Graph& g = *q.graph;
  std::vector<std::vector<int8_t>> out(g.layers.size());
  if (wide) wide->assign(g.layers.size(), {});
  out[0] = input;
  for (size_t i = 1; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    const QLayer& ql = q.layers[i];
    const std::vector<int8_t>& x = out[l.inputs[0]];
    std::vector<int8_t>& y = out[i];
    y.assign(static_cast<size_t>(elements(l.shape)), 0);
    const arith::Lut lut = arith::function_table(ql.func, ql.act_zp, ql.frac);
    if (ql.raw && !wide) throw ModelError(g.where(l) + "has an int32 output; ask run_int8 for it");
    if (ql.raw) (*wide)[i].assign(y.size(), 0);
    // Output element o from its sum: requantized, or kept whole when raw.
    auto finish = [&](int64_t acc, int64_t channel, int64_t o) -> int8_t {
      if (ql.raw) {
        (*wide)[i][static_cast<size_t>(o)] = arith::sat32(acc + ql.bias[channel]);
        return 0;
      }
      const Requant& r = ql.requant[channel];
      return arith::lookup(lut, arith::requant8(acc + ql.bias[channel], r.mult, r.shift, ql.act_zp, q.rounding));
    };
    switch (l.op) {
      case Op::kInput: break;
      case Op::kDense: {
        const int64_t k = g.layers[l.inputs[0]].shape.back(), m = l.units, n = elements(l.shape) / m;
        if (ql.sparse) {  // the spmv's sums: bias + codebook values x (input - its zero point), wrapped to int32
          const int zin = q.layers[l.inputs[0]].zp;
          for (int64_t b = 0; b < n; ++b)
            for (int64_t j = 0; j < m; ++j) {
              int64_t sum = ql.bias[j];
              for (int64_t t = 0; t < k; ++t)
                sum += int64_t{ql.codebook[ql.codebook_indices[t * m + j]]} * (x[b * k + t] - zin);
              const int32_t wrapped = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(sum)));
              y[b * m + j] = arith::lookup(
                  lut, arith::requant8(wrapped, ql.requant[0].mult, ql.requant[0].shift, ql.act_zp, q.rounding));
            }
          break;
        }
        std::vector<int16_t> xs(x.begin(), x.end()), wt(static_cast<size_t>(k * m));
        for (int64_t t = 0; t < k; ++t)
          for (int64_t j = 0; j < m; ++j) wt[j * k + t] = ql.weights[t * m + j];
        for (int64_t b = 0; b < n; ++b)
          for (int64_t j = 0; j < m; ++j) y[b * m + j] = finish(dot(&xs[b * k], &wt[j * k], k), j, b * m + j);
        break;
      }
      case Op::kConv2d: {
        // im2col per group, then dot products: the same sums as the direct loop.
        const Window win = window(g, l);
        const int64_t cin_g = win.c / l.groups, cout_g = win.oc / l.groups, K = l.kh * l.kw * cin_g;
        const int64_t pixels = win.oh * win.ow;
        const int16_t pad = static_cast<int16_t>(q.layers[l.inputs[0]].zp);  // the padding is a real 0
        std::vector<int16_t> cols(static_cast<size_t>(pixels * K)), wt(static_cast<size_t>(cout_g * K));
        for (int64_t grp = 0; grp < l.groups; ++grp) {
          for (int64_t r = 0; r < K; ++r)
            for (int64_t j = 0; j < cout_g; ++j) wt[j * K + r] = ql.weights[r * win.oc + grp * cout_g + j];
          for (int64_t b = 0; b < win.n; ++b) {
            im2col(l, win, x, b, grp, pad, cols.data());
            for (int64_t p = 0; p < pixels; ++p)
              for (int64_t j = 0; j < cout_g; ++j)
                y[(b * pixels + p) * win.oc + grp * cout_g + j] = finish(
                    dot(&cols[p * K], &wt[j * K], K), grp * cout_g + j, (b * pixels + p) * win.oc + grp * cout_g + j);
          }
        }
        break;
      }
      case Op::kMaxPool:
      case Op::kAvgPool:
        for_each_pool_window(g, l, [&](int64_t o, const std::vector<int64_t>& taps) {
          int64_t best = -128, sum = 0;
          for (int64_t t : taps) {
            best = std::max<int64_t>(best, x[t]);
            sum += x[t];
          }
          if (l.op == Op::kMaxPool) {
            y[o] = int8_t(best);
          } else if (l.averages_valid_taps()) {  // zero point 0: the sum over the taps inside, divided by their count
            const Requant r = divide_by(static_cast<int64_t>(taps.size()));
            y[o] = arith::requant8(sum, r.mult, r.shift, 0, q.rounding);
          } else {
            // Padded taps hold the zero point (a real 0) and count in the divisor.
            const int64_t padded = l.kh * l.kw - int64_t(taps.size());
            y[o] = arith::average(sum + padded * q.layers[l.inputs[0]].zp, l.kh * l.kw, q.rounding);
          }
        });
        break;
      case Op::kGlobalAvgPool: {
        const auto& in = g.layers[l.inputs[0]].shape;
        std::vector<int64_t> sums(y.size());
        channel_sums(in, x, sums);
        for (size_t o = 0; o < y.size(); ++o) y[o] = arith::average(sums[o], in[1] * in[2], q.rounding);
        break;
      }
      case Op::kAdd: {
        const std::vector<int8_t>& x2 = out[l.inputs[1]];
        const QLayer& qa = q.layers[l.inputs[0]];
        const QLayer& qb = q.layers[l.inputs[1]];
        for (size_t o = 0; o < y.size(); ++o) {
          const int64_t t = arith::combine(isa::VecOp::add, x[o], x2[o], qa.zp, qb.zp, ql.ma, ql.mb);
          y[o] = arith::lookup(lut, arith::requant8(t, ql.add.mult, ql.add.shift, ql.act_zp, q.rounding));
        }
        break;
      }
      case Op::kFlatten: y = x; break;
      case Op::kToken: copy_token(g, l, x, y); break;
      case Op::kMul:
      case Op::kActivation: {
        const QLayer& qa = q.layers[l.inputs[0]];
        for (size_t o = 0; o < y.size(); ++o) {
          const int64_t t = l.op == Op::kMul ? arith::combine(isa::VecOp::mul, x[o], out[l.inputs[1]][o], qa.zp,
                                                              q.layers[l.inputs[1]].zp, 1, 1)
                                             : arith::combine(isa::VecOp::add, x[o], 0, qa.zp, 0, 1, 0);
          y[o] = arith::lookup(lut, arith::requant8(t, ql.add.mult, ql.add.shift, ql.act_zp, q.rounding));
        }
        break;
      }
      case Op::kMatMul: {
        std::vector<int64_t> sums(y.size());
        matmul_sums(g, l, x, out[l.inputs[1]], sums);
        const int64_t cols = l.shape.back();
        for (size_t o = 0; o < y.size(); ++o)  // wrapped to int32 as the accumulators are
          y[o] = finish(static_cast<int32_t>(static_cast<uint32_t>(sums[o])), static_cast<int64_t>(o) % cols,
                        static_cast<int64_t>(o));
        break;
      }
      case Op::kSoftmax:
      case Op::kLayerNorm: {
        const int64_t cols = l.shape.back();
        const auto fn = l.op == Op::kSoftmax ? isa::HostFn::softmax : isa::HostFn::layernorm;
        const std::vector<uint8_t> r = isa::host::compute(fn, reinterpret_cast<const uint8_t*>(x.data()),
                                                          static_cast<uint64_t>(elements(l.shape) / cols),
                                                          static_cast<uint64_t>(cols), ql.host_params.data());
        std::memcpy(y.data(), r.data(), r.size());
        break;
      }
      case Op::kZeros: break;
      case Op::kConstant: y = ql.weights; break;
      case Op::kConcat: {
        const int64_t rows = elements(l.shape) / l.shape.back(), width = l.shape.back();
        int64_t off = 0;
        for (size_t k = 0; k < l.inputs.size(); ++k) {
          const std::vector<int8_t>& xi = out[l.inputs[k]];
          const int64_t wi = g.layers[l.inputs[k]].shape.back();
          const int zi = q.layers[l.inputs[k]].zp;
          for (int64_t row = 0; row < rows; ++row)
            for (int64_t c = 0; c < wi; ++c) {
              const int64_t t = arith::combine(isa::VecOp::add, xi[row * wi + c], 0, zi, 0, 1, 0);
              y[row * width + off + c] =
                  arith::requant8(t, ql.requant[k].mult, ql.requant[k].shift, ql.act_zp, q.rounding);
            }
          off += wi;
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace tpu::compiler
