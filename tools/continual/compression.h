#pragma once

// A continual study's compressed deployments (study.h, `compress:`): the
// initial model through the plan's Deep Compression stages, the host's float
// weights between updates (pruned zeros held), and the weights each deployment
// ships, shared again by re-clustering or by the codebooks before.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tools/continual/study.h"
#include "tools/train/export.h"
#include "tools/train/network.h"

namespace tpu::continual {

// The plan's pruning rounds (retrained) and weight sharing (fine-tuned) on the trained initial
// model, at the study's initial recipe from `seed`, on the initial images.
void compress_initial(train::Network& net, const StudySpec& spec, uint64_t seed, const train::Dataset& initial);

// The host's float weights of a compressed model: each pruned layer's zeros held (its mask), the
// shared values released to train one by one.
void hold_pruned(train::Network& net, const Compress& c);

// After the update that added them: the last layer's outputs from `from` on, each pruned to the
// layer's density by magnitude among its own weights, then their zeros held too. (Pruning the whole
// layer again would prune a new output away: its weights are young and small.)
void prune_added_outputs(train::Network& net, const Compress& c, int64_t from);

// Each shared layer's codebook (entry 0 the zero), by layer.
using Codebooks = std::map<std::string, std::vector<float>>;

// The weights of `codebook` nearest to each of `weights` (ties to the lower; a zero stays zero).
std::vector<float> nearest_values(const std::vector<float>& weights, const std::vector<float>& codebook);

// Replaces each shared layer's weights by its shared values for a deployment: re-clustered from the
// plan's init (seeded by `seed`), or, with frozen codebooks and a codebook in `codebooks`, each moved
// to its nearest value there. `codebooks` gets the codebooks used. Returns the layer keys that put
// the shared layers on the sparse engine (train::sparse_engine_keys).
train::LayerKeys share_for_deployment(train::Network& net, const Compress& c, Codebooks& codebooks, uint64_t seed);

// Every trained layer's weights, and putting them back.
std::vector<std::vector<float>> weights_of(const train::Network& net);
void set_weights(train::Network& net, const std::vector<std::vector<float>>& weights);

}  // namespace tpu::continual
