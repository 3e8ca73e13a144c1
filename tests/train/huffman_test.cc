// Huffman coding: the textbook example's optimal 224 bits, prefix-free
// canonical words rebuilt from the lengths alone, exact round trips over
// random and skewed data, and data that does not decode refused.

#include <gtest/gtest.h>

#include <random>

#include "tools/train/huffman.h"

namespace tpu::train {
namespace {

// Cormen et al., Introduction to Algorithms, Sec. 16.3: a:45 b:13 c:12 d:16 e:9 f:5 (thousands)
// code optimally in 224 (thousand) bits, with lengths 1, 3, 3, 3, 4, 4.
TEST(Huffman, GivesTheTextbookOptimum) {
  std::array<uint64_t, 256> counts{};
  const uint64_t c[] = {45, 13, 12, 16, 9, 5};
  for (int s = 0; s < 6; ++s) counts[s] = c[s];
  const HuffmanCode code = HuffmanCode::of(counts);
  uint64_t bits = 0;
  for (int s = 0; s < 6; ++s) bits += c[s] * code.lengths[s];
  EXPECT_EQ(bits, 224u);
  // Canonical words from lengths 1, 3, 3, 3, 4, 4: a 0, b 100, c 101, d 110, e 1110, f 1111.
  const uint64_t words[] = {0b0, 0b100, 0b101, 0b110, 0b1110, 0b1111};
  const uint8_t lengths[] = {1, 3, 3, 3, 4, 4};
  for (int s = 0; s < 6; ++s) {
    EXPECT_EQ(code.lengths[s], lengths[s]) << s;
    EXPECT_EQ(code.words[s], words[s]) << s;
  }
  EXPECT_EQ(code.table_bytes(), 1u + 2 * 6);
}

TEST(Huffman, WordsArePrefixFreeAndFollowFromTheLengths) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::array<uint64_t, 256> counts{};
    const int used = 1 + static_cast<int>(rng() % 256);
    for (int i = 0; i < used; ++i) counts[rng() % 256] = 1 + rng() % (trial % 2 ? 1000000 : 10);
    const HuffmanCode code = HuffmanCode::of(counts);
    const HuffmanCode rebuilt = HuffmanCode::from_lengths(code.lengths);
    EXPECT_EQ(rebuilt.words, code.words);
    double kraft = 0;
    for (int a = 0; a < 256; ++a) {
      if (!code.lengths[a]) continue;
      kraft += std::ldexp(1.0, -code.lengths[a]);
      for (int b = 0; b < 256; ++b) {
        if (a == b || !code.lengths[b] || code.lengths[b] < code.lengths[a]) continue;
        ASSERT_NE(code.words[b] >> (code.lengths[b] - code.lengths[a]), code.words[a]) << a << " prefixes " << b;
      }
    }
    EXPECT_LE(kraft, 1.0 + 1e-12);
  }
}

TEST(Huffman, RoundTripsExactly) {
  std::mt19937_64 rng(4);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<uint8_t> data(1 + rng() % 5000);
    std::geometric_distribution<int> skewed(0.3);
    for (uint8_t& v : data) v = static_cast<uint8_t>(trial % 4 == 0 ? 7 : trial % 2 ? rng() % 16 : std::min(skewed(rng), 255));
    const HuffmanData d = huffman_encode(data);
    ASSERT_EQ(huffman_decode(d), data) << "trial " << trial;
    uint64_t bits = 0;
    for (uint8_t v : data) bits += d.code.lengths[v];
    EXPECT_EQ(d.bits, bits);
    EXPECT_EQ(d.bytes.size(), (bits + 7) / 8);
  }
}

TEST(Huffman, DataThatDoesNotDecodeIsRefused) {
  HuffmanData d = huffman_encode({1, 2, 3, 1, 1, 2, 9, 9, 9, 9});
  HuffmanData cut = d;
  cut.bits -= 1;
  EXPECT_THROW(huffman_decode(cut), std::invalid_argument);
  HuffmanData more = d;
  more.symbols -= 1;
  EXPECT_THROW(huffman_decode(more), std::invalid_argument);
  EXPECT_THROW(HuffmanCode::of({}), std::invalid_argument);
}

}  // namespace
}  // namespace tpu::train
