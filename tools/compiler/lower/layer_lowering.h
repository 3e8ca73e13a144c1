#pragma once

// The layer lowerings, one family per file behind one interface: each turns
// the layers it handles into instructions through the ProgramBuilder.
//   matrix_layers.cc  dense and conv2d (and average pools that divide by their
//                     taps inside the image, which run as depthwise convolutions)
//   pooling.cc        max, average and global average pooling
//   vector_layers.cc  element-wise layers (add, mul, activation), concat, token,
//                     zeros: the vector unit's work, which with dense gates makes
//                     the LSTM cells
//   host_layers.cc    steps the host computes (softmax, layer normalization),
//                     constants, and attention's matmul of two activations
//   sparse_layers.cc  dense layers compressed for the sparse engine (spmv)

#include <memory>
#include <vector>

#include "tools/compiler/lower/builder.h"

namespace tpu::compiler {

class LayerLowering {
 public:
  virtual ~LayerLowering() = default;
  virtual bool handles(const Layer& l) const = 0;
  // Emits the instructions of layer `layer` of b.g.
  virtual void lower(ProgramBuilder& b, int layer) const = 0;
};

std::unique_ptr<LayerLowering> matrix_layers();
std::unique_ptr<LayerLowering> pooling_layers();
std::unique_ptr<LayerLowering> vector_layers();
std::unique_ptr<LayerLowering> host_layers();
std::unique_ptr<LayerLowering> sparse_layers();

// The family that handles `l`, or null for a layer that emits nothing (the input, which the
// driver transfers, and a flatten, which shares its input's bytes); throws for any other layer
// no family handles.
const LayerLowering* lowering_for(const Layer& l);

}  // namespace tpu::compiler
