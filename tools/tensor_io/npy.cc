#include "tools/tensor_io/npy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <regex>

#include "isa/arith.h"

namespace tpu::tensor_io {

namespace {

struct Descr {
  const char* npy;
  isa::DType dtype;
};
constexpr Descr kDescrs[] = {{"|i1", isa::DType::kI8}, {"<i1", isa::DType::kI8},  {"|u1", isa::DType::kU8},
                             {"<u1", isa::DType::kU8}, {"<i2", isa::DType::kI16}, {"<i4", isa::DType::kI32},
                             {"<f4", isa::DType::kF32}};

}  // namespace

int64_t Array::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Array read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw TensorFileError(path + ": cannot open");
  const std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.size() < 10 || data.compare(0, 6, "\x93NUMPY") != 0)
    throw TensorFileError(path + ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(data[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(data[8]) | (static_cast<unsigned char>(data[9]) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12) throw TensorFileError(path + ": truncated header");
    for (int i = 0; i < 4; ++i) header_len |= size_t{static_cast<unsigned char>(data[8 + i])} << (8 * i);
    offset = 12;
  } else {
    throw TensorFileError(path + ": unsupported .npy version " + std::to_string(major));
  }
  if (offset + header_len > data.size()) throw TensorFileError(path + ": truncated header");
  const std::string header = data.substr(offset, header_len);
  std::smatch m;
  Array a;
  if (!std::regex_search(header, m, std::regex("'descr'\\s*:\\s*'([^']*)'")))
    throw TensorFileError(path + ": header has no 'descr'");
  bool known = false;
  for (const auto& d : kDescrs)
    if (m[1] == d.npy) {
      a.dtype = d.dtype;
      known = true;
    }
  if (!known)
    throw TensorFileError(path + ": element type '" + m[1].str() +
                          "' is not supported (int8, uint8, int16, int32 or float32, little-endian)");
  if (std::regex_search(header, m, std::regex("'fortran_order'\\s*:\\s*True")))
    throw TensorFileError(path + ": Fortran-ordered arrays are not supported; save with C order");
  if (!std::regex_search(header, m, std::regex("'shape'\\s*:\\s*\\(([^)]*)\\)")))
    throw TensorFileError(path + ": header has no 'shape'");
  const std::string dims = m[1];
  const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it)
    a.shape.push_back(std::stoll(it->str()));
  const size_t bytes = static_cast<size_t>(a.elements()) * isa::dtype_bytes(a.dtype);
  const size_t body = offset + header_len;
  if (data.size() - body != bytes)
    throw TensorFileError(path + ": holds " + std::to_string(data.size() - body) + " bytes of data; its shape needs " +
                          std::to_string(bytes));
  a.bytes.assign(data.begin() + static_cast<long>(body), data.end());
  return a;
}

void write_npy(const std::string& path, const Array& a) {
  // A Python tuple: (), (n,) or (a, b, ...).
  std::string shape = "(";
  for (size_t i = 0; i < a.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(a.shape[i]);
  shape += a.shape.size() == 1 ? ",)" : ")";
  const char* descr = "|i1";
  switch (a.dtype) {
    case isa::DType::kI8: descr = "|i1"; break;
    case isa::DType::kU8: descr = "|u1"; break;
    case isa::DType::kI16: descr = "<i2"; break;
    case isa::DType::kI32: descr = "<i4"; break;
    case isa::DType::kF32: descr = "<f4"; break;
  }
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(a.bytes.begin(), a.bytes.end());
  try {
    isa::write_file_atomically(path, out);
  } catch (const isa::ProgramError& e) {
    throw TensorFileError(e.what());
  }
}

std::vector<uint8_t> tensor_bytes(const Array& a, const isa::TensorDesc& t, const std::string& path) {
  if (a.elements() != t.elements())
    throw TensorFileError(path + ": " + std::to_string(a.elements()) + " elements; tensor '" + t.name + "' has " +
                          std::to_string(t.elements()));
  if (a.dtype == t.dtype) return a.bytes;
  if (a.dtype == isa::DType::kF32 && (t.dtype == isa::DType::kI8 || t.dtype == isa::DType::kU8)) {
    std::vector<uint8_t> out(static_cast<size_t>(a.elements()));
    for (size_t i = 0; i < out.size(); ++i) {
      float v;
      std::memcpy(&v, a.bytes.data() + 4 * i, 4);
      if (!std::isfinite(v))
        throw TensorFileError(path + ": element " + std::to_string(i) + " is not a finite number; tensor '" + t.name +
                              "' quantizes finite values only");
      const int64_t q = isa::arith::quantize(v, t.scale, t.zero_point);
      out[i] = t.dtype == isa::DType::kI8 ? static_cast<uint8_t>(isa::arith::sat8(q))
                                          : static_cast<uint8_t>(std::clamp<int64_t>(q, 0, 255));
    }
    return out;
  }
  throw TensorFileError(path + ": element type " + std::string(isa::to_string(a.dtype)) + " does not fit tensor '" +
                        t.name + "' of " + std::string(isa::to_string(t.dtype)) +
                        " (give that type, or float32 to quantize)");
}

}  // namespace tpu::tensor_io
