#pragma once

// A compiled program classifying a data set on the simulated chip: each batch
// of images (pixels / 255) quantized as the program's input tensor says, run
// on the chip (one child process a batch; sim/top/isolated_run.h), each
// image's class the argmax of its int8 output row (ties to the lower class).

#include <cstdint>
#include <vector>

#include "isa/program.h"
#include "sim/base/params.h"
#include "tools/train/fashion_mnist.h"

namespace tpu::train {

struct ChipAccuracy {
  int64_t images = 0, correct = 0;
  std::vector<uint8_t> predictions;  // per image
  int64_t runs = 0;
  double latency_us = 0;                  // of a run (a batch), the mean
  double energy_uj = 0, weight_bytes = 0;  // per inference
  double accuracy() const { return images ? double(correct) / double(images) : 0; }
};

// The first `images` of `data` (0: all). Throws compiler::ModelError when the program's one input
// does not take the data set's images or its one output is not a row of class scores per image,
// std::runtime_error when a run does not halt.
ChipAccuracy chip_accuracy(const isa::Program& program, const sim::ChipParams& chip, const Dataset& data,
                           int64_t images = 0);

}  // namespace tpu::train
