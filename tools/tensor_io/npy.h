#pragma once

// NumPy .npy files (format versions 1 and 2, little-endian, C order) for
// tensors going into and out of the chip.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "isa/program.h"

namespace tpu::tensor_io {

class TensorFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Array {
  isa::DType dtype = isa::DType::kI8;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // little-endian elements
  int64_t elements() const;
};

// Throws TensorFileError naming the file and the problem.
Array read_npy(const std::string& path);
void write_npy(const std::string& path, const Array& a);

// The bytes an input tensor takes from an array: int8/uint8 as they are (the
// shape must match), float32 quantized with the tensor's scale and zero point.
std::vector<uint8_t> tensor_bytes(const Array& a, const isa::TensorDesc& t, const std::string& path);

}  // namespace tpu::tensor_io
