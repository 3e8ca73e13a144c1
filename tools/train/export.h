#pragma once

// A trained network as the compiler reads it: each dense and conv2d layer's
// weights and bias as float32 .npy files, and the model's own YAML with
// `weights` and `bias` naming them and a note saying how it was trained.

#include <map>
#include <string>

#include "tools/train/fashion_mnist.h"
#include "tools/train/network.h"

namespace tpu::train {

// Writes OUT_DIR/<layer>.weights.npy, OUT_DIR/<layer>.bias.npy and OUT_DIR/model.yaml (from the
// model file `model`, with each layer's `extra` keys set too); returns the path of the model.yaml.
using LayerKeys = std::map<std::string, std::map<std::string, std::string>>;
std::string write_trained_model(const std::string& model, const Network& net, const std::string& note,
                                const std::string& out_dir, const LayerKeys& extra = {});

// OUT_DIR/calibration.npy: the first `images` training images as the network takes them (float32,
// [images, ...input shape], pixels / 255), for `tpusim compile --calibrate`.
std::string write_calibration(const Network& net, const Dataset& train, int64_t images, const std::string& out_dir);

// The keys that put a pruned and shared dense layer on the sparse engine with exactly its weights:
// `engine: sparse`, the density its non-zeros make (so the compiler's pruning keeps them all) and
// its bits (at most 4, the engine's indices; so its sharing keeps the values). Empty for a layer
// the engine cannot take so.
std::map<std::string, std::string> sparse_engine_keys(const Param& weights, int bits);

}  // namespace tpu::train
