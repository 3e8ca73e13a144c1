#include "tools/compiler/lower/weight_image.h"

#include <algorithm>

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

uint64_t WeightImage::image(const std::string& key, const std::vector<uint8_t>& bytes) {
  if (const auto it = at_.find(key); it != at_.end()) return it->second;
  flush();
  const uint64_t at = (top_ + 63) / 64 * 64;
  program_.dram.write(at, bytes);
  top_ = at + bytes.size();
  at_[key] = at;
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
