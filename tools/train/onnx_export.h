#pragma once

// A trained network as an ONNX model (opset 13, float32 NCHW, the layout
// PyTorch exports): Gemm, Conv, MaxPool, AveragePool, Flatten and Relu nodes with
// the weights as initializers, reordered from the compiler's layouts (conv2d
// [kh][kw][Cin][Cout] to [Cout][Cin][kh][kw]; a dense layer after a flattened
// image has its rows in ONNX's C, H, W order). The model passes the ONNX
// checker, and the project's importer (compiler/onnx_import.h) reads it back
// to the same network.

#include <string>

#include "tools/compiler/graph.h"
#include "tools/train/network.h"

namespace tpu::train {

// Throws compiler::ModelError for a layer it has no node for or a file it cannot write.
void write_onnx(const Network& net, const compiler::Graph& graph, const std::string& path);

}  // namespace tpu::train
