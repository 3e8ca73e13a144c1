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
std::vector<uint8_t> transpose(const std::vector<uint8_t>& in, const std::vector<int64_t>& nchw, size_t size,
                               bool from_nchw) {
  std::vector<uint8_t> out(in.size());
  for_each_nchw_nhwc(nchw, [&](size_t a, size_t b) {
    if (from_nchw)
      std::memcpy(&out[b * size], &in[a * size], size);
    else
      std::memcpy(&out[a * size], &in[b * size], size);
  });
  return out;
}

}  // namespace

bool is_onnx_pb(const std::string& path) { return path.size() > 3 && path.compare(path.size() - 3, 3, ".pb") == 0; }

ProtoValues decode_tensor_proto(const onnx::TensorProto& t, const std::string& where) {
  ProtoValues v;
  v.data_type = t.data_type();
  switch (t.data_type()) {
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8: v.element_bytes = 1; break;
    case onnx::TensorProto::INT16: v.element_bytes = 2; break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::FLOAT: v.element_bytes = 4; break;
    case onnx::TensorProto::INT64: v.element_bytes = 8; break;
    default:
      throw TensorFileError(where + "element type " + std::to_string(t.data_type()) +
                            " is not supported (int8, uint8, int16, int32, int64 or float32)");
  }
  v.dims.assign(t.dims().begin(), t.dims().end());
  int64_t count = 1;
  for (int64_t d : v.dims) {
    if (d < 0 || (d > 0 && count > (int64_t{1} << 31) / d))
      throw TensorFileError(where + "the dimensions are negative or hold more than 2^31 elements");
    count *= d;
  }
  const size_t n = static_cast<size_t>(count), size = v.element_bytes;
  if (t.has_raw_data()) {
    v.bytes.assign(t.raw_data().begin(), t.raw_data().end());
  } else {
    // Typed fields: float_data for float32, int64_data for int64, int32_data (one element each) for the others.
    const bool f32 = t.data_type() == onnx::TensorProto::FLOAT, i64 = t.data_type() == onnx::TensorProto::INT64;
    const size_t given = f32   ? static_cast<size_t>(t.float_data_size())
                         : i64 ? static_cast<size_t>(t.int64_data_size())
                               : static_cast<size_t>(t.int32_data_size());
    if (given != n)
      throw TensorFileError(where + std::to_string(given) + " values for " + std::to_string(n) + " elements");
    for (size_t i = 0; i < n; ++i) {
      uint64_t bits;
      if (f32) {
        const float f = t.float_data(static_cast<int>(i));
        uint32_t b32;
        std::memcpy(&b32, &f, 4);
        bits = b32;
      } else {
        bits = i64 ? static_cast<uint64_t>(t.int64_data(static_cast<int>(i)))
                   : static_cast<uint64_t>(static_cast<int64_t>(t.int32_data(static_cast<int>(i))));
      }
      for (size_t k = 0; k < size; ++k) v.bytes.push_back(static_cast<uint8_t>(bits >> (8 * k)));
    }
  }
  if (v.bytes.size() != n * size)
    throw TensorFileError(where + std::to_string(v.bytes.size()) + " data bytes for " + std::to_string(n) +
                          " elements of " + std::to_string(size) + " bytes");
  return v;
}

Array read_onnx_pb(const std::string& path, const std::vector<int64_t>& chip_shape) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TensorFileError(path + ": cannot open");
  onnx::TensorProto t;
  if (!t.ParseFromIstream(&f)) throw TensorFileError(path + ": not an ONNX TensorProto");
  const Kind* kind = nullptr;
  for (const Kind& k : kKinds)
    if (k.onnx == t.data_type()) kind = &k;
  if (!kind)
    throw TensorFileError(path + ": element type " + std::to_string(t.data_type()) +
                          " is not one the chip takes (int8, uint8, int16, int32 or float32)");
  ProtoValues v = decode_tensor_proto(t, path + ": ");
  Array a;
  a.dtype = kind->dtype;
  a.shape = std::move(v.dims);
  a.bytes = std::move(v.bytes);
  if (chip_shape.size() == 4 && (a.shape.size() == 3 || a.shape.size() == 4)) {
    const std::vector<int64_t> nchw = as_nchw(a.shape);
    a.bytes = transpose(a.bytes, nchw, v.element_bytes, true);
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
