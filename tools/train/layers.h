#pragma once

// The trainer's layers: float32 forward and backward passes over a minibatch,
// in the compiler's layout (batch first, images N x H x W x C; dense weights
// [K][N], conv2d weights [kh][kw][Cin][Cout], as models/README.md has them),
// so trained weights deploy as they are. Matrix products go through
// tools/train/gemm.h (the same bits on every machine).
// Each layer keeps what its backward pass needs from its last forward pass.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace tpu::train {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> v;  // row-major
  static Tensor zeros(std::vector<int64_t> shape);
};

// A trained parameter and the gradient of the loss with respect to it, summed over a minibatch.
// Deep Compression constrains weights two ways (Han, Mao and Dally, ICLR 2016): pruned ones
// (mask 0) stay zero; shared ones are centroids[cluster[i]] and train through their centroid,
// whose gradient is the sum of its weights' (cluster 0 is the zero of a pruned weight, fixed).
struct Param {
  std::string name;  // "weights" or "bias"
  std::vector<int64_t> shape;
  std::vector<float> value, grad;
  std::vector<uint8_t> mask;     // empty: every weight trains
  std::vector<uint8_t> cluster;  // empty: not shared
  std::vector<float> centroids;  // centroids[0] = 0
};

class TrainLayer {
 public:
  virtual ~TrainLayer() = default;
  virtual Tensor forward(Tensor x) = 0;
  // dL/dx from dL/dy of the last forward pass; adds dL/dparam into each param's grad.
  virtual Tensor backward(Tensor dy) = 0;
  virtual std::vector<Param*> params() { return {}; }
  // The multiply-accumulates of its last forward pass's matrix product (0: it has none); its
  // backward pass does as many for the weights' gradient and again for the input's.
  virtual uint64_t forward_macs() const { return 0; }
  // False for a network's first trained layer: backward() then returns an empty tensor (nothing
  // reads the input's gradient) and saves its matrix product.
  bool input_grad = true;
};

// y = x W + b over the last axis of a [N, K] input.
class Dense : public TrainLayer {
 public:
  // Weights and bias drawn uniformly within +-1/sqrt(K), as PyTorch's Linear.
  Dense(int64_t inputs, int64_t units, std::mt19937_64& rng);
  Tensor forward(Tensor x) override;
  Tensor backward(Tensor dy) override;
  std::vector<Param*> params() override { return {&w_, &b_}; }
  uint64_t forward_macs() const override;
  int64_t units() const { return m_; }
  // Keeps the first `units` outputs' weights and biases; each output added draws its K incoming
  // weights, then its bias, as a new layer's (uniform within +-1/sqrt(K)). A pruned layer keeps the
  // mask of the outputs it keeps (an added output trains free). Throws std::invalid_argument for a
  // shared layer (its clusters fit its old shape).
  void set_units(int64_t units, std::mt19937_64& rng);

 private:
  int64_t k_, m_;
  Param w_, b_;
  Tensor x_;
};

// A convolution of an N x H x W x C image with zero padding `pad` on every side and `stride`;
// weights and bias drawn uniformly within +-1/sqrt(k k Cin), as PyTorch's Conv2d.
class Conv2d : public TrainLayer {
 public:
  Conv2d(int64_t kernel, int64_t in_channels, int64_t filters, int64_t stride, int64_t pad, std::mt19937_64& rng);
  Tensor forward(Tensor x) override;
  Tensor backward(Tensor dy) override;
  std::vector<Param*> params() override { return {&w_, &b_}; }
  uint64_t forward_macs() const override;

 private:
  // f(offset in the patches, offset in the image, count, image step) for each run of values the
  // patches copy from the image: consecutive in the patches, `step` apart in the image.
  template <class F>
  void for_each_run(int64_t n, int64_t h, int64_t w, int64_t oh, int64_t ow, F&& f) const;
  int64_t k_, cin_, cout_, stride_, pad_;
  // The patches' layout, whichever copies in longer runs: pixel-major [N * OH * OW][k * k * Cin]
  // (a kernel row of Cin-channel pixels at a time), or tap-major, transposed, for one input channel
  // (a row of output pixels at a time).
  bool tap_major_;
  Param w_, b_;
  std::vector<int64_t> in_shape_;
  std::vector<float> cols_;  // the last input as patches
};

// Max or average over k x k windows at `stride`, windows inside the image (no padding).
class Pool : public TrainLayer {
 public:
  enum class Kind { kMax, kAverage };
  Pool(Kind kind, int64_t kernel, int64_t stride) : kind_(kind), k_(kernel), stride_(stride) {}
  Tensor forward(Tensor x) override;
  Tensor backward(Tensor dy) override;

 private:
  Kind kind_;
  int64_t k_, stride_;
  std::vector<int64_t> in_shape_;
  std::vector<int64_t> argmax_;  // per output: the input element a max pool took
};

class Relu : public TrainLayer {
 public:
  Tensor forward(Tensor x) override;
  Tensor backward(Tensor dy) override;

 private:
  std::vector<uint8_t> positive_;
};

// [N, ...] to [N, rest].
class Flatten : public TrainLayer {
 public:
  Tensor forward(Tensor x) override;
  Tensor backward(Tensor dy) override;

 private:
  std::vector<int64_t> in_shape_;
};

// Softmax over the last axis of [N, classes] logits and the cross-entropy against the labels:
// the mean loss, its gradient with respect to the logits, and how many argmaxes were right.
struct Loss {
  double loss = 0;
  Tensor grad;
  int64_t correct = 0;
};
Loss softmax_cross_entropy(const Tensor& logits, const std::vector<uint8_t>& labels);

}  // namespace tpu::train
