#include "tools/train/layers.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "tools/train/gemm.h"

namespace tpu::train {

namespace {

int64_t product(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Param make_param(const std::string& name, std::vector<int64_t> shape) {
  Param p;
  p.name = name;
  p.value.assign(static_cast<size_t>(product(shape)), 0.0f);
  p.grad = p.value;
  p.shape = std::move(shape);
  return p;
}

// Uniform within +-1/sqrt(fan_in), weights and bias alike: how PyTorch initializes its Linear and
// Conv2d layers, so the trainer's recipe is the anchors' (tools/train/trainer.h).
void init_uniform(Param& p, int64_t fan_in, std::mt19937_64& rng) {
  const float limit = 1.0f / std::sqrt(static_cast<float>(fan_in));
  std::uniform_real_distribution<float> u(-limit, limit);
  for (float& v : p.value) v = u(rng);
}

void expect_rank(const Tensor& x, size_t rank, const char* layer) {
  if (x.shape.size() != rank)
    throw std::invalid_argument(std::string(layer) + " takes a rank-" + std::to_string(rank) + " input, not rank " +
                                std::to_string(x.shape.size()));
}

// y[r][c] += bias[c] for each of `rows` rows.
void add_bias(std::vector<float>& y, const std::vector<float>& bias, int64_t rows) {
  const size_t c = bias.size();
  for (int64_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < c; ++j) y[static_cast<size_t>(r) * c + j] += bias[j];
}

// grad[c] += the sum over rows of dy[r][c].
void add_column_sums(std::vector<float>& grad, const std::vector<float>& dy, int64_t rows) {
  const size_t c = grad.size();
  for (int64_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < c; ++j) grad[j] += dy[static_cast<size_t>(r) * c + j];
}

}  // namespace

Tensor Tensor::zeros(std::vector<int64_t> shape) {
  Tensor t;
  t.v.assign(static_cast<size_t>(product(shape)), 0.0f);
  t.shape = std::move(shape);
  return t;
}

Dense::Dense(int64_t inputs, int64_t units, std::mt19937_64& rng)
    : k_(inputs), m_(units), w_(make_param("weights", {inputs, units})), b_(make_param("bias", {units})) {
  init_uniform(w_, inputs, rng);
  init_uniform(b_, inputs, rng);
}

void Dense::set_units(int64_t units, std::mt19937_64& rng) {
  if (units < 1) throw std::invalid_argument("a dense layer gives at least one output");
  if (!w_.cluster.empty()) throw std::invalid_argument("a shared dense layer cannot change its outputs");
  Param w = make_param("weights", {k_, units}), b = make_param("bias", {units});
  // A pruned layer keeps its zeros held; the outputs it adds train free.
  if (!w_.mask.empty()) w.mask.assign(w.value.size(), 1);
  for (int64_t k = 0; k < k_; ++k)
    for (int64_t n = 0; n < std::min(m_, units); ++n) {
      const auto to = static_cast<size_t>(k * units + n), from = static_cast<size_t>(k * m_ + n);
      w.value[to] = w_.value[from];
      if (!w.mask.empty()) w.mask[to] = w_.mask[from];
    }
  for (int64_t n = 0; n < std::min(m_, units); ++n) b.value[static_cast<size_t>(n)] = b_.value[static_cast<size_t>(n)];
  const float limit = 1.0f / std::sqrt(static_cast<float>(k_));
  std::uniform_real_distribution<float> u(-limit, limit);
  for (int64_t n = m_; n < units; ++n) {
    for (int64_t k = 0; k < k_; ++k) w.value[static_cast<size_t>(k * units + n)] = u(rng);
    b.value[static_cast<size_t>(n)] = u(rng);
  }
  w_ = std::move(w);
  b_ = std::move(b);
  m_ = units;
}

uint64_t Dense::forward_macs() const {
  return x_.shape.empty() ? 0 : static_cast<uint64_t>(x_.shape[0] * k_ * m_);
}

Tensor Dense::forward(Tensor x) {
  expect_rank(x, 2, "dense");
  x_ = std::move(x);
  const int64_t n = x_.shape[0];
  Tensor y = Tensor::zeros({n, m_});
  gemm(n, m_, k_, x_.v.data(), false, w_.value.data(), false, y.v.data(), false);
  add_bias(y.v, b_.value, n);
  return y;
}

Tensor Dense::backward(Tensor dy) {
  const int64_t n = dy.shape[0];
  gemm(k_, m_, n, x_.v.data(), true, dy.v.data(), false, w_.grad.data(), true);
  add_column_sums(b_.grad, dy.v, n);
  if (!input_grad) return {};
  Tensor dx = Tensor::zeros({n, k_});
  gemm(n, k_, m_, dy.v.data(), false, w_.value.data(), true, dx.v.data(), false);
  return dx;
}

Conv2d::Conv2d(int64_t kernel, int64_t in_channels, int64_t filters, int64_t stride, int64_t pad, std::mt19937_64& rng)
    : k_(kernel),
      cin_(in_channels),
      cout_(filters),
      stride_(stride),
      pad_(pad),
      tap_major_(in_channels == 1),
      w_(make_param("weights", {kernel, kernel, in_channels, filters})),
      b_(make_param("bias", {filters})) {
  init_uniform(w_, kernel * kernel * in_channels, rng);
  init_uniform(b_, kernel * kernel * in_channels, rng);
}

template <class F>
void Conv2d::for_each_run(int64_t n, int64_t h, int64_t w, int64_t oh, int64_t ow, F&& f) const {
  const int64_t rows = n * oh * ow, patch = k_ * k_ * cin_;
  if (!tap_major_) {
    // Each output pixel's kernel rows: the taps inside the image, consecutive in both.
    for (int64_t b = 0; b < n; ++b)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          const int64_t x0 = ox * stride_ - pad_;
          const int64_t first = std::max<int64_t>(0, -x0), last = std::min<int64_t>(k_, w - x0);
          if (first >= last) continue;
          for (int64_t ky = 0; ky < k_; ++ky) {
            const int64_t iy = oy * stride_ + ky - pad_;
            if (iy < 0 || iy >= h) continue;
            f(static_cast<size_t>(((b * oh + oy) * ow + ox) * patch + (ky * k_ + first) * cin_),
              static_cast<size_t>(((b * h + iy) * w + x0 + first) * cin_), static_cast<size_t>((last - first) * cin_),
              size_t{1});
          }
        }
    return;
  }
  // Each tap's output rows: the output pixels whose tap lies inside the image, ox * stride + kx - pad in [0, w).
  for (int64_t ky = 0; ky < k_; ++ky)
    for (int64_t kx = 0; kx < k_; ++kx) {
      if (w - 1 + pad_ - kx < 0) continue;  // the tap lies right of the image for every pixel (and / truncates)
      const int64_t lo = std::max<int64_t>(0, (pad_ - kx + stride_ - 1) / stride_);
      const int64_t hi = std::min<int64_t>(ow, (w - 1 + pad_ - kx) / stride_ + 1);
      if (lo >= hi) continue;
      for (int64_t c = 0; c < cin_; ++c) {
        const int64_t p = (ky * k_ + kx) * cin_ + c;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t oy = 0; oy < oh; ++oy) {
            const int64_t iy = oy * stride_ + ky - pad_;
            if (iy < 0 || iy >= h) continue;
            f(static_cast<size_t>(p * rows + (b * oh + oy) * ow + lo),
              static_cast<size_t>(((b * h + iy) * w + lo * stride_ + kx - pad_) * cin_ + c), static_cast<size_t>(hi - lo),
              static_cast<size_t>(stride_ * cin_));
          }
      }
    }
}

uint64_t Conv2d::forward_macs() const {
  if (in_shape_.empty()) return 0;
  const int64_t oh = (in_shape_[1] + 2 * pad_ - k_) / stride_ + 1, ow = (in_shape_[2] + 2 * pad_ - k_) / stride_ + 1;
  return static_cast<uint64_t>(in_shape_[0] * oh * ow * k_ * k_ * cin_ * cout_);
}

Tensor Conv2d::forward(Tensor x) {
  expect_rank(x, 4, "conv2d");
  in_shape_ = x.shape;
  const int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2];
  const int64_t oh = (h + 2 * pad_ - k_) / stride_ + 1, ow = (w + 2 * pad_ - k_) / stride_ + 1;
  const int64_t rows = n * oh * ow, patch = k_ * k_ * cin_;
  // The input as one patch per output pixel (im2col), the convolution then one matrix product.
  cols_.assign(static_cast<size_t>(rows * patch), 0.0f);
  float* __restrict cols = cols_.data();
  const float* __restrict in = x.v.data();
  for_each_run(n, h, w, oh, ow, [&](size_t col, size_t pixel, size_t count, size_t step) {
    if (step == 1)  // a plain copy the compiler vectorizes
      for (size_t i = 0; i < count; ++i) cols[col + i] = in[pixel + i];
    else
      for (size_t i = 0; i < count; ++i) cols[col + i] = in[pixel + i * step];
  });
  Tensor y = Tensor::zeros({n, oh, ow, cout_});
  gemm(rows, cout_, patch, cols_.data(), tap_major_, w_.value.data(), false, y.v.data(), false);
  add_bias(y.v, b_.value, rows);
  return y;
}

Tensor Conv2d::backward(Tensor dy) {
  const int64_t n = in_shape_[0], h = in_shape_[1], w = in_shape_[2];
  const int64_t oh = dy.shape[1], ow = dy.shape[2], rows = n * oh * ow, patch = k_ * k_ * cin_;
  gemm(patch, cout_, rows, cols_.data(), !tap_major_, dy.v.data(), false, w_.grad.data(), true);
  add_column_sums(b_.grad, dy.v, rows);
  if (!input_grad) return {};
  std::vector<float> dcols(static_cast<size_t>(patch * rows));  // laid out as cols_
  if (tap_major_)
    gemm(patch, rows, cout_, w_.value.data(), false, dy.v.data(), true, dcols.data(), false);
  else
    gemm(rows, patch, cout_, dy.v.data(), false, w_.value.data(), true, dcols.data(), false);
  // Each patch's gradient back onto the pixels it was copied from (col2im).
  Tensor dx = Tensor::zeros(in_shape_);
  float* __restrict out = dx.v.data();
  const float* __restrict from = dcols.data();
  for_each_run(n, h, w, oh, ow, [&](size_t col, size_t pixel, size_t count, size_t step) {
    if (step == 1)
      for (size_t i = 0; i < count; ++i) out[pixel + i] += from[col + i];
    else
      for (size_t i = 0; i < count; ++i) out[pixel + i * step] += from[col + i];
  });
  return dx;
}

// Pooling windows channel by channel in the inner loop (NHWC keeps a pixel's channels together).
Tensor Pool::forward(Tensor x) {
  expect_rank(x, 4, "pool");
  in_shape_ = x.shape;
  const int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
  const int64_t oh = (h - k_) / stride_ + 1, ow = (w - k_) / stride_ + 1;
  Tensor y = Tensor::zeros({n, oh, ow, c});
  argmax_.assign(kind_ == Kind::kMax ? y.v.size() : 0, 0);
  const float scale = 1.0f / static_cast<float>(k_ * k_);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const size_t out = static_cast<size_t>(((b * oh + oy) * ow + ox) * c);
        float* __restrict yo = &y.v[out];
        for (int64_t ky = 0; ky < k_; ++ky)
          for (int64_t kx = 0; kx < k_; ++kx) {
            const int64_t in = ((b * h + oy * stride_ + ky) * w + ox * stride_ + kx) * c;
            const float* __restrict xi = &x.v[static_cast<size_t>(in)];
            if (kind_ == Kind::kAverage) {
              for (int64_t ch = 0; ch < c; ++ch) yo[ch] += xi[ch];
              continue;
            }
            int64_t* __restrict am = &argmax_[out];
            const bool first = ky == 0 && kx == 0;
            for (int64_t ch = 0; ch < c; ++ch) {
              // Arithmetic selects, not branches: which element wins is data, and mispredicts.
              const int64_t take = first | (xi[ch] > yo[ch]);
              yo[ch] = first ? xi[ch] : std::max(yo[ch], xi[ch]);
              am[ch] += take * (in + ch - am[ch]);
            }
          }
        if (kind_ == Kind::kAverage)
          for (int64_t ch = 0; ch < c; ++ch) yo[ch] *= scale;
      }
  return y;
}

Tensor Pool::backward(Tensor dy) {
  Tensor dx = Tensor::zeros(in_shape_);
  if (kind_ == Kind::kMax) {
    for (size_t o = 0; o < dy.v.size(); ++o) dx.v[static_cast<size_t>(argmax_[o])] += dy.v[o];
    return dx;
  }
  const int64_t n = in_shape_[0], h = in_shape_[1], w = in_shape_[2], c = in_shape_[3];
  const int64_t oh = dy.shape[1], ow = dy.shape[2];
  const float scale = 1.0f / static_cast<float>(k_ * k_);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const float* g = &dy.v[static_cast<size_t>(((b * oh + oy) * ow + ox) * c)];
        for (int64_t ky = 0; ky < k_; ++ky)
          for (int64_t kx = 0; kx < k_; ++kx) {
            float* d = &dx.v[static_cast<size_t>(((b * h + oy * stride_ + ky) * w + ox * stride_ + kx) * c)];
            for (int64_t ch = 0; ch < c; ++ch) d[ch] += g[ch] * scale;
          }
      }
  return dx;
}

Tensor Relu::forward(Tensor x) {
  const size_t n = x.v.size();
  positive_.resize(n);
  float* __restrict v = x.v.data();
  uint8_t* __restrict positive = positive_.data();
  for (size_t i = 0; i < n; ++i) {
    positive[i] = v[i] > 0;
    v[i] = v[i] > 0 ? v[i] : 0.0f;
  }
  return x;
}

Tensor Relu::backward(Tensor dy) {
  const size_t n = dy.v.size();
  float* __restrict d = dy.v.data();
  const uint8_t* __restrict positive = positive_.data();
  for (size_t i = 0; i < n; ++i) d[i] = positive[i] ? d[i] : 0.0f;
  return dy;
}

Tensor Flatten::forward(Tensor x) {
  in_shape_ = x.shape;
  x.shape = {in_shape_[0], product(in_shape_) / in_shape_[0]};
  return x;
}

Tensor Flatten::backward(Tensor dy) {
  dy.shape = in_shape_;
  return dy;
}

Loss softmax_cross_entropy(const Tensor& logits, const std::vector<uint8_t>& labels) {
  expect_rank(logits, 2, "softmax cross-entropy");
  const int64_t n = logits.shape[0], classes = logits.shape[1];
  if (static_cast<int64_t>(labels.size()) != n)
    throw std::invalid_argument("softmax cross-entropy: " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(n) + " samples");
  for (uint8_t label : labels)
    if (label >= classes)
      throw std::invalid_argument("softmax cross-entropy: label " + std::to_string(label) + " of " +
                                  std::to_string(classes) + " classes");
  Loss l;
  l.grad = Tensor::zeros(logits.shape);
  for (int64_t i = 0; i < n; ++i) {
    const float* z = &logits.v[static_cast<size_t>(i * classes)];
    float* g = &l.grad.v[static_cast<size_t>(i * classes)];
    const int64_t top = std::max_element(z, z + classes) - z;
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(double(z[c]) - double(z[top]));
    for (int64_t c = 0; c < classes; ++c)
      g[c] = static_cast<float>((std::exp(double(z[c]) - double(z[top])) / sum - (c == labels[i] ? 1 : 0)) / double(n));
    l.loss += (std::log(sum) - (double(z[labels[i]]) - double(z[top]))) / double(n);
    l.correct += top == labels[i];
  }
  return l;
}

}  // namespace tpu::train
