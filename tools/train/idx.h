#pragma once

// IDX files, the format of the MNIST family of data sets (LeCun et al.): a
// big-endian header of two zero bytes, a type byte (0x08: unsigned bytes, the
// only one these data sets use), the number of dimensions, each dimension as a
// u32, then the elements in row-major order. Read through zlib, so a gzipped
// file (as Debian ships them) and a plain one read alike.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tpu::train {

// A data file that is missing, corrupt or not what it should be; the message names the file.
class DataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct IdxArray {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> data;  // prod(dims) bytes
};

// Throws DataError naming `path` and the problem: unreadable, a bad magic number or type, no or
// too many dimensions, fewer bytes than the dimensions need (truncated) or more (trailing data).
IdxArray read_idx(const std::string& path);

}  // namespace tpu::train
