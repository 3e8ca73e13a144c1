#pragma once

// A whole program as the chip receives it: the instruction stream, the initial
// contents of weight DRAM and host memory, the named tensors the host passes in
// and reads back, and free-form metadata. Stored as a versioned, checksummed
// binary container (.tpb); see docs in isa/ISA.md, "Program container".

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "isa/word.h"

namespace tpu::isa {

// Any fault in reading or writing a container; the message names the file.
class ProgramError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sparse byte image of a memory: non-overlapping, non-adjacent segments in
// address order, so that equal contents always have one representation.
class MemoryImage {
 public:
  // Writes bytes at addr, replacing what was there.
  void write(uint64_t addr, const uint8_t* data, size_t size);
  void write(uint64_t addr, const std::vector<uint8_t>& data) { write(addr, data.data(), data.size()); }
  // Byte at addr, 0 where nothing was written.
  uint8_t read(uint64_t addr) const;
  // Segments keyed by start address.
  const std::map<uint64_t, std::vector<uint8_t>>& segments() const { return segments_; }
  size_t total_bytes() const;
  bool empty() const { return segments_.empty(); }
  friend bool operator==(const MemoryImage& a, const MemoryImage& b) { return a.segments_ == b.segments_; }

 private:
  std::map<uint64_t, std::vector<uint8_t>> segments_;
};

enum class DType : uint8_t { kI8, kU8, kI16, kI32, kF32 };
enum class Space : uint8_t { kHost, kUb, kDram };
enum class TensorRole : uint8_t { kInput, kOutput };

std::string_view to_string(DType t);
std::string_view to_string(Space s);
std::string_view to_string(TensorRole r);
std::optional<DType> parse_dtype(std::string_view s);
std::optional<Space> parse_space(std::string_view s);
std::optional<TensorRole> parse_role(std::string_view s);
size_t dtype_bytes(DType t);
std::vector<std::string_view> dtype_names();

// A named tensor the host exchanges with the chip. real = scale * (q - zero_point).
struct TensorDesc {
  std::string name;
  TensorRole role = TensorRole::kInput;
  DType dtype = DType::kI8;
  std::vector<int64_t> shape;
  Space space = Space::kHost;
  uint64_t addr = 0;
  double scale = 1.0;
  int32_t zero_point = 0;

  int64_t elements() const;
  friend bool operator==(const TensorDesc& a, const TensorDesc& b);
};

struct Program {
  std::vector<Word> text;
  MemoryImage dram;
  MemoryImage host;
  std::vector<TensorDesc> tensors;
  std::vector<std::pair<std::string, std::string>> metadata;

  friend bool operator==(const Program& a, const Program& b);
};

// Metadata a program compiled for timing only carries (value "yes"): it holds no weights or
// parameters, so it runs only without values (the chip refuses it otherwise).
inline constexpr char kTimingOnlyKey[] = "timing_only";
bool timing_only(const Program& program);

// Container layout, version 1 (all integers little-endian):
//   header   magic "TPUSIMPB", u32 version, u32 section count,
//            u64 payload bytes, u32 word bytes, u32 reserved (0)
//   payload  sections: u32 kind, u32 reserved (0), u64 length, data padded to 8 bytes
//   trailer  u32 CRC-32 (IEEE) of header and payload
inline constexpr char kProgramMagic[8] = {'T', 'P', 'U', 'S', 'I', 'M', 'P', 'B'};
inline constexpr uint32_t kProgramVersion = 1;
inline constexpr size_t kProgramHeaderBytes = 32;

std::vector<uint8_t> serialize(const Program& program);
// `name` (usually the path) prefixes every error message.
Program deserialize(const uint8_t* data, size_t size, const std::string& name);

// Writes through a temporary file and a rename, so a failed write leaves no partial file.
void save_program(const Program& program, const std::string& path);
Program load_program(const std::string& path);

// Writes bytes to path atomically (temporary file, then rename); throws ProgramError.
void write_file_atomically(const std::string& path, const std::string& bytes);
// A file's bytes, "" when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace tpu::isa
