// The packed weights file (tools/train/packed_weights.h): every layer decodes
// back to its weights bit for bit, in both codings; sizes and filler counts
// equal what the format's definition gives, computed here independently; a
// damaged file is refused by name, never read past its end.

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "isa/program.h"
#include "tools/train/huffman.h"
#include "tools/train/packed_weights.h"

namespace tpu::train {
namespace {

struct RandomLayer {
  uint32_t k, n;
  std::vector<float> weights, bias, codebook;
  int bits, index_bits;
};

RandomLayer random_layer(std::mt19937_64& rng, bool shared) {
  RandomLayer l;
  l.k = static_cast<uint32_t>(rng() % 40 + 1);
  l.n = static_cast<uint32_t>(rng() % 70 + 1);
  l.bits = shared ? static_cast<int>(rng() % 8 + 1) : 32;
  l.index_bits = static_cast<int>(rng() % 8 + 1);
  std::uniform_real_distribution<float> u(-1, 1);
  if (shared)
    for (uint32_t c = 0; c < (1u << l.bits) - 1 && c < 1 + rng() % 255; ++c) l.codebook.push_back(u(rng) + 2.0f * c);
  const double density = std::uniform_real_distribution<double>(0, 1)(rng);
  for (uint64_t i = 0; i < uint64_t{l.k} * l.n; ++i) {
    const bool keep = std::uniform_real_distribution<double>(0, 1)(rng) < density;
    l.weights.push_back(!keep ? 0.0f : shared ? l.codebook[rng() % l.codebook.size()] : u(rng));
  }
  for (uint32_t j = 0; j < l.n; ++j) l.bias.push_back(u(rng));
  return l;
}

// Fillers by the definition: a run of g zeros before an entry (or before nothing) needs
// floor(g / 2^r) fillers when it precedes an entry, none at a column's end.
uint64_t fillers_by_definition(const RandomLayer& l) {
  uint64_t f = 0;
  for (uint32_t k = 0; k < l.k; ++k) {
    uint64_t run = 0;
    for (uint32_t j = 0; j < l.n; ++j) {
      if (l.weights[uint64_t{k} * l.n + j] == 0) {
        ++run;
        continue;
      }
      f += run >> l.index_bits;
      run = 0;
    }
  }
  return f;
}

uint64_t bytes_of_bits(uint64_t bits) { return (bits + 7) / 8; }

TEST(PackedWeights, EveryLayerDecodesToItsWeightsInBothCodingsWithTheSizesTheFormatDefines) {
  std::mt19937_64 rng(21);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<RandomLayer> source;
    std::vector<PackedLayer> layers;
    for (int i = 0; i < 1 + trial % 3; ++i) {
      source.push_back(random_layer(rng, (trial + i) % 4 != 0));
      const RandomLayer& l = source.back();
      layers.push_back(pack_layer("layer" + std::to_string(i), l.k, l.n, l.weights, l.bias, l.codebook, l.bits,
                                  l.index_bits));
    }
    for (const Coding coding : {Coding::kFixed, Coding::kHuffman}) {
      std::vector<StoredSize> sizes;
      const std::vector<uint8_t> file = serialize_packed(layers, coding, &sizes);
      uint64_t total = packed_header_bytes();
      for (const StoredSize& s : sizes) total += s.bytes;
      ASSERT_EQ(total, file.size());
      const std::vector<PackedLayer> back = parse_packed(file, "test.dcz");
      ASSERT_EQ(back.size(), layers.size());
      for (size_t i = 0; i < layers.size(); ++i) {
        const RandomLayer& l = source[i];
        const std::vector<float> w = unpack_weights(back[i]);
        ASSERT_EQ(std::memcmp(w.data(), l.weights.data(), w.size() * 4), 0) << trial << " " << i;
        ASSERT_EQ(back[i].bias, l.bias);
        ASSERT_EQ(back[i].codebook, l.codebook);
        uint64_t nonzero = 0;
        for (float v : l.weights) nonzero += v != 0;
        const uint64_t fillers = fillers_by_definition(l);
        ASSERT_EQ(sizes[i].fillers, fillers) << trial << " " << i;
        ASSERT_EQ(sizes[i].entries, nonzero + fillers);
        const uint64_t e = sizes[i].entries;
        int pointer_bits = 1;
        while (pointer_bits < 64 && (e >> pointer_bits) != 0) ++pointer_bits;
        const uint64_t fixed_part = 1 + back[i].name.size() + 4 + 4 + 3 + 4 +
                                    (l.codebook.empty() ? 0 : 1 + 4 * l.codebook.size()) + 4 * uint64_t{l.n} +
                                    bytes_of_bits(uint64_t{l.k} * pointer_bits);
        if (coding == Coding::kFixed) {
          const uint64_t weights = l.codebook.empty() ? 4 * e : bytes_of_bits(e * l.bits);
          ASSERT_EQ(sizes[i].bytes, fixed_part + weights + bytes_of_bits(e * l.index_bits)) << trial << " " << i;
        } else {
          // Each stream Huffman coded (its table, a u32 of bits, the bits) where that is smaller than
          // fixed width, else fixed: the record is the smaller of the two for each stream.
          auto stream = [&](const std::vector<uint8_t>& symbols, int width) {
            const uint64_t fixed = bytes_of_bits(symbols.size() * width);
            if (symbols.empty()) return fixed;
            const HuffmanData h = huffman_encode(symbols);
            return std::min<uint64_t>(fixed, h.code.table_bytes() + 4 + bytes_of_bits(h.bits));
          };
          const uint64_t weights = l.codebook.empty() ? 4 * e : stream(back[i].symbol, l.bits);
          ASSERT_EQ(sizes[i].bytes, fixed_part + weights + stream(back[i].zeros, l.index_bits)) << trial << " " << i;
        }
      }
    }
  }
}

std::vector<uint8_t> example_file(Coding coding) {
  std::mt19937_64 rng(5);
  const RandomLayer l = random_layer(rng, true);
  return serialize_packed({pack_layer("fc1", l.k, l.n, l.weights, l.bias, l.codebook, l.bits, 2)}, coding);
}

void expect_refused(const std::vector<uint8_t>& bytes, const std::string& message) {
  try {
    parse_packed(bytes, "w.dcz");
    ADD_FAILURE() << "no error for " << message;
  } catch (const isa::ProgramError& e) {
    EXPECT_NE(std::string(e.what()).find("w.dcz: "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

TEST(PackedWeights, DamagedFilesAreRefusedByName) {
  for (const Coding coding : {Coding::kFixed, Coding::kHuffman}) {
    const std::vector<uint8_t> good = example_file(coding);
    ASSERT_NO_THROW(parse_packed(good, "w.dcz"));
    for (size_t n = 0; n < good.size(); ++n)  // every truncation
      EXPECT_THROW(parse_packed(std::vector<uint8_t>(good.begin(), good.begin() + static_cast<long>(n)), "w.dcz"),
                   isa::ProgramError)
          << n;
    std::vector<uint8_t> b = good;
    b[0] = 'X';
    expect_refused(b, "no TPUDCZ01 magic");
    b = good;
    b.push_back(0);
    expect_refused(b, "bytes after the last layer");
    const size_t fields = 8 + 4 + 1 + 3 + 8;  // magic, count, name length and "fc1", K and N
    b = good;
    b[fields] = 9;
    expect_refused(b, "layer fc1: weight bits 9");
    b = good;
    b[fields + 1] = 0;
    expect_refused(b, "layer fc1: index bits 0");
    b = good;
    b[fields + 2] = 7;
    expect_refused(b, "layer fc1: coding 7");
    // Random damage anywhere: refused or read, never a crash or a read past the end.
    std::mt19937_64 rng(8);
    for (int t = 0; t < 3000; ++t) {
      b = good;
      for (int flips = 0; flips < 1 + t % 4; ++flips) b[rng() % b.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
      try {
        for (const PackedLayer& l : parse_packed(b, "w.dcz")) unpack_weights(l);
      } catch (const isa::ProgramError&) {
      }
    }
  }
}

// Files whose every field reads but whose entries contradict each other, written here directly.
TEST(PackedWeights, EntriesThatContradictTheLayerAreRefused) {
  const PackedLayer good = pack_layer("fc1", 2, 3, {0, 0.5f, 0, 0.25f, 0, 0.5f}, {0, 0, 0}, {0.25f, 0.5f}, 2, 2);
  PackedLayer l = good;
  l.symbol[0] = 3;  // the codebook has 2 values
  expect_refused(serialize_packed({l}, Coding::kFixed), "layer fc1: weight index 3 past the codebook");
  l = good;
  l.zeros[0] = 3;  // column 0: 3 zeros, its entry, then another: row 5 of 3
  expect_refused(serialize_packed({l}, Coding::kFixed), "layer fc1: column 0's entries reach row");
  l = good;
  l.column_end = {2, 1};
  expect_refused(serialize_packed({l}, Coding::kFixed), "layer fc1: column 1 ends at entry 1, out of order");
  l = good;
  std::vector<uint8_t> b = serialize_packed({pack_layer("fc1", 1, 2, {0, 0.5f}, {0, 0}, {}, 32, 4)}, Coding::kFixed);
  b[8 + 4 + 1 + 3 + 8 + 2] = 1;  // the coding byte of a float32 layer: weights Huffman coded
  expect_refused(b, "layer fc1: float32 weights Huffman coded");
  b = serialize_packed({good}, Coding::kFixed);
  b.resize(8 + 4 + 1 + 3 + 6);  // inside K and N
  expect_refused(b, "truncated layer fc1 outputs");
  EXPECT_THROW(pack_layer(std::string(256, 'x'), 1, 1, {0}, {0}, {}, 32, 4), std::invalid_argument);
}

TEST(PackedWeights, AWeightOutsideTheCodebookIsNamed) {
  try {
    pack_layer("fc2", 2, 2, {0, 0.5f, 0.25f, 0}, {0, 0}, {0.5f}, 1, 4);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer fc2: weight [1][0] is no codebook value"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pack_layer("fc2", 1, 2, {0, 0.5f}, {0, 0}, {0.5f, 1, 2, 3}, 2, 4), std::invalid_argument);  // 4 > 2^2 - 1
  EXPECT_THROW(pack_layer("fc2", 1, 2, {0, 0.5f}, {0, 0}, {}, 32, 9), std::invalid_argument);
}

}  // namespace
}  // namespace tpu::train
