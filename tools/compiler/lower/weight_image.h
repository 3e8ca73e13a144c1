#pragma once

// The weight DRAM as the program finds it: weight tiles laid out in the order
// the matrix unit first takes them, each distinct tile once (a layer that
// shares another's weights, or a pooling identity, reads the same bytes), and
// room for the tiles the program writes itself (ldw, for a matmul's second
// operand). A tile here is one FIFO entry's worth of a read: reading the same
// bytes again is another tile with the same address.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "isa/program.h"

namespace tpu::compiler {

struct Tile {
  uint64_t k, n, dram;  // k rows x n columns at `dram`
  int64_t fill = -1;    // a tile the program loads (ldw): the pending instruction that writes it last
};

class WeightImage {
 public:
  // Writes the bytes into `program`'s DRAM image unless it is timing-only (`values` false);
  // `weight_bytes` (a hint of the bytes to come) and `largest_tile` size the buffer of bytes not yet
  // written.
  WeightImage(isa::Program& program, bool values, uint64_t weight_bytes, uint64_t largest_tile);

  // A weight tile of k x n bytes, w(r, c) each, placed once per distinct key.
  template <class Weight>
  int64_t tile(const std::string& key, uint64_t k, uint64_t n, Weight&& w) {
    auto it = at_.find(key);
    uint64_t dram;
    if (it != at_.end()) {
      dram = it->second;
    } else {
      dram = top_;
      if (values_) {
        if (run_.size() >= kRunBytes) flush();  // bounded: the image holds the rest
        if (run_.empty()) run_at_ = dram;
        const size_t at = run_.size();
        run_.resize(at + k * n);
        for (uint64_t r = 0; r < k; ++r)
          for (uint64_t c = 0; c < n; ++c) run_[at + r * n + c] = static_cast<uint8_t>(w(r, c));
      }
      top_ += k * n;
      at_[key] = dram;
    }
    tiles_.push_back({k, n, dram});
    return static_cast<int64_t>(tiles_.size()) - 1;
  }

  // A sparse layer's image (written even in a timing-only program: its timing depends on it),
  // placed at a burst-aligned address once per distinct content; returns the address.
  uint64_t image(const std::vector<uint8_t>& bytes);
  // A tile whose bytes the program itself writes into DRAM (through ldw) before reading it.
  int64_t loaded_tile(uint64_t k, uint64_t n);
  // Tile t read again: a new FIFO entry for the same bytes.
  int64_t again(int64_t t);

  Tile& operator[](int64_t t) { return tiles_[static_cast<size_t>(t)]; }
  const Tile& operator[](int64_t t) const { return tiles_[static_cast<size_t>(t)]; }
  size_t size() const { return tiles_.size(); }
  uint64_t bytes() const { return top_; }  // of weight DRAM in use

  // Writes the tiles placed since the last gap into the program's image in one piece (tile by
  // tile, the image would grow and copy its segment again and again).
  void flush();

 private:
  static constexpr size_t kRunBytes = size_t{64} << 20;
  isa::Program& program_;
  const bool values_;
  std::vector<Tile> tiles_;
  std::map<std::string, uint64_t> at_;  // tile key -> its address
  std::multimap<size_t, std::pair<uint64_t, uint64_t>> images_;  // hash of an image's bytes -> (address, size)
  uint64_t top_ = 0;
  std::vector<uint8_t> run_;  // weight bytes from run_at_ on, not yet in the image
  uint64_t run_at_ = 0;
};

}  // namespace tpu::compiler
