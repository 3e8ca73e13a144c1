#pragma once

// The Deep Compression report (`tpusim report deep-compression` ->
// reports/deep_compression.md): for each network (models/NAME.yaml, its plan
// configs/compress/NAME.yaml) it trains on Fashion-MNIST, measures each
// layer's sensitivity to pruning, prunes, shares and fine-tunes by the plan,
// packs the weights (tools/train/packed_weights.h) into the paper's Table 2,
// sweeps the bits of conv and fc layers, and deploys the float model int8 on
// the matrix unit and the compressed one with its fc layers on the sparse
// engine, classifying the test set on the simulated chip beside the
// reference interpreter.

#include <cstdint>
#include <string>
#include <vector>

#include "tools/report/plot.h"
#include "tools/train/chip_accuracy.h"
#include "tools/train/deep_compression.h"
#include "tools/train/storage_table.h"

namespace tpu::train {

// The anchors the issue measured with PyTorch on this machine (the same recipe, one run each) and
// the targets; the paper's MNIST figures (Han et al., Table 1: 40x and 39x) for comparison. PyTorch's
// own spread: the same recipe in PyTorch 1.13.1 (Debian's python3-torch, OpenBLAS, one thread) on
// this machine from torch.manual_seed 1 to 8 (LeNet-300-100) and 1 to 3 (LeNet-5), the means.
struct DcTarget {
  const char* network;
  double anchor_final, anchor_mean;  // test accuracy after 20 epochs; averaged over 16-20 (0: none given)
  double ratio;                      // at least this compression against dense float32
  double loss_points;                // at most this accuracy lost against the float model
  double paper_ratio;                // Deep Compression on MNIST
  double pytorch_final, pytorch_mean;  // PyTorch's seeds: the means of the same two figures
  int pytorch_seeds;
};
// The per-seed figures (percent, to two places): LeNet-300-100 87.18 88.58 87.87 87.99 87.98 87.97
// 88.20 87.25 after the last epoch, 87.44 88.29 87.87 88.21 88.08 88.16 88.25 87.76 over 16-20;
// LeNet-5 89.98 90.84 89.95, and 90.02 90.32 90.01.
inline constexpr DcTarget kDcTargets[] = {
    {"lenet_300_100", 0.891, 0.882, 45, 0.3, 40, 7.0302 / 8, 7.0406 / 8, 8},
    {"lenet5", 0.902, 0, 40, 0.5, 39, 2.7077 / 3, 2.7035 / 3, 3}};
// PyTorch's means are of figures rounded to 0.01 points: a mean this close to one is equal to it.
inline constexpr double kPytorchRounding = 0.00005;

struct DcReportOptions {
  std::string source = ".";  // the checkout: models/, configs/
  std::vector<std::string> networks = {"lenet_300_100", "lenet5"};
  std::string data = kFashionMnistDir;
  std::string work = "build/deep_compression";  // the deployed models and programs
  std::string charts_folder = "deep_compression";
  std::string dense_chip = "configs/tpu_v1.yaml", sparse_chip = "configs/eie.yaml";
  int64_t chip_batch = 100, chip_images = 0;  // 0: the whole test set
  std::vector<int> bits = {2, 3, 4, 5, 6, 7, 8};  // the bits sweep
  // The float training alone from each seed, on the whole training set as the anchors trained (the
  // compressed model's float model holds its plan's validation images out).
  std::vector<uint64_t> anchor_seeds = {1, 2, 3};
  // A short run (tests): when set, these replace the plans' own.
  int64_t train_images = 0, test_images = 0, epochs = 0, retrain_epochs = -1, finetune_epochs = -1;
};

struct ChipRun {
  std::string chip;  // the config file
  ChipAccuracy accuracy;
  int64_t agree = 0;  // images whose scores equal the reference interpreter's, every one
  uint64_t tiles = 0;  // weight tiles the matrix unit fetches per batch (the compile report's)
  double float_accuracy = 0;  // the float network's on the same images
};

struct BitsPoint {
  std::string kind;  // "conv" or "fc"
  bool pruned = false;
  int bits = 0;
  double accuracy = 0;
};

struct DcNetwork {
  std::string name, model, plan;
  CompressPlan settings;
  CompressionResult result;
  StorageTable table;         // the fine-tuned network's storage
  uint64_t pruned_bytes = 0;  // the pruned network stored with float32 values
  std::vector<uint8_t> pruned_file;
  std::vector<BitsPoint> bits;
  std::string choice_images;  // what the sensitivity and the bits sweep measure: "validation" or "test"
  std::string histogram_layer;  // the layer with the most weights
  std::vector<std::vector<EpochLog>> seed_logs;  // training alone from each of anchor_seeds
  ChipRun dense, compressed;
  double float_accuracy() const { return result.stages.front().test_accuracy; }
  double final_accuracy() const { return result.stages.back().test_accuracy; }
};

struct DcReport {
  int64_t train_count = 0, test_count = 0;  // the data set's images
  std::vector<DcNetwork> networks;
  std::vector<report::Chart> charts;
  std::string markdown;
};

DcReport deep_compression_report(const DcReportOptions& options);

// Table 2's text for one network (the report's section, which its test rebuilds from the packed file).
std::string storage_table_text(const StorageTable& table);

// The report's text and charts from its runs (dc_report_text.cc).
void write_dc_text(const DcReportOptions& options, DcReport& report);

}  // namespace tpu::train
