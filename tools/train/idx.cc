#include "tools/train/idx.h"

#include <zlib.h>

#include <cstdio>
#include <memory>

namespace tpu::train {

namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

}  // namespace

IdxArray read_idx(const std::string& path) {
  const std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw DataError(path + ": cannot be read");
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    const int n = gzread(f.get(), chunk, sizeof chunk);
    if (n < 0) {
      int code = 0;
      const char* what = gzerror(f.get(), &code);
      throw DataError(path + ": not a readable gzip or IDX file (" + std::string(what ? what : "?") + ")");
    }
    if (n == 0) {
      int code = Z_OK;
      gzerror(f.get(), &code);
      if (code != Z_OK) throw DataError(path + ": its gzip stream is truncated or corrupt");
      break;
    }
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  if (bytes.size() < 4) throw DataError(path + ": " + std::to_string(bytes.size()) + " bytes: too short for an IDX header");
  if (bytes[0] != 0 || bytes[1] != 0)
    throw DataError(path + ": not an IDX file (its magic number does not start with two zero bytes)");
  if (bytes[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", bytes[2]);
    throw DataError(path + ": IDX element type " + type + " is not 0x08 (unsigned bytes)");
  }
  const size_t rank = bytes[3];
  if (rank == 0 || rank > 4) throw DataError(path + ": " + std::to_string(rank) + " dimensions; expected 1 to 4");
  const size_t header = 4 + 4 * rank;
  if (bytes.size() < header) throw DataError(path + ": truncated in its header");
  IdxArray a;
  uint64_t elements = 1;
  for (size_t d = 0; d < rank; ++d) {
    const uint8_t* p = &bytes[4 + 4 * d];
    a.dims.push_back(uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]);
    if (a.dims.back() != 0 && elements > bytes.size() / a.dims.back())  // more than the file holds: no overflow
      throw DataError(path + ": truncated: its dimensions need more bytes than the file's " + std::to_string(bytes.size()));
    elements *= a.dims.back();
  }
  const uint64_t have = bytes.size() - header;
  if (have < elements)
    throw DataError(path + ": truncated: its dimensions need " + std::to_string(elements) + " bytes of data, it has " +
                    std::to_string(have));
  if (have > elements)
    throw DataError(path + ": " + std::to_string(have - elements) + " bytes after the " + std::to_string(elements) +
                    " its dimensions hold");
  a.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header), bytes.end());
  return a;
}

}  // namespace tpu::train
