#pragma once

// Deep Compression's training stages (Han, Mao and Dally, ICLR 2016) on a
// trained network: iterative pruning by magnitude to each layer's density,
// each round followed by retraining with the pruned weights held at zero;
// then weight sharing by k-means per layer (2^bits - 1 values and the zero)
// and fine-tuning of the shared values. The test accuracy after each stage.
//
// The plan file (`tpusim compress --plan PLAN.yaml`):
//   train: {epochs: 20, ...}     # how the float model trains first (trainer.h's keys); with
//                                # `train: none`, the model's own weights (a trained model.yaml)
//   prune: {rounds: 3, retrain_epochs: 5, density: {fc1: 0.08, fc2: 0.09, fc3: 0.26}}
//   quantize: {bits: {fc1: 4, fc2: 4, fc3: 4}, init: linear, finetune_epochs: 3, finetune_lr: 0.001}
//                                # init: linear, density or random (compiler/compress.h)
// Layers a map leaves out are not pruned (density 1) or not shared. Retraining uses the train
// section's recipe; fine-tuning its own rate (a centroid moves by its weights' summed gradients).

#include <map>
#include <string>
#include <vector>

#include "tools/compiler/compress.h"
#include "tools/train/trainer.h"

namespace tpu::train {

struct CompressPlan {
  bool train_first = true;
  TrainConfig train;
  int64_t rounds = 3, retrain_epochs = 5;
  std::map<std::string, double> density;
  std::map<std::string, int> bits;
  compiler::CentroidInit init = compiler::CentroidInit::kLinear;
  int64_t finetune_epochs = 3;
  double finetune_lr = 1e-3;
};

// Throws compiler::ModelError naming the file, line and key; a layer the plan names must be a
// dense or conv2d layer of `graph`.
CompressPlan load_plan(const std::string& path, const compiler::Graph& graph);

// The density of pruning round r (from 1) of `rounds` toward `target`: target^(r / rounds), so each
// round keeps the same share of what the one before kept.
double round_density(double target, int64_t round, int64_t rounds);

struct StageResult {
  std::string stage;  // "float", "pruned", "quantized", "fine-tuned"
  double test_accuracy = 0;
};

// Runs the plan's stages on `net` (trained first if the plan says so); returns each stage's accuracy.
std::vector<StageResult> deep_compress(Network& net, const CompressPlan& plan, const Dataset& train,
                                       const Dataset& test, const Progress& progress = {});

}  // namespace tpu::train
