#pragma once

// A continual fine-tuning study as its YAML file describes it
// (configs/continual/*.yaml; Käding, Rodner, Freytag and Denzler, "Fine-Tuning
// Deep Neural Networks in Continuous Learning Scenarios", ACCV 2016 workshops):
//
//   model: ../../models/lenet_300_100.yaml   # relative to this file
//   bootstraps: 9                # draws of class order, initial and update sets
//   seed: 1
//   initial: {epochs: 20, lr: 0.01}          # the initial model, trained to convergence (trainer.h's keys)
//   update: {lr: 0.001, momentum: 0.9, weight_decay: 5.0e-4, batch: 64}   # each update's SGD
//   scenarios:
//     new_classes: {initial_classes: 5, initial_per_class: 1000, update_size: 100}
//     growing_data: {initial_per_class: 100, update_size: 100, steps: 10}
//   experiments:                 # each a list of settings, run in each of its scenarios
//     iterations: {scenarios: [new_classes], epochs: [0.1, 0.5, 1, 4], constant: [10, 100]}
//     old_data: {scenarios: [new_classes], lambda: [0, 0.5, 1], epochs: 1}
//     label_noise: {scenarios: [new_classes], noise: [0, 0.1, 0.5], epochs: 10}
//   test_per_class: 0            # test images per class (0: all 1,000)
//   deploy: {chip: ../tpu_v1.yaml, batch: 100, calibration_images: 256, check: false}
//                                # check: the reference interpreter too, on every image
//   compress: {plan: ../compress/continual_lenet_300_100.yaml, codebooks: recluster}   # optional, below
//
// Scenarios. new_classes: the network starts on `initial_classes` of the ten
// (drawn per bootstrap), `initial_per_class` images each; each update brings
// one more class with `update_size` images, and the last layer grows by one
// output (Network::set_classes: its weights and bias drawn as a new layer's,
// every other weight kept). growing_data: all ten classes from the start,
// `initial_per_class` images each; each of `steps` updates brings
// `update_size` more images drawn from the unused ones of every class.
//
// Each update fine-tunes the previous model for a number of SGD iterations
// (minibatches): `epochs` times the current training set (everything seen so
// far, the update set included) over the batch, rounded up, or `constant`.
// Each minibatch example is drawn, independently and with replacement, from
// the update set with probability lambda and from the earlier data otherwise:
// lambda 1 ignores the earlier data, lambda 0 leaves the new data out of this
// update (it trains with the next, as earlier data); without lambda, from the
// whole current training set alike (lambda = update set / training set).
// Label noise: that fraction of each update set (rounded down) is replaced by
// images of the other classes already known, each keeping the label of the
// image it replaces; growing_data's known classes are all ten.
//
// Compression (`compress:`). The initial model, once trained, goes through
// the plan's Deep Compression stages (deep_compression.h: pruning rounds
// retrained on the initial images, weight sharing and its fine-tuning, at the
// study's `initial` recipe; the plan takes neither a train nor a sensitivity
// section, since the study trains the model and no images are held out to
// choose densities on). Afterwards the host keeps float weights with the
// pruned ones held at zero: each update trains them (a new output's weights
// free), then prunes a new output's weights to its layer's density by
// magnitude among themselves (the whole layer again would prune the young,
// small weights of a new output away). Each
// deployment shares the weights again: `recluster` runs k-means afresh from
// the plan's init (no fine-tuning of the shared values); `frozen` keeps the
// codebook of the deployment before and moves each weight to its nearest
// value (ties to the lower). The shared fc layers run on the chip's sparse
// engine (the deploy chip must have one; at most 4 bits, its codebook).

#include <cstdint>
#include <string>
#include <vector>

#include "tools/train/deep_compression.h"
#include "tools/train/trainer.h"

namespace tpu::continual {

struct NewClasses {
  int64_t initial_classes = 5, initial_per_class = 1000, update_size = 100;
};
struct GrowingData {
  int64_t initial_per_class = 100, update_size = 100, steps = 10;
};

// One setting of an experiment in one scenario.
struct Setting {
  std::string experiment;   // iterations, old_data or label_noise
  std::string scenario;     // new_classes or growing_data
  double epochs = 1;        // iterations: epochs x training set / batch, rounded up ...
  int64_t constant = 0;     // ... or this many (when above 0)
  double lambda = -1;       // below 0: the whole training set alike
  double noise = 0;         // share of each update set
  std::string label() const;  // "epochs 0.5", "constant 100", "lambda 0.25", "noise 0.1"
};

struct Deploy {
  std::string chip;  // the chip's config file (resolved)
  int64_t batch = 100, calibration_images = 256;
  bool check = false;  // also run the reference interpreter on every image and count agreement
};

struct Compress {
  std::string plan;  // the plan file (resolved); empty: every deployment int8 dense
  train::CompressPlan settings;
  std::string codebooks = "recluster";  // or frozen
  bool on() const { return !plan.empty(); }
};

struct StudySpec {
  std::string file, name;  // name: the file's stem
  std::string model;       // resolved against the file's folder
  int64_t bootstraps = 9;
  uint64_t seed = 1;
  train::TrainConfig initial, update;
  NewClasses new_classes;
  GrowingData growing_data;
  std::vector<Setting> settings;  // experiments in file order, each's settings in its order, per scenario
  int64_t test_per_class = 0;
  Deploy deploy;
  Compress compress;
};

// Throws compiler::ModelError naming the file, line and key (with the nearest valid key for an
// unknown one): impossible class splits, lambda outside [0, 1], noise above 1, a missing model.
StudySpec load_study(const std::string& path);

// A run of the study: one setting on one bootstrap's draws.
struct StudyPoint {
  size_t index = 0;  // setting-major
  size_t setting = 0;
  int64_t bootstrap = 0;
};
std::vector<StudyPoint> study_points(const StudySpec& spec);

}  // namespace tpu::continual
