#pragma once

// ONNX TensorProto files (.pb, the layout of ONNX's test data) for tensors
// going into and out of the chip. ONNX orders images N, C, H, W and the chip
// N, H, W, C: a 4-D tensor is transposed on the way in and on the way out.

#include <string>

#include "tools/tensor_io/npy.h"

namespace tpu::tensor_io {

bool is_onnx_pb(const std::string& path);

// In the chip's order; throws TensorFileError naming the file and the problem.
Array read_onnx_pb(const std::string& path);
// `a` in the chip's order; written in ONNX's.
void write_onnx_pb(const std::string& path, const Array& a);

}  // namespace tpu::tensor_io
