#pragma once

// A trainable network built from a model's graph (the same YAML the compiler
// reads): a chain of dense, conv2d, max and average pooling and flatten layers,
// each with its ReLU where the model says `activation: relu`. The last layer's
// outputs are the logits of the softmax cross-entropy loss.

#include <memory>
#include <string>
#include <vector>

#include "tools/compiler/graph.h"
#include "tools/train/layers.h"

namespace tpu::train {

class Network {
 public:
  // Throws compiler::ModelError naming the layer the trainer cannot train (a branch, an op or an
  // activation it has not, uneven padding). Weights are drawn from `seed`, or taken from the
  // graph's layers that have theirs (a model naming .npy files, loaded with its weights).
  static Network from_graph(const compiler::Graph& graph, uint64_t seed);

  // The logits of a batch [N, ...the model's input shape without its batch].
  Tensor forward(Tensor x);
  // From dL/dlogits of the last forward pass, the gradients of every parameter (added to theirs);
  // it stops at the first trained layer (nothing needs the gradient of what comes before).
  void backward(Tensor dlogits);

  struct Trained {
    std::string layer;   // the model's layer name
    Param* weights;      // as the compiler reads them ([K][N] or [kh][kw][Cin][Cout])
    Param* bias;
  };
  const std::vector<Trained>& trained() const { return trained_; }
  std::vector<Param*> params();
  const std::vector<int64_t>& input_shape() const { return input_shape_; }  // without the batch

  // The multiply-accumulates of the last forward pass and the backward pass after it (every trained
  // layer's product, its weights' gradient, and its input's but for the first trained layer's).
  uint64_t step_macs() const;
  // The class scores the network gives (its last layer's outputs).
  int64_t classes() const;
  // Gives `classes` scores: the last layer (a dense one) keeps its first outputs and draws those it
  // adds from `seed` (Dense::set_units). Throws compiler::ModelError when the last layer is not dense.
  void set_classes(int64_t classes, uint64_t seed);

 private:
  std::vector<std::unique_ptr<TrainLayer>> layers_;
  std::vector<Trained> trained_;
  std::vector<int64_t> input_shape_;
  size_t first_trained_ = 0;  // index in layers_
};

}  // namespace tpu::train
