#pragma once

// ONNX TensorProto files (.pb, the layout of ONNX's test data) for tensors
// going into and out of the chip. ONNX orders images N, C, H, W (or N, C, L)
// and the chip N, H, W, C (or N, 1, L, C): a tensor the chip holds as an image
// is transposed on the way in and on the way out.

#include <string>

#include "tools/tensor_io/npy.h"

namespace tpu::tensor_io {

bool is_onnx_pb(const std::string& path);

// In the chip's order for a tensor of `chip_shape`; throws TensorFileError
// naming the file and the problem.
Array read_onnx_pb(const std::string& path, const std::vector<int64_t>& chip_shape);
// `a` in the chip's order; written in ONNX's.
void write_onnx_pb(const std::string& path, const Array& a);

}  // namespace tpu::tensor_io
