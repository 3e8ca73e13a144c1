#include "tools/train/layers.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tpu::train {

namespace {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<Matrix>;
using ConstMap = Eigen::Map<const Matrix>;

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

Tensor Dense::forward(const Tensor& x) {
  expect_rank(x, 2, "dense");
  x_ = x;
  const int64_t n = x.shape[0];
  Tensor y = Tensor::zeros({n, m_});
  Map Y(y.v.data(), n, m_);
  Y.noalias() = ConstMap(x.v.data(), n, k_) * ConstMap(w_.value.data(), k_, m_);
  Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(b_.value.data(), m_);
  return y;
}

Tensor Dense::backward(const Tensor& dy) {
  const int64_t n = dy.shape[0];
  const ConstMap dY(dy.v.data(), n, m_);
  Map(w_.grad.data(), k_, m_).noalias() += ConstMap(x_.v.data(), n, k_).transpose() * dY;
  Eigen::Map<Eigen::RowVectorXf>(b_.grad.data(), m_) += dY.colwise().sum();
  Tensor dx = Tensor::zeros({n, k_});
  Map(dx.v.data(), n, k_).noalias() = dY * ConstMap(w_.value.data(), k_, m_).transpose();
  return dx;
}

Conv2d::Conv2d(int64_t kernel, int64_t in_channels, int64_t filters, int64_t stride, int64_t pad, std::mt19937_64& rng)
    : k_(kernel),
      cin_(in_channels),
      cout_(filters),
      stride_(stride),
      pad_(pad),
      w_(make_param("weights", {kernel, kernel, in_channels, filters})),
      b_(make_param("bias", {filters})) {
  init_uniform(w_, kernel * kernel * in_channels, rng);
  init_uniform(b_, kernel * kernel * in_channels, rng);
}

template <class F>
void Conv2d::for_each_tap(int64_t n, int64_t h, int64_t w, int64_t oh, int64_t ow, F&& f) const {
  const int64_t patch = k_ * k_ * cin_;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ky = 0; ky < k_; ++ky) {
          const int64_t iy = oy * stride_ + ky - pad_;
          if (iy < 0 || iy >= h) continue;
          for (int64_t kx = 0; kx < k_; ++kx) {
            const int64_t ix = ox * stride_ + kx - pad_;
            if (ix < 0 || ix >= w) continue;
            f(static_cast<size_t>(((b * oh + oy) * ow + ox) * patch + (ky * k_ + kx) * cin_),
              static_cast<size_t>(((b * h + iy) * w + ix) * cin_));
          }
        }
}

Tensor Conv2d::forward(const Tensor& x) {
  expect_rank(x, 4, "conv2d");
  in_shape_ = x.shape;
  const int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2];
  const int64_t oh = (h + 2 * pad_ - k_) / stride_ + 1, ow = (w + 2 * pad_ - k_) / stride_ + 1;
  const int64_t rows = n * oh * ow, patch = k_ * k_ * cin_;
  // The input as one patch per output pixel (im2col), the convolution then one matrix product.
  cols_.assign(static_cast<size_t>(rows * patch), 0.0f);
  for_each_tap(n, h, w, oh, ow, [&](size_t col, size_t pixel) { std::copy_n(&x.v[pixel], cin_, &cols_[col]); });
  Tensor y = Tensor::zeros({n, oh, ow, cout_});
  Map Y(y.v.data(), rows, cout_);
  Y.noalias() = ConstMap(cols_.data(), rows, patch) * ConstMap(w_.value.data(), patch, cout_);
  Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(b_.value.data(), cout_);
  return y;
}

Tensor Conv2d::backward(const Tensor& dy) {
  const int64_t n = in_shape_[0], h = in_shape_[1], w = in_shape_[2];
  const int64_t oh = dy.shape[1], ow = dy.shape[2], rows = n * oh * ow, patch = k_ * k_ * cin_;
  const ConstMap dY(dy.v.data(), rows, cout_);
  Map(w_.grad.data(), patch, cout_).noalias() += ConstMap(cols_.data(), rows, patch).transpose() * dY;
  Eigen::Map<Eigen::RowVectorXf>(b_.grad.data(), cout_) += dY.colwise().sum();
  Matrix dcols = dY * ConstMap(w_.value.data(), patch, cout_).transpose();
  // Each patch's gradient back onto the pixels it was copied from (col2im).
  Tensor dx = Tensor::zeros(in_shape_);
  for_each_tap(n, h, w, oh, ow, [&](size_t col, size_t pixel) {
    for (int64_t c = 0; c < cin_; ++c) dx.v[pixel + static_cast<size_t>(c)] += dcols.data()[col + static_cast<size_t>(c)];
  });
  return dx;
}

Tensor Pool::forward(const Tensor& x) {
  expect_rank(x, 4, "pool");
  in_shape_ = x.shape;
  const int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
  const int64_t oh = (h - k_) / stride_ + 1, ow = (w - k_) / stride_ + 1;
  Tensor y = Tensor::zeros({n, oh, ow, c});
  argmax_.assign(kind_ == Kind::kMax ? y.v.size() : 0, 0);
  const float scale = 1.0f / static_cast<float>(k_ * k_);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ch = 0; ch < c; ++ch) {
          const size_t out = static_cast<size_t>(((b * oh + oy) * ow + ox) * c + ch);
          float best = -INFINITY, sum = 0;
          for (int64_t ky = 0; ky < k_; ++ky)
            for (int64_t kx = 0; kx < k_; ++kx) {
              const int64_t in = ((b * h + oy * stride_ + ky) * w + ox * stride_ + kx) * c + ch;
              const float v = x.v[static_cast<size_t>(in)];
              sum += v;
              if (kind_ == Kind::kMax && v > best) best = v, argmax_[out] = in;
            }
          y.v[out] = kind_ == Kind::kMax ? best : sum * scale;
        }
  return y;
}

Tensor Pool::backward(const Tensor& dy) {
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
      for (int64_t ox = 0; ox < ow; ++ox)
        for (int64_t ch = 0; ch < c; ++ch) {
          const float g = dy.v[static_cast<size_t>(((b * oh + oy) * ow + ox) * c + ch)] * scale;
          for (int64_t ky = 0; ky < k_; ++ky)
            for (int64_t kx = 0; kx < k_; ++kx)
              dx.v[static_cast<size_t>(((b * h + oy * stride_ + ky) * w + ox * stride_ + kx) * c + ch)] += g;
        }
  return dx;
}

Tensor Relu::forward(const Tensor& x) {
  Tensor y = x;
  positive_.assign(x.v.size(), false);
  for (size_t i = 0; i < y.v.size(); ++i) {
    positive_[i] = y.v[i] > 0;
    if (!positive_[i]) y.v[i] = 0;
  }
  return y;
}

Tensor Relu::backward(const Tensor& dy) {
  Tensor dx = dy;
  for (size_t i = 0; i < dx.v.size(); ++i)
    if (!positive_[i]) dx.v[i] = 0;
  return dx;
}

Tensor Flatten::forward(const Tensor& x) {
  in_shape_ = x.shape;
  Tensor y = x;
  y.shape = {x.shape[0], product(x.shape) / x.shape[0]};
  return y;
}

Tensor Flatten::backward(const Tensor& dy) {
  Tensor dx = dy;
  dx.shape = in_shape_;
  return dx;
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
