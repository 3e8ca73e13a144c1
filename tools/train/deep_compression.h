#pragma once

// Deep Compression's training stages (Han, Mao and Dally, ICLR 2016) on a
// trained network: iterative pruning by magnitude to each layer's density,
// each round followed by retraining with the pruned weights held at zero;
// then weight sharing by k-means per layer (2^bits - 1 values and the zero)
// and fine-tuning of the shared values. The test accuracy after each stage.
// The sensitivity analysis measures on the validation images the train
// section holds out of the training set (`validation_images`), so its
// proposals never see the test set; without them, on the test images, and
// the result says so.
//
// The plan file (`tpusim compress --plan PLAN.yaml`):
//   train: {epochs: 20, ...}     # how the float model trains first (trainer.h's keys); with
//                                # `train: none`, the model's own weights (a trained model.yaml)
//   sensitivity: {densities: [0.05, 0.1, 0.2, 0.5], budget: 0.5, images: 0}
//                                # optional: accuracy with each layer alone pruned to each density
//                                # (no retraining); proposes per layer the lowest density within
//                                # `budget` points of the float model, used where prune.density is absent;
//                                # over the first `images` (0: all) of the images choices are measured on
//   prune: {rounds: 3, retrain_epochs: 5, density: {fc1: 0.08, fc2: 0.09, fc3: 0.26}}
//                                # also retrain_lr and retrain_schedule (constant, or cosine over each
//                                # round's epochs); the train section's by default
//   quantize: {bits: {conv: 8, fc: 5, fc3: 6}, init: linear, finetune_epochs: 3, finetune_lr: 0.001}
//                                # init: linear, density or random (compiler/compress.h)
//   storage: {index_bits: {conv: 8, fc: 5}}   # relative index widths (these are the defaults)
// A map's keys are layer names, or `conv` and `fc` for every conv2d or dense layer without its own
// entry. Layers a map leaves out are not pruned (density 1) or not shared. Retraining uses the
// train section's recipe; fine-tuning its own rate (a centroid moves by its weights' summed gradients).

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
  double retrain_lr = 0;             // 0: the train section's
  std::string retrain_schedule;      // "": the train section's; constant or cosine (over each round's epochs)
  std::map<std::string, double> density;
  std::map<std::string, int> bits;
  compiler::CentroidInit init = compiler::CentroidInit::kLinear;
  int64_t finetune_epochs = 3;
  double finetune_lr = 1e-3;
  std::map<std::string, int> index_bits;  // every dense and conv2d layer
  bool sensitivity = false;
  std::vector<double> sensitivity_densities = {0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7};
  double sensitivity_budget = 0.5;  // accuracy points
  int64_t sensitivity_images = 0;   // 0: all the images choices are measured on
};

// Throws compiler::ModelError naming the file, line and key; a layer the plan names must be a
// dense or conv2d layer of `graph`.
CompressPlan load_plan(const std::string& path, const compiler::Graph& graph);

// The density of pruning round r (from 1) of `rounds` toward `target`: target^(r / rounds), so each
// round keeps the same share of what the one before kept.
double round_density(double target, int64_t round, int64_t rounds);

// The images the sensitivity analysis (and the report's bits sweep) measure on: the validation images
// the train section holds out of the training set, or, when it holds none out, the test images; the
// first `limit` of them (0: all).
ImageRange choice_images(const TrainConfig& c, const Dataset& train, const Dataset& test, int64_t limit = 0);

struct StageResult {
  std::string stage;  // "float", "pruned", "quantized", "fine-tuned"
  double test_accuracy = 0;
  double validation_accuracy = -1;  // -1: no images held out
  std::vector<std::vector<float>> weights, biases;  // each trained layer's after the stage
};

// Sensitivity of each layer to pruning: the accuracy with it alone pruned to each density.
struct SensitivityPoint {
  std::string layer;
  double density = 1, accuracy = 0;
};
std::vector<SensitivityPoint> sensitivity(Network& net, const std::vector<double>& densities,
                                          const ImageRange& images);
// Per layer, the lowest density whose accuracy is within `budget` points (of 100) of `baseline`
// (1 where none is).
std::map<std::string, double> propose_densities(const std::vector<SensitivityPoint>& points, double baseline,
                                                double budget);

struct CompressionResult {
  std::vector<StageResult> stages;
  struct Epoch {
    std::string phase;  // "train", "retrain 1".. (each pruning round), "fine-tune"
    EpochLog log;
  };
  std::vector<Epoch> epochs;
  std::vector<SensitivityPoint> sensitivity;  // when the plan asks for it
  std::string sensitivity_images;             // what it measured: "validation" or "test"
  int64_t sensitivity_count = 0;              // how many of them
  double sensitivity_baseline = 0;            // the float model's accuracy on the same images
  std::map<std::string, double> proposed;     // propose_densities' answer
  std::map<std::string, double> density;     // the densities pruned to (the plan's, or proposed)
};

// Runs the plan's stages on `net` (trained first if the plan says so): each stage's accuracy and weights.
CompressionResult deep_compress(Network& net, const CompressPlan& plan, const Dataset& train,
                                       const Dataset& test, const Progress& progress = {});

}  // namespace tpu::train
