#pragma once

// A compiled program classifying a data set on the simulated chip: each batch
// of images (pixels / 255) quantized as the program's input tensor says, run
// on the chip (one child process a batch; sim/top/isolated_run.h), each
// image's class the argmax of its int8 output row (ties to the lower class).

#include <cstdint>
#include <vector>

#include "isa/program.h"
#include "sim/base/params.h"
#include "tools/compiler/quantize.h"
#include "tools/train/fashion_mnist.h"

namespace tpu::train {

struct ChipAccuracy {
  int64_t images = 0, correct = 0;
  std::vector<uint8_t> predictions;  // per image
  std::vector<int8_t> outputs;       // per image, its row of class scores
  int64_t ties = 0;                  // images whose highest score more than one class has
  int64_t runs = 0;
  double latency_us = 0;  // of a run (a batch), the mean
  // Per image classified: a short last batch's blank images cost the chip too, and count here.
  double energy_uj = 0, dynamic_uj = 0, weight_bytes = 0;  // energy_uj includes the static
  double accuracy() const { return images ? double(correct) / double(images) : 0; }
};

// The first `images` of `data` (0: all). Throws compiler::ModelError when the program's one input
// does not take the data set's images or its one output is not a row of class scores per image,
// std::runtime_error when a run does not halt.
ChipAccuracy chip_accuracy(const isa::Program& program, const sim::ChipParams& chip, const Dataset& data,
                           int64_t images = 0);

// The reference interpreter's rows of class scores for the same images in the same batches (each
// batch of the graph's, a short last one filled with blank images), to compare with the chip's.
std::vector<int8_t> interpreter_outputs(const compiler::QGraph& graph, const Dataset& data, int64_t images);

}  // namespace tpu::train
