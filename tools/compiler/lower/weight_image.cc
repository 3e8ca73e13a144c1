#include "tools/compiler/lower/weight_image.h"

#include <algorithm>
#include <functional>
#include <string_view>

namespace tpu::compiler {

WeightImage::WeightImage(isa::Program& program, bool values, uint64_t weight_bytes, uint64_t largest_tile)
    : program_(program), values_(values) {
  if (values_) run_.reserve(std::min<uint64_t>(weight_bytes, kRunBytes + largest_tile));
}

int64_t WeightImage::loaded_tile(uint64_t k, uint64_t n) {
  flush();  // its bytes are not in the image
  tiles_.push_back({k, n, top_});
  top_ += k * n;
  return static_cast<int64_t>(tiles_.size()) - 1;
}

uint64_t WeightImage::image(const std::vector<uint8_t>& bytes) {
  const size_t hash = std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  for (auto [it, end] = images_.equal_range(hash); it != end; ++it) {
    const auto [at, size] = it->second;
    bool same = size == bytes.size();
    for (uint64_t i = 0; same && i < size; ++i) same = program_.dram.read(at + i) == bytes[i];
    if (same) return at;
  }
  flush();
  const uint64_t at = (top_ + 63) / 64 * 64;
  program_.dram.write(at, bytes);
  top_ = at + bytes.size();
  images_.emplace(hash, std::pair{at, uint64_t{bytes.size()}});
  return at;
}

int64_t WeightImage::again(int64_t t) {
  tiles_.push_back(tiles_[static_cast<size_t>(t)]);
  return static_cast<int64_t>(tiles_.size()) - 1;
}

void WeightImage::flush() {
  if (!run_.empty()) program_.dram.write(run_at_, run_);
  run_.clear();
}

}  // namespace tpu::compiler
