#pragma once

// Training a Network on a data set: minibatch SGD with momentum and L2 weight
// decay (PyTorch's formulation: v = momentum v + g + decay w, w -= lr v), a
// learning-rate schedule, pixels scaled to [0, 1], the training set shuffled
// each epoch from the seed. The same seed gives the same weights, byte for byte.
// A pruned parameter (Param::mask) keeps its pruned weights at zero; a shared
// one (Param::cluster) moves its centroids by the same rule, each by the sum
// of its weights' gradients, without weight decay (the centroids are the
// values the layer keeps, not a penalty's target).
//
// The training file (`tpusim train --config TRAIN.yaml`), every key optional:
//   epochs: 20            batch: 64          lr: 0.01
//   momentum: 0.9         weight_decay: 5e-4
//   schedule: constant    # constant, step (lr x gamma every step_epochs) or cosine (to 0 at the end)
//   step_epochs: 10       gamma: 0.1
//   seed: 1               # weights and shuffling
//   train_images: 0       test_images: 0     # 0: all of them; fewer for a short run
//   validation_images: 0  # the training file's last N images, held out: never trained on, their
//                         # accuracy logged each epoch; a plan's sensitivity and choices use them

#include <cstdint>
#include <functional>
#include <yaml-cpp/yaml.h>
#include <string>
#include <vector>

#include "tools/train/fashion_mnist.h"
#include "tools/train/network.h"

namespace tpu::train {

struct TrainConfig {
  int64_t epochs = 20, batch = 64;
  double lr = 0.01, momentum = 0.9, weight_decay = 5e-4;
  std::string schedule = "constant";
  int64_t step_epochs = 10;
  double gamma = 0.1;
  uint64_t seed = 1;
  int64_t train_images = 0, test_images = 0, validation_images = 0;
};

// Throws compiler::ModelError naming the file, line and key.
TrainConfig load_train_config(const std::string& path);
// The same keys from a node of a file (a plan's `train` section, named `section` in messages).
TrainConfig read_train_config(const YAML::Node& node, const std::string& path, const std::string& section);

// The learning rate of an epoch (from 0) under the config's schedule.
double learning_rate(const TrainConfig& c, int64_t epoch);

// The images a config trains on: the training file's first, less the validation images held out
// at its end, at most train_images. Throws compiler::ModelError when none are left.
int64_t training_images(const TrainConfig& c, const Dataset& train);

struct EpochLog {
  int64_t epoch = 0;  // from 1
  double lr = 0, loss = 0, train_accuracy = 0, test_accuracy = 0;
  double validation_accuracy = -1;  // -1: no images held out
  double train_seconds = 0, seconds = 0;  // the pass over the training set; with the test and validation passes
};

// Called after each minibatch: images done in the epoch, of how many, the running loss and accuracy.
using Progress = std::function<void(const EpochLog& so_far, int64_t done, int64_t of)>;

class Trainer {
 public:
  Trainer(Network& net, TrainConfig config);
  // Forgets the momentum (after the params' masks or clusters change).
  void reset_momentum();
  // One epoch over (the config's share of) the training set; tested on the test set after it.
  EpochLog epoch(const Dataset& train, const Dataset& test, const Progress& progress = {});
  // The epoch's pass over the training set alone (its loss and training accuracy), not logged.
  EpochLog train_pass(const Dataset& train, const Progress& progress = {});
  // One SGD step at rate `lr` on the minibatch of images order[from .. from + count) of `data`: its
  // loss and correct answers (the gradient is spent on the step).
  Loss step(const Dataset& data, const std::vector<int64_t>& order, int64_t from, int64_t count, double lr);
  // The multiply-accumulates of every step so far (Network::step_macs).
  uint64_t macs() const { return macs_; }
  const std::vector<EpochLog>& log() const { return log_; }

 private:
  Network& net_;
  TrainConfig config_;
  std::mt19937_64 rng_;
  std::vector<std::vector<float>> velocity_;  // per param: of each weight, or of each centroid when shared
  std::vector<EpochLog> log_;
  uint64_t macs_ = 0;
  int64_t passes_ = 0;  // over the training set, each an epoch of the schedule
};

// One SGD step of a parameter from its gradient (as the header says, masks and clusters included);
// `velocity` holds a value per weight, or per centroid when the parameter is shared.
void sgd_step(Param& p, std::vector<float>& velocity, double lr, double momentum, double weight_decay);

// The images [from, from + count) of a data set, and what they are ("test", "validation", ...).
struct ImageRange {
  const Dataset* data = nullptr;
  int64_t from = 0, count = 0;
  const char* name = "";
};
// The validation images a config holds out of `train`: its last validation_images (none: count 0).
ImageRange validation_range(const TrainConfig& c, const Dataset& train);

// The fraction of the images the network classifies right; throws std::out_of_range for a range
// past the data set's end.
double accuracy(Network& net, const ImageRange& images, int64_t batch = 256);
// Of the first `limit` images (0: all).
double accuracy(Network& net, const Dataset& data, int64_t limit = 0, int64_t batch = 256);
// Of the validation images the config holds out of `train`.
double validation_accuracy(Network& net, const TrainConfig& c, const Dataset& train);

// The first n images (fewer if the set has fewer) as a batch of the network's input shape, pixels / 255.
Tensor first_images(const Network& net, const Dataset& data, int64_t n);

// Images [from, from + n) as a batch of the network's input shape, pixels / 255.
Tensor batch_of(const Network& net, const Dataset& data, const std::vector<int64_t>& order, int64_t from, int64_t n);

}  // namespace tpu::train
