#pragma once

// A large, sparsely used byte memory (weight DRAM, host memory): storage is
// allocated in pages on first write; bytes never written read as zero.

#include <cstdint>
#include <memory>
#include <unordered_map>

namespace tpu::sim {

class PagedMemory {
 public:
  explicit PagedMemory(uint64_t size) : size_(size) {}
  uint64_t size() const { return size_; }

  // The caller keeps [addr, addr + n) within size().
  void write(uint64_t addr, const uint8_t* src, uint64_t n) {
    while (n > 0) {
      const uint64_t off = addr & kPageMask;
      const uint64_t take = std::min<uint64_t>(n, kPageSize - off);
      uint8_t* page = page_for(addr);
      std::copy(src, src + take, page + off);
      addr += take;
      src += take;
      n -= take;
    }
  }

  void read(uint64_t addr, uint8_t* dst, uint64_t n) const {
    while (n > 0) {
      const uint64_t off = addr & kPageMask;
      const uint64_t take = std::min<uint64_t>(n, kPageSize - off);
      const auto it = pages_.find(addr >> kPageBits);
      if (it == pages_.end())
        std::fill(dst, dst + take, uint8_t{0});
      else
        std::copy(it->second.get() + off, it->second.get() + off + take, dst);
      addr += take;
      dst += take;
      n -= take;
    }
  }

 private:
  static constexpr unsigned kPageBits = 16;
  static constexpr uint64_t kPageSize = uint64_t{1} << kPageBits;
  static constexpr uint64_t kPageMask = kPageSize - 1;

  uint8_t* page_for(uint64_t addr) {
    auto& page = pages_[addr >> kPageBits];
    if (!page) page = std::make_unique<uint8_t[]>(kPageSize);  // value-initialized: zero
    return page.get();
  }

  uint64_t size_;
  std::unordered_map<uint64_t, std::unique_ptr<uint8_t[]>> pages_;
};

}  // namespace tpu::sim
