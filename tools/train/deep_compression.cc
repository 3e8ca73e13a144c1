#include "tools/train/deep_compression.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "tools/compiler/compress.h"
#include "tools/train/yaml_values.h"

namespace tpu::train {

namespace {


// A map of layer name -> value, each a dense or conv2d layer of the graph.
template <class T>
std::map<std::string, T> layer_map(const std::string& path, const YAML::Node& node, const std::string& key,
                                   const compiler::Graph& g, double lo, double hi) {
  std::map<std::string, T> m;
  if (!node) return m;
  if (!node.IsMap()) throw compiler::ModelError(yaml_where(path, node) + key + " maps layer names to values");
  for (const auto& kv : node) {
    const std::string layer = kv.first.as<std::string>();
    const int i = g.find(layer);
    if (i < 0 || (g.layers[static_cast<size_t>(i)].op != compiler::Op::kDense &&
                  g.layers[static_cast<size_t>(i)].op != compiler::Op::kConv2d))
      throw compiler::ModelError(yaml_where(path, kv.first) + key + ": '" + layer + "' is not a dense or conv2d layer of " + g.file);
    const std::string name = key + "." + layer;
    m[layer] = std::is_integral_v<T> ? static_cast<T>(yaml_whole(path, kv.second, name, lo, hi))
                                     : static_cast<T>(yaml_number(path, kv.second, name, lo, hi));
  }
  return m;
}

void check_keys(const std::string& path, const YAML::Node& node, const std::vector<std::string>& known,
                const std::string& section) {
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw compiler::ModelError(yaml_where(path, kv.first) + "unknown key '" + section + key + "'");
  }
}

}  // namespace

CompressPlan load_plan(const std::string& path, const compiler::Graph& g) {
  const YAML::Node root = yaml_load(path);
  if (!root.IsMap()) throw compiler::ModelError(path + ": a plan is a mapping of train, prune and quantize");
  check_keys(path, root, {"train", "prune", "quantize"}, "");
  CompressPlan p;
  if (const YAML::Node t = root["train"]) {
    if (t.IsScalar() && t.Scalar() == "none")
      p.train_first = false;
    else
      p.train = read_train_config(t, path, "train");
  }
  if (const YAML::Node pr = root["prune"]) {
    yaml_mapping(path, pr, "prune");
    check_keys(path, pr, {"rounds", "retrain_epochs", "density"}, "prune.");
    if (pr["rounds"]) p.rounds = yaml_whole(path, pr["rounds"], "prune.rounds", 1, 100);
    if (pr["retrain_epochs"]) p.retrain_epochs = yaml_whole(path, pr["retrain_epochs"], "prune.retrain_epochs", 0, 1000);
    p.density = layer_map<double>(path, pr["density"], "prune.density", g, 1e-6, 1);
  }
  if (const YAML::Node q = root["quantize"]) {
    yaml_mapping(path, q, "quantize");
    check_keys(path, q, {"bits", "init", "finetune_epochs", "finetune_lr"}, "quantize.");
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
  return p;
}

double round_density(double target, int64_t round, int64_t rounds) {
  return std::pow(target, double(round) / double(rounds));
}

std::vector<StageResult> deep_compress(Network& net, const CompressPlan& plan, const Dataset& train,
                                       const Dataset& test, const Progress& progress) {
  std::vector<StageResult> stages;
  auto run = [&](TrainConfig c, int64_t epochs) {
    c.epochs = epochs;
    Trainer t(net, c);
    for (int64_t e = 0; e < epochs; ++e) t.epoch(train, test, progress);
  };
  if (plan.train_first) run(plan.train, plan.train.epochs);
  stages.push_back({"float", accuracy(net, test, plan.train.test_images)});
  if (!plan.density.empty()) {
    for (int64_t r = 1; r <= plan.rounds; ++r) {
      for (const Network::Trained& t : net.trained()) {
        const auto d = plan.density.find(t.layer);
        if (d == plan.density.end()) continue;
        Param& w = *t.weights;
        w.value = compiler::prune(std::move(w.value), round_density(d->second, r, plan.rounds));
        w.mask.resize(w.value.size());
        for (size_t i = 0; i < w.value.size(); ++i) w.mask[i] = w.value[i] != 0;
      }
      run(plan.train, plan.retrain_epochs);
    }
    stages.push_back({"pruned", accuracy(net, test, plan.train.test_images)});
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
    stages.push_back({"quantized", accuracy(net, test, plan.train.test_images)});
    TrainConfig tune = plan.train;
    tune.lr = plan.finetune_lr;
    run(tune, plan.finetune_epochs);
    stages.push_back({"fine-tuned", accuracy(net, test, plan.train.test_images)});
  }
  return stages;
}

}  // namespace tpu::train
