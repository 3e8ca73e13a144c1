#pragma once

// ONNX TensorProto files (.pb, the layout of ONNX's test data) for tensors
// going into and out of the chip. ONNX orders images N, C, H, W (or N, C, L)
// and the chip N, H, W, C (or N, 1, L, C): a tensor the chip holds as an image
// is transposed on the way in and on the way out.

#include <string>

#include "tools/tensor_io/npy.h"

namespace onnx {
class TensorProto;
}

namespace tpu::tensor_io {

// The values of a TensorProto as little-endian bytes, from raw_data or its
// typed fields, for int8, uint8, int16, int32, int64 and float32.
struct ProtoValues {
  int data_type = 0;  // onnx::TensorProto::DataType
  std::vector<int64_t> dims;
  size_t element_bytes = 1;
  std::vector<uint8_t> bytes;
};
// Checks the dims and that exactly one value per element is present; throws
// TensorFileError starting with `where`.
ProtoValues decode_tensor_proto(const onnx::TensorProto& t, const std::string& where);

bool is_onnx_pb(const std::string& path);

// In the chip's order for a tensor of `chip_shape`; throws TensorFileError
// naming the file and the problem.
Array read_onnx_pb(const std::string& path, const std::vector<int64_t>& chip_shape);
// `a` in the chip's order; written in ONNX's.
void write_onnx_pb(const std::string& path, const Array& a);

}  // namespace tpu::tensor_io
