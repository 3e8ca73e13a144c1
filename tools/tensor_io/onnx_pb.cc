#include "tools/tensor_io/onnx_pb.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <utility>

#include "isa/program.h"
#include "tools/tensor_io/layout.h"

namespace tpu::tensor_io {

namespace {

struct Kind {
  int onnx;
  isa::DType dtype;
};
constexpr Kind kKinds[] = {{onnx::TensorProto::INT8, isa::DType::kI8},
                           {onnx::TensorProto::UINT8, isa::DType::kU8},
                           {onnx::TensorProto::INT16, isa::DType::kI16},
                           {onnx::TensorProto::INT32, isa::DType::kI32},
                           {onnx::TensorProto::FLOAT, isa::DType::kF32}};

// Moves elements of `size` bytes between N, C, H, W (`from_nchw`: from) and N, H, W, C.
std::vector<uint8_t> transpose(const std::vector<uint8_t>& in, const std::vector<int64_t>& nchw, size_t size, bool from_nchw) {
  std::vector<uint8_t> out(in.size());
  for_each_nchw_nhwc(nchw, [&](size_t a, size_t b) {
    if (from_nchw) std::memcpy(&out[b * size], &in[a * size], size);
    else std::memcpy(&out[a * size], &in[b * size], size);
  });
  return out;
}

}  // namespace

bool is_onnx_pb(const std::string& path) { return path.size() > 3 && path.compare(path.size() - 3, 3, ".pb") == 0; }

Array read_onnx_pb(const std::string& path, const std::vector<int64_t>& chip_shape) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TensorFileError(path + ": cannot open");
  onnx::TensorProto t;
  if (!t.ParseFromIstream(&f)) throw TensorFileError(path + ": not an ONNX TensorProto");
  Array a;
  const Kind* kind = nullptr;
  for (const Kind& k : kKinds)
    if (k.onnx == t.data_type()) kind = &k;
  if (!kind)
    throw TensorFileError(path + ": element type " + std::to_string(t.data_type()) +
                          " is not one the chip takes (int8, uint8, int16, int32 or float32)");
  a.dtype = kind->dtype;
  a.shape.assign(t.dims().begin(), t.dims().end());
  int64_t count = 1;
  for (int64_t d : a.shape) {
    if (d < 0 || (d > 0 && count > (int64_t{1} << 31) / d))
      throw TensorFileError(path + ": the dimensions are negative or hold more than 2^31 elements");
    count *= d;
  }
  const size_t size = isa::dtype_bytes(a.dtype), n = static_cast<size_t>(a.elements());
  if (t.has_raw_data()) {
    a.bytes.assign(t.raw_data().begin(), t.raw_data().end());
  } else {
    // Typed fields: float_data for float32, int32_data (one element each) for the integers.
    const size_t count = a.dtype == isa::DType::kF32 ? static_cast<size_t>(t.float_data_size())
                                                     : static_cast<size_t>(t.int32_data_size());
    if (count != n) throw TensorFileError(path + ": " + std::to_string(count) + " values for " + std::to_string(n) + " elements");
    for (size_t i = 0; i < n; ++i) {
      uint32_t bits;
      if (a.dtype == isa::DType::kF32) {
        const float v = t.float_data(static_cast<int>(i));
        std::memcpy(&bits, &v, 4);
      } else {
        bits = static_cast<uint32_t>(t.int32_data(static_cast<int>(i)));
      }
      for (size_t k = 0; k < size; ++k) a.bytes.push_back(static_cast<uint8_t>(bits >> (8 * k)));
    }
  }
  if (a.bytes.size() != n * size)
    throw TensorFileError(path + ": " + std::to_string(a.bytes.size()) + " data bytes for " + std::to_string(n) +
                          " elements of " + std::string(isa::to_string(a.dtype)));
  if (chip_shape.size() == 4 && (a.shape.size() == 3 || a.shape.size() == 4)) {
    const std::vector<int64_t> nchw = as_nchw(a.shape);
    a.bytes = transpose(a.bytes, nchw, size, true);
    a.shape = {nchw[0], nchw[2], nchw[3], nchw[1]};
  }
  return a;
}

void write_onnx_pb(const std::string& path, const Array& a) {
  onnx::TensorProto t;
  for (const Kind& k : kKinds)
    if (k.dtype == a.dtype) t.set_data_type(k.onnx);
  std::vector<int64_t> dims = a.shape;
  std::vector<uint8_t> bytes = a.bytes;
  if (dims.size() == 4) {
    dims = {a.shape[0], a.shape[3], a.shape[1], a.shape[2]};
    bytes = transpose(a.bytes, dims, isa::dtype_bytes(a.dtype), false);
  }
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(bytes.begin(), bytes.end()));
  std::string out;
  if (!t.SerializeToString(&out)) throw TensorFileError(path + ": cannot encode the tensor");
  isa::write_file_atomically(path, out);
}

}  // namespace tpu::tensor_io
