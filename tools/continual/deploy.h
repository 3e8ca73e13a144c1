#pragma once

// A model of a continual study deployed after an update (study.h): compiled
// for the study's chip (int8, calibrated on the images it was trained on), the
// test images of the classes it knows classified on the simulated chip, and
// what shipping it costs: the bytes of the program's weight DRAM and host
// memory images that differ from the previous deployment's, and the time the
// chip's host link takes to load them (an upload program of ldw instructions,
// itself run on the chip).

#include <cstdint>
#include <string>
#include <vector>

#include "isa/program.h"
#include "sim/base/params.h"
#include "tools/continual/study.h"
#include "tools/train/export.h"
#include "tools/train/network.h"

namespace tpu::continual {

struct Deployment {
  double accuracy = 0;            // on the chip
  int64_t images = 0;
  int64_t agree = -1;             // images whose scores equal the interpreter's (-1: not checked)
  std::vector<double> per_class;  // per output, on the chip
  double latency_us = 0;          // per batch, the mean
  double energy_uj = 0, dynamic_uj = 0;  // per image classified
  uint64_t weight_image_bytes = 0;       // the program's weight DRAM image
  uint64_t changed_weight_bytes = 0;     // of it, differing from the previous deployment (all: the first)
  uint64_t uploaded_bytes = 0;           // what the upload sends: changed runs less than 64 bytes apart as one
  uint64_t changed_host_bytes = 0;       // host memory (biases and requantization tables) likewise
  uint64_t upload_transfers = 0;         // the upload program's ldw instructions
  double upload_us = 0;                  // the host link loading the uploaded bytes (simulated)
  // Wall times (not deterministic: kept out of results files): compiling, the chip classifying the
  // test images, and the whole deployment.
  double compile_seconds = 0, chip_seconds = 0, deploy_seconds = 0;
  isa::Program program;                  // for the next deployment's comparison
};

// The runs of changed bytes between two memory images, as (address, bytes): every byte of `now`
// that differs from `before` (or that `before` lacks), runs closer than `gap` bytes merged.
std::vector<std::pair<uint64_t, uint64_t>> changed_runs(const isa::MemoryImage& before, const isa::MemoryImage& now,
                                                       uint64_t gap);

// A program that loads the runs of `image` into weight DRAM over the host link (one ldw a run).
isa::Program upload_program(const isa::MemoryImage& image, const std::vector<std::pair<uint64_t, uint64_t>>& runs);

// Deploys `net` (trained from the study's model) compiled in `work_dir`; `previous` is the last
// deployment (nullptr for the first), `calibration` the images to calibrate on, `test` the images
// to classify, labelled by output. With a `cache_dir`, the chip's measurement of a program on a set
// of images is kept there and reused for the same program, images and chip (every setting of a
// bootstrap deploys the same initial model first). `keys` go into the model's layers (the sparse
// engine's, for a compressed deployment).
Deployment deploy(const train::Network& net, const StudySpec& spec, const sim::ChipParams& chip,
                  const train::Dataset& calibration, const train::Dataset& test, const Deployment* previous,
                  const std::string& work_dir, const std::string& cache_dir = "", train::LayerKeys keys = {});

}  // namespace tpu::continual
