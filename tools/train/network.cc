#include "tools/train/network.h"

#include <random>

#include "tools/train/fashion_mnist.h"

namespace tpu::train {

Network Network::from_graph(const compiler::Graph& g, uint64_t seed) {
  using compiler::Op;
  Network net;
  std::mt19937_64 rng(seed);
  const std::vector<int64_t>& in = g.layers[0].shape;
  net.input_shape_.assign(in.begin() + 1, in.end());
  for (size_t i = 1; i < g.layers.size(); ++i) {
    const compiler::Layer& l = g.layers[i];
    const std::string where = g.where(l);
    if (l.inputs.size() != 1 || l.inputs[0] != static_cast<int>(i) - 1)
      throw compiler::ModelError(where + "the trainer takes a chain of layers, each reading the one before");
    const std::vector<int64_t>& x = g.layers[i - 1].shape;
    switch (l.op) {
      case Op::kDense:
        if (x.size() != 2) throw compiler::ModelError(where + "the trainer's dense layers read vectors (flatten first)");
        net.layers_.push_back(std::make_unique<Dense>(x[1], l.units, rng));
        break;
      case Op::kConv2d:
        if (x.size() != 4) throw compiler::ModelError(where + "the trainer's conv2d reads images");
        if (l.kh != l.kw || l.sh != l.sw || l.groups != 1 || l.dh != 1 || l.dw != 1 || l.pad_top != l.pad_left ||
            l.pad_top != l.pad_bottom || l.pad_top != l.pad_right)
          throw compiler::ModelError(where + "the trainer's conv2d takes square kernels and strides, even padding, "
                                             "no groups or dilation");
        net.layers_.push_back(std::make_unique<Conv2d>(l.kh, x[3], l.units, l.sh, l.pad_top, rng));
        break;
      case Op::kMaxPool:
      case Op::kAvgPool:
        if (l.kh != l.kw || l.sh != l.sw || l.pad_top != 0 || l.pad_left != 0 || l.pad_bottom != 0 || l.pad_right != 0 ||
            l.ceil_mode)
          throw compiler::ModelError(where + "the trainer's pools take square windows and strides, no padding");
        net.layers_.push_back(std::make_unique<Pool>(l.op == Op::kMaxPool ? Pool::Kind::kMax : Pool::Kind::kAverage,
                                                     l.kh, l.sh));
        break;
      case Op::kFlatten: net.layers_.push_back(std::make_unique<Flatten>()); break;
      default:
        throw compiler::ModelError(where + "the trainer has no " + std::string(compiler::op_name(l.op)) +
                                   " (it trains dense, conv2d, maxpool, avgpool and flatten)");
    }
    if (l.op == Op::kDense || l.op == Op::kConv2d) {
      if (net.trained_.empty()) {
        net.first_trained_ = net.layers_.size() - 1;
        net.layers_.back()->input_grad = false;
      }
      const std::vector<Param*> p = net.layers_.back()->params();
      net.trained_.push_back({l.name, p[0], p[1]});
      if (!l.weights.empty() && !l.given) {  // the model's own weights (the loader checked their shapes)
        p[0]->value = l.weights;
        p[1]->value = l.bias;
      }
    }
    if (l.act == isa::ActFunc::relu)
      net.layers_.push_back(std::make_unique<Relu>());
    else if (l.act != isa::ActFunc::identity)
      throw compiler::ModelError(where + "the trainer's activations are relu and identity");
  }
  if (g.layers.back().shape.size() != 2 || g.layers.back().shape[1] < 2)
    throw compiler::ModelError(g.file + ": the last layer must give a vector of class scores (2 or more)");
  return net;
}

namespace {
Dense* last_dense(const std::vector<std::unique_ptr<TrainLayer>>& layers) {
  return layers.empty() ? nullptr : dynamic_cast<Dense*>(layers.back().get());
}
}  // namespace

int64_t Network::classes() const {
  const Trained& last = trained_.back();
  return last.bias->shape[0];
}

void Network::set_classes(int64_t classes, uint64_t seed) {
  Dense* d = last_dense(layers_);
  if (!d) throw compiler::ModelError("only a network whose last layer is dense can change its classes");
  std::mt19937_64 rng(seed);
  d->set_units(classes, rng);
}

Tensor Network::forward(Tensor x) {
  for (auto& l : layers_) x = l->forward(std::move(x));
  return x;
}

void Network::backward(Tensor d) {
  for (size_t i = layers_.size(); i-- > first_trained_;) d = layers_[i]->backward(std::move(d));
}

uint64_t Network::step_macs() const {
  uint64_t macs = 0;
  for (size_t i = first_trained_; i < layers_.size(); ++i)
    macs += layers_[i]->forward_macs() * (layers_[i]->input_grad ? 3 : 2);
  return macs;
}

std::vector<Param*> Network::params() {
  std::vector<Param*> all;
  for (auto& l : layers_)
    for (Param* p : l->params()) all.push_back(p);
  return all;
}

}  // namespace tpu::train
