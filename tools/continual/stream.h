#pragma once

// One bootstrap's draws for a scenario of a study (study.h): the order the
// classes are learned in, the initial images, and each update's images with
// the replacements label noise would put in their place. Every setting of a
// scenario sees the same draws for a bootstrap, so settings compare pairwise;
// the noise of one setting replaces the first images of each update set, so a
// larger share replaces the smaller's images and more.
//
// The images are gathered, once, into one data set (`pool`) whose labels are
// the network's outputs: output j scores the j-th class learned.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tools/continual/study.h"
#include "tools/train/fashion_mnist.h"

namespace tpu::continual {

struct Stream {
  bool new_classes = false;     // the scenario: a class an update (else more images of all)
  std::vector<int> classes;     // Fashion-MNIST's class of each output, in the order learned
  int64_t initial_classes = 0;  // outputs before the first update
  train::Dataset pool;          // every image drawn, labelled by output
  std::vector<int64_t> file;    // of each pool image, its index in the training file
  std::vector<int64_t> initial;  // pool indices of the initial images
  struct Update {
    std::vector<int64_t> images;        // pool indices of the update set
    std::vector<int64_t> replacements;  // one per image: another known class's, to put in its place
  };
  std::vector<Update> updates;
  // The outputs the network has after `updates` updates.
  int64_t classes_after(int64_t updates) const;
  // The update output j is first trained at (0: an initial one): the one that adds it, or with
  // lambda 0, which leaves an update's new data to the next, the one after (past the last: never).
  int64_t learned_at(int64_t output, double lambda) const;
};

// A seed for one purpose of one bootstrap of a scenario (draws, initial weights, outputs added,
// minibatches), from the study's seed: the same numbers on every machine (std::seed_seq's
// algorithm is the standard's).
uint64_t purpose_seed(const StudySpec& spec, const std::string& scenario, int64_t bootstrap, uint64_t purpose,
                      uint64_t step = 0);
enum Purpose : uint64_t { kDraws = 0, kInitialModel = 1, kNewOutput = 2, kMinibatches = 3, kSharing = 4 };

// The draws of bootstrap `bootstrap` for `scenario` (new_classes or growing_data): seeded by the
// study's seed, the scenario and the bootstrap alone.
Stream draw_stream(const StudySpec& spec, const std::string& scenario, int64_t bootstrap, const train::Dataset& train);

// The update set of step `step` (from 0) with label noise `noise`: its first floor(noise x size)
// images replaced, each by its replacement, keeping its label.
std::vector<int64_t> noisy_update(const Stream& s, size_t step, double noise);

// The test images of the classes known after `updates` updates (at most `per_class` of each, 0:
// all), labelled by output.
train::Dataset test_images(const Stream& s, int64_t updates, const train::Dataset& test, int64_t per_class);

}  // namespace tpu::continual
