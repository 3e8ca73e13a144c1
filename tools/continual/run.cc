#include "tools/continual/run.h"

#include <algorithm>
#include <functional>
#include <numeric>

#include "tools/compiler/compiler.h"
#include "tools/continual/compression.h"
#include "tools/train/trainer.h"

namespace tpu::continual {

train::Network initial_model(const StudySpec& spec, const std::string& scenario, int64_t bootstrap, const Stream& stream) {
  const uint64_t seed = purpose_seed(spec, scenario, bootstrap, kInitialModel);
  train::Network net = train::Network::from_graph(compiler::load_model(spec.model, 1, false), seed);
  net.set_classes(stream.initial_classes, seed);
  train::TrainConfig c = spec.initial;
  c.seed = seed;
  train_initial(net, c, stream.pool, stream.initial);
  if (spec.compress.on()) compress_initial(net, spec, seed, train::subset(stream.pool, stream.initial));
  return net;
}

std::vector<uint8_t> predict(train::Network& net, const train::Dataset& data) {
  constexpr int64_t kBatch = 256;
  std::vector<uint8_t> out;
  for (int64_t from = 0; from < data.count; from += kBatch) {
    const int64_t n = std::min(kBatch, data.count - from);
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = from + i;
    const train::Tensor y = net.forward(train::batch_of(net, data, order, 0, n));
    const int64_t classes = y.shape[1];
    for (int64_t i = 0; i < n; ++i) {
      const float* row = &y.v[static_cast<size_t>(i * classes)];
      out.push_back(static_cast<uint8_t>(std::max_element(row, row + classes) - row));
    }
  }
  return out;
}

namespace {

// Images spread evenly over the known ones: what the deployment calibrates on.
train::Dataset spread(const train::Dataset& pool, const std::vector<int64_t>& known, int64_t n) {
  std::vector<int64_t> pick;
  const auto size = static_cast<int64_t>(known.size());
  for (int64_t i = 0; i < std::min(n, size); ++i) pick.push_back(known[static_cast<size_t>(i * size / std::min(n, size))]);
  return train::subset(pool, pick);
}

double share_right(const train::Dataset& images, const std::vector<uint8_t>& predicted) {
  return double(std::inner_product(predicted.begin(), predicted.end(), images.labels.begin(), int64_t{0}, std::plus<>(),
                                   std::equal_to<>())) /
         double(images.count);
}

}  // namespace

RunResult run_point(const StudySpec& spec, const StudyPoint& point, const Stream& stream, train::Network net,
                    const train::Dataset& test, const sim::ChipParams& chip, const std::string& work_dir,
                    const std::string& cache_dir) {
  const Setting& setting = spec.settings.at(point.setting);
  RunResult r;
  r.classes = stream.classes;
  std::vector<int64_t> known = stream.initial;
  std::mt19937_64 rng(purpose_seed(spec, setting.scenario, point.bootstrap, kMinibatches));
  const Compress& compress = spec.compress;
  Codebooks codebooks;
  if (compress.on()) hold_pruned(net, compress);
  for (size_t t = 0; t <= stream.updates.size(); ++t) {
    StepRecord s;
    s.step = static_cast<int64_t>(t);
    if (t > 0) {
      const std::vector<int64_t> update = noisy_update(stream, t - 1, setting.noise);
      const int64_t classes = stream.classes_after(s.step), before = net.classes();
      if (classes != net.classes())
        net.set_classes(classes, purpose_seed(spec, setting.scenario, point.bootstrap, kNewOutput, t));
      const int64_t iterations =
          update_iterations(setting, static_cast<int64_t>(known.size() + update.size()), spec.update.batch);
      s.update = fine_tune(net, spec.update, stream.pool, known, update, iterations, setting.lambda, rng);
      if (compress.on() && classes > before) prune_added_outputs(net, compress, before);
      known.insert(known.end(), update.begin(), update.end());
    }
    s.classes = net.classes();
    s.training_set = static_cast<int64_t>(known.size());
    const train::Dataset images = test_images(stream, s.step, test, spec.test_per_class);
    const std::vector<uint8_t> predicted = predict(net, images);
    s.per_class = per_class_accuracy(images.labels, predicted, s.classes);
    s.accuracy = share_right(images, predicted);
    // A compressed deployment ships the weights shared again; the host keeps its float ones.
    const std::vector<std::vector<float>> host = compress.on() ? weights_of(net) : std::vector<std::vector<float>>{};
    train::LayerKeys keys;
    if (compress.on()) {
      keys = share_for_deployment(net, compress, codebooks, purpose_seed(spec, setting.scenario, point.bootstrap, kSharing, t));
      s.compressed_accuracy = share_right(images, predict(net, images));
    }
    s.chip = deploy(net, spec, chip, spread(stream.pool, known, spec.deploy.calibration_images), images,
                    t > 0 ? &r.steps.back().chip : nullptr, work_dir, cache_dir, keys);
    if (compress.on()) set_weights(net, host);
    r.float_matrix.acc.push_back(s.per_class);
    r.chip_matrix.acc.push_back(s.chip.per_class);
    r.steps.push_back(std::move(s));
  }
  for (int64_t j = 0; j < r.steps.back().classes; ++j) r.float_matrix.learned.push_back(stream.learned_at(j, setting.lambda));
  r.chip_matrix.learned = r.float_matrix.learned;
  return r;
}

nlohmann::json to_json(const StudySpec& spec, const StudyPoint& point, const RunResult& r) {
  const Setting& setting = spec.settings.at(point.setting);
  nlohmann::json steps = nlohmann::json::array(), wall = nlohmann::json::array();
  for (const StepRecord& s : r.steps) {
    const Deployment& d = s.chip;
    steps.push_back({{"step", s.step},
                     {"classes", s.classes},
                     {"training_set", s.training_set},
                     {"iterations", s.update.iterations},
                     {"training_macs", s.update.macs},
                     {"loss", s.update.loss},
                     {"accuracy", s.accuracy},
                     {"per_class", s.per_class},
                     {"chip",
                      {{"accuracy", d.accuracy},
                       {"per_class", d.per_class},
                       {"latency_us", d.latency_us},
                       {"energy_uj", d.energy_uj},
                       {"dynamic_uj", d.dynamic_uj},
                       {"weight_image_bytes", d.weight_image_bytes},
                       {"changed_weight_bytes", d.changed_weight_bytes},
                       {"uploaded_bytes", d.uploaded_bytes},
                       {"changed_host_bytes", d.changed_host_bytes},
                       {"upload_transfers", d.upload_transfers},
                       {"upload_us", d.upload_us}}}});
    if (spec.compress.on()) steps.back()["compressed_accuracy"] = s.compressed_accuracy;
    wall.push_back({{"update_seconds", s.update.seconds}, {"compile_seconds", d.compile_seconds},
                    {"chip_seconds", d.chip_seconds}, {"deploy_seconds", d.deploy_seconds}});
  }
  return {{"point", point.index},
          {"setting", setting.label()},
          {"experiment", setting.experiment},
          {"scenario", setting.scenario},
          {"bootstrap", point.bootstrap},
          {"class_of_output", r.classes},
          {"steps", steps},
          {"forgetting", mean_forgetting(r.float_matrix)},
          {"backward_transfer", backward_transfer(r.float_matrix)},
          {"per_class_forgetting", forgetting(r.float_matrix)},
          {"learned_at", r.float_matrix.learned},
          {"chip_forgetting", mean_forgetting(r.chip_matrix)},
          {"chip_backward_transfer", backward_transfer(r.chip_matrix)},
          {"wall", wall}};
}

}  // namespace tpu::continual
