#include "tools/train/huffman.h"

#include <algorithm>
#include <queue>
#include <stdexcept>
#include <string>

namespace tpu::train {

HuffmanCode HuffmanCode::of(const std::array<uint64_t, 256>& counts) {
  // The two least frequent trees merge until one is left; a tree is named by its smallest symbol,
  // which breaks ties, so the lengths depend on the counts alone.
  struct Tree {
    uint64_t count;
    int first;                // its smallest symbol
    std::vector<int> symbols;
    bool operator>(const Tree& o) const { return count != o.count ? count > o.count : first > o.first; }
  };
  std::priority_queue<Tree, std::vector<Tree>, std::greater<Tree>> heap;
  for (int s = 0; s < 256; ++s)
    if (counts[s] > 0) heap.push({counts[s], s, {s}});
  if (heap.empty()) throw std::invalid_argument("Huffman coding: no symbols");
  HuffmanCode c;
  if (heap.size() == 1) {
    c.lengths[heap.top().first] = 1;
    return from_lengths(c.lengths);
  }
  std::array<int, 256> depth{};
  while (heap.size() > 1) {
    Tree a = heap.top();
    heap.pop();
    Tree b = heap.top();
    heap.pop();
    for (int s : a.symbols) ++depth[s];
    for (int s : b.symbols) ++depth[s];
    a.symbols.insert(a.symbols.end(), b.symbols.begin(), b.symbols.end());
    heap.push({a.count + b.count, std::min(a.first, b.first), std::move(a.symbols)});
  }
  for (int s = 0; s < 256; ++s) {
    if (depth[s] > 64) throw std::invalid_argument("Huffman coding: a code longer than 64 bits");
    c.lengths[s] = static_cast<uint8_t>(depth[s]);
  }
  return from_lengths(c.lengths);
}

HuffmanCode HuffmanCode::from_lengths(const std::array<uint8_t, 256>& lengths) {
  // Canonical: by length, then symbol, each word the previous plus one, shifted as lengths grow.
  HuffmanCode c;
  c.lengths = lengths;
  std::vector<int> order;
  for (int s = 0; s < 256; ++s)
    if (lengths[s] > 0) order.push_back(s);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return lengths[a] != lengths[b] ? lengths[a] < lengths[b] : a < b; });
  uint64_t word = 0;
  int length = order.empty() ? 0 : lengths[order[0]];
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0) {
      ++word;
      word <<= lengths[order[i]] - length;
      length = lengths[order[i]];
    }
    c.words[order[i]] = word;
  }
  return c;
}

uint64_t HuffmanCode::table_bytes() const {
  uint64_t used = 0;
  for (uint8_t l : lengths) used += l > 0;
  return 1 + 2 * used;
}

HuffmanData huffman_encode(const std::vector<uint8_t>& symbols) {
  std::array<uint64_t, 256> counts{};
  for (uint8_t s : symbols) ++counts[s];
  HuffmanData d;
  d.code = HuffmanCode::of(counts);
  d.symbols = symbols.size();
  for (uint8_t s : symbols)
    for (int b = d.code.lengths[s] - 1; b >= 0; --b, ++d.bits) {
      if (d.bits % 8 == 0) d.bytes.push_back(0);
      if (d.code.words[s] >> b & 1) d.bytes.back() |= static_cast<uint8_t>(0x80 >> (d.bits % 8));
    }
  return d;
}

std::vector<uint8_t> huffman_decode(const HuffmanData& d) {
  // Canonical decoding: per length, the first word and where its symbols start in the order.
  std::vector<int> order;
  for (int s = 0; s < 256; ++s)
    if (d.code.lengths[s] > 0) order.push_back(s);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return d.code.lengths[a] != d.code.lengths[b] ? d.code.lengths[a] < d.code.lengths[b] : a < b;
  });
  std::vector<uint8_t> out;
  out.reserve(d.symbols);
  uint64_t bit = 0;
  while (out.size() < d.symbols) {
    uint64_t word = 0;
    int length = 0;
    size_t i = 0;  // the first symbol of the current length in `order`
    for (;;) {
      if (bit >= d.bits || bit / 8 >= d.bytes.size())
        throw std::invalid_argument("Huffman data ends after " + std::to_string(out.size()) + " of " +
                                    std::to_string(d.symbols) + " symbols");
      word = word << 1 | ((d.bytes[bit / 8] >> (7 - bit % 8)) & 1);
      ++bit;
      ++length;
      if (length > 64) throw std::invalid_argument("Huffman data holds a word no symbol has");
      while (i < order.size() && d.code.lengths[order[i]] < length) ++i;
      size_t j = i;
      bool found = false;
      for (; j < order.size() && d.code.lengths[order[j]] == length; ++j)
        if (d.code.words[order[j]] == word) {
          out.push_back(static_cast<uint8_t>(order[j]));
          found = true;
          break;
        }
      if (found) break;
    }
  }
  if (bit != d.bits) throw std::invalid_argument("Huffman data holds bits after its last symbol");
  return out;
}

}  // namespace tpu::train
