#pragma once

// One update of a continual study (study.h): the network fine-tuned for a
// number of SGD iterations on minibatches drawn from the update set and the
// earlier data; and the initial model it starts from.

#include <cstdint>
#include <random>
#include <vector>

#include "tools/continual/study.h"
#include "tools/train/network.h"

namespace tpu::continual {

// The iterations an update of `setting` takes with `training_set` images known (the update set
// included): its constant, or epochs x training_set / batch rounded up (at least one).
int64_t update_iterations(const Setting& setting, int64_t training_set, int64_t batch);

// One minibatch of `size` images, each drawn with replacement: with probability `lambda` from
// `update`, else from `earlier` (lambda < 0: from both alike, as one set).
std::vector<int64_t> draw_minibatch(const std::vector<int64_t>& earlier, const std::vector<int64_t>& update, double lambda,
                                    int64_t size, std::mt19937_64& rng);

struct UpdateLog {
  int64_t iterations = 0;
  uint64_t macs = 0;   // of the training steps (Network::step_macs)
  double loss = 0;     // the mean minibatch loss over the update
  double seconds = 0;  // wall time (not deterministic: kept out of a study's results files)
};

// Fine-tunes `net` on `iterations` minibatches of `config.batch` images of `pool` (draw_minibatch),
// SGD at config.lr with its momentum and weight decay, from fresh momentum.
UpdateLog fine_tune(train::Network& net, const train::TrainConfig& config, const train::Dataset& pool,
                    const std::vector<int64_t>& earlier, const std::vector<int64_t>& update, int64_t iterations,
                    double lambda, std::mt19937_64& rng);

// The initial model: `config.epochs` shuffled passes over the initial images, from config.seed.
void train_initial(train::Network& net, const train::TrainConfig& config, const train::Dataset& pool,
                   const std::vector<int64_t>& initial);

}  // namespace tpu::continual
