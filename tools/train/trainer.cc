#include "tools/train/trainer.h"

#include <yaml-cpp/yaml.h>

#include "tools/train/yaml_values.h"

#include <chrono>
#include <cmath>
#include <numeric>

namespace tpu::train {

TrainConfig load_train_config(const std::string& path) {
  const YAML::Node root = yaml_load(path);
  return read_train_config(root, path, "");
}

namespace {
const std::vector<std::string> kTrainKeys = {"epochs",      "batch", "lr",   "momentum",     "weight_decay",
                                             "schedule",    "step_epochs", "gamma", "seed", "train_images",
                                             "test_images", "validation_images"};
}  // namespace

TrainConfig read_train_config(const YAML::Node& root, const std::string& path, const std::string& section) {
  TrainConfig c;
  if (!root || root.IsNull()) return c;
  if (!root.IsMap())
    throw compiler::ModelError(path + ": " + (section.empty() ? "a training file" : section) + " is a mapping of keys");
  yaml_check_keys(path, root, kTrainKeys, section.empty() ? "" : section + ".");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>(), name = section.empty() ? key : section + "." + key;
    const YAML::Node& v = kv.second;
    if (key == "epochs") c.epochs = yaml_whole(path, v, name, 1, 100000);
    else if (key == "batch") c.batch = yaml_whole(path, v, name, 1, 1 << 20);
    else if (key == "lr") c.lr = yaml_number(path, v, name, 0, 100);
    else if (key == "momentum") c.momentum = yaml_number(path, v, name, 0, 1);
    else if (key == "weight_decay") c.weight_decay = yaml_number(path, v, name, 0, 1);
    else if (key == "step_epochs") c.step_epochs = yaml_whole(path, v, name, 1, 100000);
    else if (key == "gamma") c.gamma = yaml_number(path, v, name, 0, 1);
    else if (key == "seed") c.seed = static_cast<uint64_t>(yaml_whole(path, v, name, 0, 9e15));
    else if (key == "train_images") c.train_images = yaml_whole(path, v, name, 0, 1e9);
    else if (key == "test_images") c.test_images = yaml_whole(path, v, name, 0, 1e9);
    else if (key == "validation_images") c.validation_images = yaml_whole(path, v, name, 0, 1e9);
    else if (key == "schedule") {
      c.schedule = yaml_string(path, v, name);
      if (c.schedule != "constant" && c.schedule != "step" && c.schedule != "cosine")
        throw compiler::ModelError(yaml_where(path, v) + name + " '" + c.schedule + "' is not constant, step or cosine");
    }
  }
  return c;
}

double learning_rate(const TrainConfig& c, int64_t epoch) {
  if (c.schedule == "step") return c.lr * std::pow(c.gamma, double(epoch / c.step_epochs));
  if (c.schedule == "cosine") return c.lr * 0.5 * (1 + std::cos(M_PI * double(epoch) / double(c.epochs)));
  return c.lr;
}

Tensor batch_of(const Network& net, const Dataset& data, const std::vector<int64_t>& order, int64_t from, int64_t n) {
  std::vector<int64_t> shape = {n};
  shape.insert(shape.end(), net.input_shape().begin(), net.input_shape().end());
  Tensor x = Tensor::zeros(shape);
  const int64_t pixels = data.rows * data.cols;
  if (static_cast<int64_t>(x.v.size()) != n * pixels)
    throw compiler::ModelError("the network's input holds " + std::to_string(x.v.size() / static_cast<size_t>(n)) +
                               " values; the data set's images have " + std::to_string(pixels) + " pixels");
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = &data.pixels[static_cast<size_t>(order[static_cast<size_t>(from + i)] * pixels)];
    for (int64_t j = 0; j < pixels; ++j) x.v[static_cast<size_t>(i * pixels + j)] = float(p[j]) / 255.0f;
  }
  return x;
}

Tensor first_images(const Network& net, const Dataset& data, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(std::min(n, data.count)));
  std::iota(order.begin(), order.end(), int64_t{0});
  return batch_of(net, data, order, 0, static_cast<int64_t>(order.size()));
}

int64_t training_images(const TrainConfig& c, const Dataset& train) {
  const int64_t n = train.count - c.validation_images;
  if (n <= 0)
    throw compiler::ModelError("validation_images " + std::to_string(c.validation_images) + " holds out every one of the " +
                               std::to_string(train.count) + " training images; hold out fewer");
  return c.train_images > 0 ? std::min(c.train_images, n) : n;
}

double accuracy(Network& net, const Dataset& data, int64_t limit, int64_t batch) {
  return accuracy(net, ImageRange{&data, 0, limit > 0 ? std::min(limit, data.count) : data.count, ""}, batch);
}

ImageRange validation_range(const TrainConfig& c, const Dataset& train) {
  training_images(c, train);  // throws when none are left to train on
  return {&train, train.count - c.validation_images, c.validation_images, "validation"};
}

double validation_accuracy(Network& net, const TrainConfig& c, const Dataset& train) {
  return accuracy(net, validation_range(c, train));
}

double accuracy(Network& net, const ImageRange& images, int64_t batch) {
  const Dataset& data = *images.data;
  const int64_t first = images.from, n = images.count;
  if (first < 0 || n < 0 || first + n > data.count)
    throw std::out_of_range("images " + std::to_string(first) + " to " + std::to_string(first + n) + " of a set of " +
                            std::to_string(data.count));
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), first);
  int64_t correct = 0;
  for (int64_t from = 0; from < n; from += batch) {
    const int64_t b = std::min(batch, n - from);
    const auto label = data.labels.begin() + first + from;
    correct += softmax_cross_entropy(net.forward(batch_of(net, data, order, from, b)), std::vector<uint8_t>(label, label + b)).correct;
  }
  return double(correct) / double(n);
}

Trainer::Trainer(Network& net, TrainConfig config) : net_(net), config_(std::move(config)), rng_(config_.seed ^ 0x5eed) {
  reset_momentum();
}

void Trainer::reset_momentum() {
  velocity_.clear();
  for (Param* p : net_.params()) velocity_.emplace_back(p->cluster.empty() ? p->value.size() : p->centroids.size(), 0.0f);
}

void sgd_step(Param& p, std::vector<float>& v, double rate, double momentum, double weight_decay) {
  const float m = float(momentum), decay = float(weight_decay), lr = float(rate);
  if (!p.cluster.empty()) {
    std::vector<float> g(p.centroids.size(), 0.0f);
    for (size_t i = 0; i < p.value.size(); ++i) g[p.cluster[i]] += p.grad[i];
    for (size_t c = 1; c < p.centroids.size(); ++c) {  // centroid 0 is the pruned weights' zero
      v[c] = m * v[c] + g[c];
      p.centroids[c] -= lr * v[c];
    }
    for (size_t i = 0; i < p.value.size(); ++i) p.value[i] = p.centroids[p.cluster[i]];
    return;
  }
  const bool masked = !p.mask.empty();
  for (size_t i = 0; i < p.value.size(); ++i) {
    if (masked && !p.mask[i]) {
      v[i] = 0;
      p.value[i] = 0;
      continue;
    }
    v[i] = m * v[i] + p.grad[i] + decay * p.value[i];
    p.value[i] -= lr * v[i];
  }
}

Loss Trainer::step(const Dataset& data, const std::vector<int64_t>& order, int64_t from, int64_t count, double lr) {
  std::vector<uint8_t> labels(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    labels[static_cast<size_t>(i)] = data.labels[static_cast<size_t>(order[static_cast<size_t>(from + i)])];
  const std::vector<Param*> params = net_.params();
  for (Param* p : params) std::fill(p->grad.begin(), p->grad.end(), 0.0f);
  Loss l = softmax_cross_entropy(net_.forward(batch_of(net_, data, order, from, count)), labels);
  net_.backward(std::move(l.grad));  // the step's caller needs the loss, not its gradient
  macs_ += net_.step_macs();
  for (size_t k = 0; k < params.size(); ++k) sgd_step(*params[k], velocity_[k], lr, config_.momentum, config_.weight_decay);
  return l;
}

EpochLog Trainer::epoch(const Dataset& train, const Dataset& test, const Progress& progress) {
  const auto start = std::chrono::steady_clock::now();
  EpochLog e = train_pass(train, progress);
  e.test_accuracy = accuracy(net_, test, config_.test_images);
  if (config_.validation_images > 0) e.validation_accuracy = validation_accuracy(net_, config_, train);
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log_.push_back(e);
  return e;
}

EpochLog Trainer::train_pass(const Dataset& train, const Progress& progress) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = training_images(config_, train);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_() % i]);  // Fisher-Yates
  EpochLog e;
  e.epoch = passes_ + 1;
  e.lr = learning_rate(config_, e.epoch - 1);
  double loss = 0;
  int64_t correct = 0;
  for (int64_t from = 0; from < n; from += config_.batch) {
    const int64_t b = std::min(config_.batch, n - from);
    const Loss l = step(train, order, from, b, e.lr);
    loss += l.loss * double(b);
    correct += l.correct;
    e.loss = loss / double(from + b);
    e.train_accuracy = double(correct) / double(from + b);
    if (progress) progress(e, from + b, n);
  }
  e.train_seconds = e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++passes_;
  return e;
}

}  // namespace tpu::train
