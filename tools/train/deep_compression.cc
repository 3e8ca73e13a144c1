#include "tools/train/deep_compression.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "tools/compiler/compress.h"
#include "tools/train/yaml_values.h"

namespace tpu::train {

namespace {


// A map of layer name -> value, each a dense or conv2d layer of the graph; the keys `conv` and `fc`
// give every conv2d or dense layer without its own entry that value.
template <class T>
std::map<std::string, T> layer_map(const std::string& path, const YAML::Node& node, const std::string& key,
                                   const compiler::Graph& g, double lo, double hi) {
  std::map<std::string, T> m, kinds;
  if (!node) return m;
  if (!node.IsMap()) throw compiler::ModelError(yaml_where(path, node) + key + " maps layer names (or conv, fc) to values");
  for (const auto& kv : node) {
    const std::string layer = kv.first.as<std::string>();
    const std::string name = key + "." + layer;
    const T value = std::is_integral_v<T> ? static_cast<T>(yaml_whole(path, kv.second, name, lo, hi))
                                          : static_cast<T>(yaml_number(path, kv.second, name, lo, hi));
    if (layer == "conv" || layer == "fc") {
      kinds[layer] = value;
      continue;
    }
    const int i = g.find(layer);
    if (i < 0 || (g.layers[static_cast<size_t>(i)].op != compiler::Op::kDense &&
                  g.layers[static_cast<size_t>(i)].op != compiler::Op::kConv2d))
      throw compiler::ModelError(yaml_where(path, kv.first) + key + ": '" + layer + "' is not a dense or conv2d layer of " +
                                 g.file + " (nor conv or fc, every layer of that kind)");
    m[layer] = value;
  }
  for (const compiler::Layer& l : g.layers) {
    const char* kind = l.op == compiler::Op::kConv2d ? "conv" : l.op == compiler::Op::kDense ? "fc" : nullptr;
    if (!kind || m.count(l.name)) continue;
    if (l.name == "conv" || l.name == "fc")
      throw compiler::ModelError(path + ": " + key + ": layer '" + l.name + "' of " + g.file +
                                 " has the name of a kind of layer; rename it to give it a value of its own");
    if (const auto k = kinds.find(kind); k != kinds.end()) m[l.name] = k->second;
  }
  return m;
}

}  // namespace

CompressPlan load_plan(const std::string& path, const compiler::Graph& g) {
  const YAML::Node root = yaml_load(path);
  if (!root.IsMap()) throw compiler::ModelError(path + ": a plan is a mapping of train, prune and quantize");
  yaml_check_keys(path, root, {"train", "sensitivity", "prune", "quantize", "storage"}, "");
  CompressPlan p;
  if (const YAML::Node t = root["train"]) {
    if (t.IsScalar() && t.Scalar() == "none")
      p.train_first = false;
    else
      p.train = read_train_config(t, path, "train");
  }
  if (const YAML::Node pr = root["prune"]) {
    yaml_mapping(path, pr, "prune");
    yaml_check_keys(path, pr, {"rounds", "retrain_epochs", "retrain_lr", "retrain_schedule", "density"}, "prune.");
    if (pr["retrain_lr"]) p.retrain_lr = yaml_number(path, pr["retrain_lr"], "prune.retrain_lr", 1e-9, 10);
    if (const YAML::Node rs = pr["retrain_schedule"]) {
      p.retrain_schedule = yaml_string(path, rs, "prune.retrain_schedule");
      if (p.retrain_schedule != "constant" && p.retrain_schedule != "cosine")
        throw compiler::ModelError(yaml_where(path, rs) + "prune.retrain_schedule '" + p.retrain_schedule +
                                   "' is not constant or cosine");
    }
    if (pr["rounds"]) p.rounds = yaml_whole(path, pr["rounds"], "prune.rounds", 1, 100);
    if (pr["retrain_epochs"]) p.retrain_epochs = yaml_whole(path, pr["retrain_epochs"], "prune.retrain_epochs", 0, 1000);
    p.density = layer_map<double>(path, pr["density"], "prune.density", g, 1e-6, 1);
  }
  if (const YAML::Node q = root["quantize"]) {
    yaml_mapping(path, q, "quantize");
    yaml_check_keys(path, q, {"bits", "init", "finetune_epochs", "finetune_lr"}, "quantize.");
    if (const YAML::Node i = q["init"]) {
      const std::string v = yaml_string(path, i, "quantize.init");
      if (v == "linear") p.init = compiler::CentroidInit::kLinear;
      else if (v == "density") p.init = compiler::CentroidInit::kDensity;
      else if (v == "random") p.init = compiler::CentroidInit::kRandom;
      else throw compiler::ModelError(yaml_where(path, i) + "quantize.init '" + v + "' is not linear, density or random");
    }
    p.bits = layer_map<int>(path, q["bits"], "quantize.bits", g, 1, 8);
    if (q["finetune_epochs"])
      p.finetune_epochs = yaml_whole(path, q["finetune_epochs"], "quantize.finetune_epochs", 0, 1000);
    if (q["finetune_lr"]) p.finetune_lr = yaml_number(path, q["finetune_lr"], "quantize.finetune_lr", 1e-9, 10);
  }
  for (const compiler::Layer& l : g.layers)  // Deep Compression's widths: 8 bits in conv layers, 5 in fc
    if (l.op == compiler::Op::kConv2d || l.op == compiler::Op::kDense) p.index_bits[l.name] = l.op == compiler::Op::kConv2d ? 8 : 5;
  if (const YAML::Node st = root["storage"]) {
    yaml_mapping(path, st, "storage");
    yaml_check_keys(path, st, {"index_bits"}, "storage.");
    for (const auto& [layer, bits] : layer_map<int>(path, st["index_bits"], "storage.index_bits", g, 1, 8))
      p.index_bits[layer] = bits;
  }
  if (const YAML::Node se = root["sensitivity"]) {
    yaml_mapping(path, se, "sensitivity");
    yaml_check_keys(path, se, {"densities", "budget", "images"}, "sensitivity.");
    p.sensitivity = true;
    if (const YAML::Node d = se["densities"]) {
      if (!d.IsSequence() || d.size() == 0)
        throw compiler::ModelError(yaml_where(path, d) + "sensitivity.densities is a list of densities in (0, 1]");
      p.sensitivity_densities.clear();
      for (const auto& v : d) p.sensitivity_densities.push_back(yaml_number(path, v, "sensitivity.densities", 1e-6, 1));
      std::sort(p.sensitivity_densities.begin(), p.sensitivity_densities.end());
    }
    if (se["budget"]) p.sensitivity_budget = yaml_number(path, se["budget"], "sensitivity.budget", 0, 100);
    if (se["images"]) p.sensitivity_images = yaml_whole(path, se["images"], "sensitivity.images", 0, 1e9);
  }
  return p;
}

double round_density(double target, int64_t round, int64_t rounds) {
  return std::pow(target, double(round) / double(rounds));
}

namespace {

StageResult snapshot(const Network& net, const char* stage, double test_accuracy, double validation_accuracy) {
  StageResult s{stage, test_accuracy, validation_accuracy, {}, {}};
  for (const Network::Trained& t : net.trained()) {
    s.weights.push_back(t.weights->value);
    s.biases.push_back(t.bias->value);
  }
  return s;
}

}  // namespace

ImageRange choice_images(const TrainConfig& c, const Dataset& train, const Dataset& test, int64_t limit) {
  ImageRange r = c.validation_images > 0 ? validation_range(c, train) : ImageRange{&test, 0, test.count, "test"};
  if (limit > 0) r.count = std::min(limit, r.count);
  return r;
}

std::vector<SensitivityPoint> sensitivity(Network& net, const std::vector<double>& densities,
                                          const ImageRange& images) {
  std::vector<SensitivityPoint> points;
  for (const Network::Trained& t : net.trained()) {
    const std::vector<float> keep = t.weights->value;
    for (double d : densities) {
      t.weights->value = compiler::prune(keep, d);
      points.push_back({t.layer, d, accuracy(net, images)});
    }
    t.weights->value = keep;
  }
  return points;
}

std::map<std::string, double> propose_densities(const std::vector<SensitivityPoint>& points, double baseline,
                                                double budget) {
  std::map<std::string, double> m;
  for (const SensitivityPoint& p : points) {
    double& d = m.emplace(p.layer, 1.0).first->second;
    if (100 * (baseline - p.accuracy) <= budget && p.density < d) d = p.density;
  }
  return m;
}

CompressionResult deep_compress(Network& net, const CompressPlan& plan, const Dataset& train, const Dataset& test,
                                const Progress& progress) {
  CompressionResult result;
  std::vector<StageResult>& stages = result.stages;
  auto run = [&](TrainConfig c, int64_t epochs, const std::string& phase) {
    c.epochs = epochs;
    Trainer t(net, c);
    for (int64_t e = 0; e < epochs; ++e) result.epochs.push_back({phase, t.epoch(train, test, progress)});
  };
  auto stage = [&](const char* name) {
    const double validation = plan.train.validation_images > 0 ? validation_accuracy(net, plan.train, train) : -1;
    stages.push_back(snapshot(net, name, accuracy(net, test, plan.train.test_images), validation));
  };
  if (plan.train_first) run(plan.train, plan.train.epochs, "train");
  stage("float");
  result.density = plan.density;
  if (plan.sensitivity) {
    const ImageRange images = choice_images(plan.train, train, test, plan.sensitivity_images);
    result.sensitivity = sensitivity(net, plan.sensitivity_densities, images);
    result.sensitivity_images = images.name;
    result.sensitivity_count = images.count;
    result.sensitivity_baseline = accuracy(net, images);
    result.proposed = propose_densities(result.sensitivity, result.sensitivity_baseline, plan.sensitivity_budget);
    if (result.density.empty()) {
      result.density = result.proposed;
      for (auto it = result.density.begin(); it != result.density.end();)  // density 1: not pruned
        it = it->second >= 1 ? result.density.erase(it) : std::next(it);
    }
  }
  if (!result.density.empty()) {
    for (int64_t r = 1; r <= plan.rounds; ++r) {
      for (const Network::Trained& t : net.trained()) {
        const auto d = result.density.find(t.layer);
        if (d == result.density.end()) continue;
        Param& w = *t.weights;
        w.value = compiler::prune(std::move(w.value), round_density(d->second, r, plan.rounds));
        w.mask.resize(w.value.size());
        for (size_t i = 0; i < w.value.size(); ++i) w.mask[i] = w.value[i] != 0;
      }
      TrainConfig retrain = plan.train;
      if (plan.retrain_lr > 0) retrain.lr = plan.retrain_lr;
      if (!plan.retrain_schedule.empty()) retrain.schedule = plan.retrain_schedule;
      run(retrain, plan.retrain_epochs, "retrain " + std::to_string(r));
    }
    stage("pruned");
  }
  if (!plan.bits.empty()) {
    for (const Network::Trained& t : net.trained()) {
      const auto b = plan.bits.find(t.layer);
      if (b == plan.bits.end()) continue;
      Param& w = *t.weights;
      const compiler::SharedWeights s = compiler::share_weights(w.value, (1 << b->second) - 1, plan.init, plan.train.seed);
      w.cluster = s.indices;
      w.centroids = s.codebook;
      for (size_t i = 0; i < w.value.size(); ++i) w.value[i] = w.centroids[w.cluster[i]];
    }
    stage("quantized");
    TrainConfig tune = plan.train;
    tune.lr = plan.finetune_lr;
    run(tune, plan.finetune_epochs, "fine-tune");
    stage("fine-tuned");
  }
  return result;
}

}  // namespace tpu::train
