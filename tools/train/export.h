#pragma once

// A trained network as the compiler reads it: each dense and conv2d layer's
// weights and bias as float32 .npy files, and the model's own YAML with
// `weights` and `bias` naming them and a note saying how it was trained.

#include <string>

#include "tools/train/network.h"

namespace tpu::train {

// Writes OUT_DIR/<layer>.weights.npy, OUT_DIR/<layer>.bias.npy and OUT_DIR/model.yaml (from the
// model file `model`); returns the path of the model.yaml.
std::string write_trained_model(const std::string& model, const Network& net, const std::string& note,
                                const std::string& out_dir);

}  // namespace tpu::train
