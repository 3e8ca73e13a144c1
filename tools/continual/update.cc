#include "tools/continual/update.h"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "tools/train/trainer.h"

namespace tpu::continual {

int64_t update_iterations(const Setting& setting, int64_t training_set, int64_t batch) {
  if (setting.constant > 0) return setting.constant;
  const double n = std::ceil(setting.epochs * double(training_set) / double(batch) - 1e-9);
  return std::max<int64_t>(1, static_cast<int64_t>(n));
}

std::vector<int64_t> draw_minibatch(const std::vector<int64_t>& earlier, const std::vector<int64_t>& update, double lambda,
                                    int64_t size, std::mt19937_64& rng) {
  if (update.empty() || earlier.empty()) throw std::invalid_argument("an update needs earlier data and an update set");
  // Drawn in [0, 1) from the top 53 bits: the same numbers from any standard library.
  auto uniform = [&rng] { return double(rng() >> 11) * 0x1.0p-53; };
  const double from_update = lambda >= 0 ? lambda : double(update.size()) / double(update.size() + earlier.size());
  std::vector<int64_t> batch(static_cast<size_t>(size));
  for (int64_t& image : batch) {
    const std::vector<int64_t>& set = uniform() < from_update ? update : earlier;
    image = set[rng() % set.size()];
  }
  return batch;
}

UpdateLog fine_tune(train::Network& net, const train::TrainConfig& config, const train::Dataset& pool,
                    const std::vector<int64_t>& earlier, const std::vector<int64_t>& update, int64_t iterations,
                    double lambda, std::mt19937_64& rng) {
  const auto start = std::chrono::steady_clock::now();
  train::Trainer trainer(net, config);
  UpdateLog log;
  log.iterations = iterations;
  for (int64_t it = 0; it < iterations; ++it) {
    const std::vector<int64_t> batch = draw_minibatch(earlier, update, lambda, config.batch, rng);
    log.loss += trainer.step(pool, batch, 0, config.batch, config.lr).loss / double(iterations);
  }
  log.macs = trainer.macs();
  log.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return log;
}

void train_initial(train::Network& net, const train::TrainConfig& config, const train::Dataset& pool,
                   const std::vector<int64_t>& initial) {
  const train::Dataset images = train::subset(pool, initial);
  train::Trainer trainer(net, config);
  for (int64_t e = 0; e < config.epochs; ++e) trainer.train_pass(images);
}

}  // namespace tpu::continual
