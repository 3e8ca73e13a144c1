#include "tools/continual/compression.h"

#include <algorithm>
#include <cassert>

#include "tools/compiler/compress.h"
#include "tools/train/deep_compression.h"

namespace tpu::continual {

void compress_initial(train::Network& net, const StudySpec& spec, uint64_t seed, const train::Dataset& initial) {
  train::CompressPlan plan = spec.compress.settings;
  plan.train = spec.initial;
  plan.train.seed = seed;
  plan.train.test_images = 1;  // the stages' accuracies are not used: the study measures its own
  train::deep_compress(net, plan, initial, initial);
}

namespace {

void hold_zeros(train::Param& w) {
  w.mask.resize(w.value.size());
  for (size_t i = 0; i < w.value.size(); ++i) w.mask[i] = w.value[i] != 0;
}

}  // namespace

void hold_pruned(train::Network& net, const Compress& c) {
  for (const train::Network::Trained& t : net.trained()) {
    t.weights->cluster.clear();
    t.weights->centroids.clear();
    if (c.settings.density.count(t.layer)) hold_zeros(*t.weights);
  }
}

void prune_added_outputs(train::Network& net, const Compress& c, int64_t from) {
  const train::Network::Trained& last = net.trained().back();
  const auto d = c.settings.density.find(last.layer);
  if (d == c.settings.density.end()) return;
  train::Param& w = *last.weights;
  const auto inputs = static_cast<size_t>(w.shape.front()), outputs = w.value.size() / inputs;
  for (auto n = static_cast<size_t>(from); n < outputs; ++n) {
    std::vector<float> column(inputs);
    for (size_t k = 0; k < inputs; ++k) column[k] = w.value[k * outputs + n];
    column = compiler::prune(std::move(column), d->second);
    for (size_t k = 0; k < inputs; ++k) w.value[k * outputs + n] = column[k];
  }
  hold_zeros(w);
}

std::vector<float> nearest_values(const std::vector<float>& weights, const std::vector<float>& codebook) {
  std::vector<float> out(weights.size(), 0.0f);
  if (codebook.size() < 2) return out;
  assert(std::is_sorted(codebook.begin() + 1, codebook.end()));
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0) continue;
    // codebook[1..] ascending: the first value not below the weight, or the one before it.
    const auto hi = std::lower_bound(codebook.begin() + 1, codebook.end(), weights[i]);
    if (hi == codebook.end())
      out[i] = codebook.back();
    else if (hi == codebook.begin() + 1)
      out[i] = *hi;
    else
      out[i] = weights[i] - *(hi - 1) <= *hi - weights[i] ? *(hi - 1) : *hi;
  }
  return out;
}

train::LayerKeys share_for_deployment(train::Network& net, const Compress& c, Codebooks& codebooks, uint64_t seed) {
  train::LayerKeys keys;
  for (const train::Network::Trained& t : net.trained()) {
    const auto b = c.settings.bits.find(t.layer);
    if (b == c.settings.bits.end()) continue;
    std::vector<float>& w = t.weights->value;
    const auto kept = codebooks.find(t.layer);
    if (c.codebooks == "frozen" && kept != codebooks.end()) {
      w = nearest_values(w, kept->second);
    } else {
      const compiler::SharedWeights s = compiler::share_weights(w, (1 << b->second) - 1, c.settings.init, seed);
      for (size_t i = 0; i < w.size(); ++i) w[i] = s.codebook[s.indices[i]];
      codebooks[t.layer] = s.codebook;
    }
    keys[t.layer] = train::sparse_engine_keys(*t.weights, b->second);
  }
  return keys;
}

std::vector<std::vector<float>> weights_of(const train::Network& net) {
  std::vector<std::vector<float>> w;
  for (const train::Network::Trained& t : net.trained()) w.push_back(t.weights->value);
  return w;
}

void set_weights(train::Network& net, const std::vector<std::vector<float>>& weights) {
  for (size_t i = 0; i < weights.size(); ++i) net.trained()[i].weights->value = weights[i];
}

}  // namespace tpu::continual
