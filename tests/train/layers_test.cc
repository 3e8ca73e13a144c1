// Every layer's backward pass against finite differences of its forward pass:
// for L = sum(g * f(x)) with a random g, dL/dx and dL/dparam from backward()
// equal (L(x + e) - L(x - e)) / 2e element by element, within float32's reach.

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <functional>
#include <random>

#include "tools/train/layers.h"

namespace tpu::train {
namespace {

Tensor random_tensor(std::vector<int64_t> shape, std::mt19937_64& rng, float away_from_zero = 0) {
  Tensor t = Tensor::zeros(std::move(shape));
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : t.v) {
    do v = u(rng);
    while (std::fabs(v) < away_from_zero);
  }
  return t;
}

double weighted_sum(const Tensor& y, const Tensor& g) {
  double s = 0;
  for (size_t i = 0; i < y.v.size(); ++i) s += double(y.v[i]) * double(g.v[i]);
  return s;
}

// Checks d/dv of L at every element of `values` (which the forward pass reads).
void expect_gradient(const std::string& what, std::vector<float>& values, const std::vector<float>& analytic,
                     const std::function<double()>& loss) {
  const float eps = 5e-3f;
  ASSERT_EQ(values.size(), analytic.size()) << what;
  for (size_t i = 0; i < values.size(); ++i) {
    const float keep = values[i];
    values[i] = keep + eps;
    const double up = loss();
    values[i] = keep - eps;
    const double down = loss();
    values[i] = keep;
    const double numeric = (up - down) / (2 * double(eps));
    ASSERT_NEAR(analytic[i], numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << what << " element " << i;
  }
}

void check_layer(const std::string& what, TrainLayer& layer, Tensor x, std::mt19937_64& rng) {
  const Tensor y = layer.forward(x);
  const Tensor g = random_tensor(y.shape, rng);
  for (Param* p : layer.params()) std::fill(p->grad.begin(), p->grad.end(), 0.0f);
  const Tensor dx = layer.backward(g);
  ASSERT_EQ(dx.shape, x.shape) << what;
  std::vector<std::vector<float>> grads;
  for (Param* p : layer.params()) grads.push_back(p->grad);
  auto loss = [&] { return weighted_sum(layer.forward(x), g); };
  expect_gradient(what + " input", x.v, dx.v, loss);
  const std::vector<Param*> params = layer.params();
  for (size_t i = 0; i < params.size(); ++i) expect_gradient(what + " " + params[i]->name, params[i]->value, grads[i], loss);
}

TEST(Backward, DenseMatchesFiniteDifferences) {
  std::mt19937_64 rng(1);
  Dense d(7, 5, rng);
  check_layer("dense", d, random_tensor({3, 7}, rng), rng);
}

TEST(Backward, Conv2dMatchesFiniteDifferencesWithStrideAndPadding) {
  std::mt19937_64 rng(2);
  // Two input channels lay the patches out pixel by pixel, one tap by tap (layers.h): both checked.
  for (const int channels : {2, 1})
    for (const auto& [stride, pad] : {std::pair{1, 0}, std::pair{1, 2}, std::pair{2, 1}}) {
      Conv2d c(3, channels, 4, stride, pad, rng);
      check_layer("conv2d " + std::to_string(channels) + " channels stride " + std::to_string(stride) + " pad " +
                      std::to_string(pad),
                  c, random_tensor({2, 6, 5, channels}, rng), rng);
    }
  // Kernels wider than the padded image, where taps fall outside on every pixel.
  for (const int channels : {1, 2}) {
    Conv2d c(3, channels, 2, 2, 1, rng);
    check_layer("conv2d on a narrow image, " + std::to_string(channels) + " channels", c,
                random_tensor({2, 3, 1, channels}, rng), rng);
  }
}

// The forward pass against the convolution's definition (finite differences alone would accept a
// forward pass that reads the wrong pixel, if its backward pass wrote there too).
TEST(Forward, Conv2dIsTheConvolutionOnEveryShape) {
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t k = 1 + static_cast<int64_t>(rng() % 4), cin = 1 + static_cast<int64_t>(rng() % 3);
    const int64_t cout = 1 + static_cast<int64_t>(rng() % 3), stride = 1 + static_cast<int64_t>(rng() % 3);
    const int64_t pad = static_cast<int64_t>(rng() % 3);
    const int64_t h = std::max<int64_t>(1, k - 2 * pad) + static_cast<int64_t>(rng() % 4);
    const int64_t w = std::max<int64_t>(1, k - 2 * pad) + static_cast<int64_t>(rng() % 4);
    Conv2d c(k, cin, cout, stride, pad, rng);
    const Tensor x = random_tensor({2, h, w, cin}, rng);
    const Tensor y = c.forward(x);
    const std::vector<float>& wt = c.params()[0]->value;
    const std::vector<float>& b = c.params()[1]->value;
    const int64_t oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
    ASSERT_EQ(y.shape, (std::vector<int64_t>{2, oh, ow, cout}));
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox)
          for (int64_t o = 0; o < cout; ++o) {
            double s = b[static_cast<size_t>(o)];
            for (int64_t ky = 0; ky < k; ++ky)
              for (int64_t kx = 0; kx < k; ++kx)
                for (int64_t ci = 0; ci < cin; ++ci) {
                  const int64_t iy = oy * stride + ky - pad, ix = ox * stride + kx - pad;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  s += double(x.v[static_cast<size_t>(((n * h + iy) * w + ix) * cin + ci)]) *
                       wt[static_cast<size_t>(((ky * k + kx) * cin + ci) * cout + o)];
                }
            ASSERT_NEAR(y.v[static_cast<size_t>(((n * oh + oy) * ow + ox) * cout + o)], s, 1e-5)
                << "trial " << trial << " k " << k << " stride " << stride << " pad " << pad << " w " << w;
          }
  }
}

TEST(Backward, PoolsMatchFiniteDifferences) {
  std::mt19937_64 rng(3);
  Pool max(Pool::Kind::kMax, 2, 2), avg(Pool::Kind::kAverage, 3, 2);
  check_layer("max pool", max, random_tensor({2, 6, 6, 3}, rng), rng);
  check_layer("average pool", avg, random_tensor({2, 7, 5, 3}, rng), rng);
}

TEST(Backward, ReluAndFlattenMatchFiniteDifferences) {
  std::mt19937_64 rng(4);
  Relu r;
  Flatten f;
  check_layer("relu", r, random_tensor({4, 9}, rng, 0.05f), rng);  // away from the kink
  check_layer("flatten", f, random_tensor({2, 3, 2, 4}, rng), rng);
  EXPECT_EQ(f.forward(random_tensor({2, 3, 2, 4}, rng)).shape, (std::vector<int64_t>{2, 24}));
}

TEST(Backward, SoftmaxCrossEntropyMatchesFiniteDifferences) {
  std::mt19937_64 rng(5);
  Tensor logits = random_tensor({4, 10}, rng);
  for (float& v : logits.v) v *= 3;
  const std::vector<uint8_t> labels = {3, 0, 9, 3};
  const Loss l = softmax_cross_entropy(logits, labels);
  expect_gradient("logits", logits.v, l.grad.v, [&] { return softmax_cross_entropy(logits, labels).loss; });
  // The loss itself: -log softmax at the label, averaged, from its definition.
  double want = 0;
  int64_t correct = 0;
  for (int i = 0; i < 4; ++i) {
    double sum = 0;
    int top = 0;
    for (int c = 0; c < 10; ++c) {
      sum += std::exp(double(logits.v[i * 10 + c]));
      if (logits.v[i * 10 + c] > logits.v[i * 10 + top]) top = c;
    }
    want += -std::log(std::exp(double(logits.v[i * 10 + labels[i]])) / sum) / 4;
    correct += top == labels[i];
  }
  EXPECT_NEAR(l.loss, want, 1e-6);
  EXPECT_EQ(l.correct, correct);
}

}  // namespace
}  // namespace tpu::train
