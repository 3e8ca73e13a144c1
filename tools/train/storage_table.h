#pragma once

// What Deep Compression's storage takes, layer by layer, in the shape of the
// paper's Table 2: the weights kept, bits per weight and per relative index
// with fixed widths (P+Q) and Huffman coded (P+Q+H), and the compression rate
// against the dense float32 layer (weights and biases). Every size is the size
// of the packed file's record (tools/train/packed_weights.h), so the total is
// the file's size.

#include <cstdint>
#include <string>
#include <vector>

#include "tools/train/deep_compression.h"
#include "tools/train/export.h"
#include "tools/train/packed_weights.h"

namespace tpu::train {

// The network's dense and conv2d layers as the plan stores them: a shared layer (Param::cluster)
// with its codebook at the plan's bits, any other with float32 values; each at the plan's index bits.
// `stage` (a stage's snapshot) stores its weights and biases instead, all float32.
std::vector<PackedLayer> pack_network(const Network& net, const CompressPlan& plan, const StageResult* stage = nullptr);

// The reverse: each trained layer's weights and bias from the packed layer of its name (`file`'s;
// shapes checked before anything is unpacked), and the keys that put each shared fc layer of at
// most 4 bits on the sparse engine. Throws compiler::ModelError naming the file and the layer.
LayerKeys unpack_network(Network& net, const std::vector<PackedLayer>& layers, const std::string& file);

struct StorageRow {
  std::string layer;
  uint64_t weights = 0, kept = 0;  // K N and the non-zeros
  int weight_bits = 0, index_bits = 0;
  double huffman_weight_bits = 0, huffman_index_bits = 0;  // per entry, each stream's code table included
  uint64_t entries = 0, fillers = 0;
  uint64_t dense_bytes = 0, fixed_bytes = 0, huffman_bytes = 0;  // float32; P+Q; P+Q+H
};

struct StorageTable {
  std::vector<StorageRow> rows;
  StorageRow total;  // the whole files (their headers included)
  std::vector<uint8_t> fixed_file, huffman_file;
};

StorageTable storage_table(const std::vector<PackedLayer>& layers);

}  // namespace tpu::train
