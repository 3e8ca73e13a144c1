// The compressed layer image spmv reads: the EIE paper's own encoding example,
// row interleaving over PEs, fillers, round trips over random matrices (all
// densities, 1 to 256 PEs, long gaps), and images that are wrong in each way
// the parser names, plus random corruptions that must either be refused or
// read back to exactly the bytes given.

#include <gtest/gtest.h>

#include <random>

#include "isa/program.h"
#include "isa/sparse_image.h"

namespace tpu::isa::sparse {
namespace {

std::array<int16_t, kCodebookEntries> identity_codebook() {
  std::array<int16_t, kCodebookEntries> c{};
  for (int i = 0; i < kCodebookEntries; ++i) c[i] = static_cast<int16_t>(i);
  return c;
}

std::vector<std::pair<int, int>> index_zeros(const std::vector<uint8_t>& entries) {
  std::vector<std::pair<int, int>> out;
  for (uint8_t e : entries) out.emplace_back(entry_index(e), entry_zeros(e));
  return out;
}

// Han et al., EIE, Sec. III: the column [0, 0, 1, 2, 0 x 18, 3] is stored as v = [1, 2, 0, 3],
// z = [2, 0, 15, 2] (the 0 a filler after 15 zeros).
TEST(SparseImage, EncodesThePapersExampleColumn) {
  std::vector<uint8_t> column = {0, 0, 1, 2};
  column.insert(column.end(), 18, 0);
  column.push_back(3);
  const SparseLayer l = encode(column, static_cast<uint32_t>(column.size()), 1, 1, identity_codebook(), 4,
                               std::vector<int32_t>(column.size(), 0));
  const std::vector<std::pair<int, int>> want = {{1, 2}, {2, 0}, {0, 15}, {3, 2}};
  EXPECT_EQ(index_zeros(l.pe[0].entries), want);
  EXPECT_EQ(l.pe[0].pointers, (std::vector<uint16_t>{0, 4}));
  EXPECT_EQ(decode(l), column);
}

// Row i lives in PE i mod N as its local row i / N; zero counts count the PE's own rows.
TEST(SparseImage, InterleavesRowsOverThePes) {
  // 5 rows x 2 columns over 2 PEs: PE 0 has rows 0, 2, 4, PE 1 rows 1, 3.
  const std::vector<uint8_t> m = {0, 1,  //
                                  2, 0,  //
                                  0, 0,  //
                                  0, 3,  //
                                  4, 5};
  const SparseLayer l = encode(m, 5, 2, 2, identity_codebook(), 6, {10, 11, 12, 13, 14});
  EXPECT_EQ(l.local_rows(0), 3u);
  EXPECT_EQ(l.local_rows(1), 2u);
  // PE 0, column 0: rows 0, 2, 4 hold 0, 0, 4 -> (4 after 2 zeros); column 1: 1, 0, 5 -> (1, 0), (5, 1).
  EXPECT_EQ(index_zeros(l.pe[0].entries), (std::vector<std::pair<int, int>>{{4, 2}, {1, 0}, {5, 1}}));
  EXPECT_EQ(l.pe[0].pointers, (std::vector<uint16_t>{0, 1, 3}));
  // PE 1, column 0: rows 1, 3 hold 2, 0 -> (2, 0); column 1: 0, 3 -> (3, 1).
  EXPECT_EQ(index_zeros(l.pe[1].entries), (std::vector<std::pair<int, int>>{{2, 0}, {3, 1}}));
  EXPECT_EQ(decode(l), m);
}

TEST(SparseImage, LongGapsTakeFillersAndAnEmptyColumnTakesNothing) {
  std::vector<uint8_t> m(41 * 2, 0);
  m[40 * 2 + 0] = 7;  // column 0: 40 zeros, then 7: 16 + 16 + 8
  const SparseLayer l = encode(m, 41, 2, 1, identity_codebook(), 8, std::vector<int32_t>(41, 0));
  EXPECT_EQ(index_zeros(l.pe[0].entries), (std::vector<std::pair<int, int>>{{0, 15}, {0, 15}, {7, 8}}));
  EXPECT_EQ(l.pe[0].pointers, (std::vector<uint16_t>{0, 3, 3}));
  EXPECT_EQ(decode(l), m);
}

TEST(SparseImage, RoundTripsRandomMatrices) {
  std::mt19937_64 rng(17);
  for (int trial = 0; trial < 300; ++trial) {
    const uint32_t rows = 1 + static_cast<uint32_t>(rng() % 300), cols = 1 + static_cast<uint32_t>(rng() % 40);
    const uint32_t pes = 1 + static_cast<uint32_t>(rng() % 256);
    const double density = std::uniform_real_distribution<double>(0, 1)(rng);
    const int size = 1 + static_cast<int>(rng() % kCodebookEntries);
    std::vector<uint8_t> m(uint64_t{rows} * cols, 0);
    for (uint8_t& v : m)
      if (size > 1 && std::uniform_real_distribution<double>(0, 1)(rng) < density)
        v = static_cast<uint8_t>(1 + rng() % (size - 1));
    std::vector<int32_t> bias(rows);
    for (int32_t& b : bias) b = static_cast<int32_t>(rng());
    auto codebook = identity_codebook();
    for (int i = 1; i < kCodebookEntries; ++i) codebook[i] = static_cast<int16_t>(rng());
    const SparseLayer l = encode(m, rows, cols, pes, codebook, size, bias);
    ASSERT_EQ(decode(l), m) << "trial " << trial;
    const std::vector<uint8_t> image = serialize(l);
    ASSERT_EQ(image.size(), image_bytes(l));
    const SparseLayer back = parse(image.data(), image.size(), "image");
    ASSERT_TRUE(back == l) << "trial " << trial;
    // What the compiler counts column by column (to cut slices) is what the encoding holds.
    std::vector<uint64_t> entries(pes, 0);
    for (uint32_t j = 0; j < cols; ++j) add_column_entries(&m[j], cols, rows, pes, entries.data());
    for (uint32_t p = 0; p < pes; ++p) ASSERT_EQ(entries[p], l.entries(p)) << "trial " << trial << ", PE " << p;
  }
}

TEST(SparseImage, APeBeyondWhatItsPointersReachIsRefused) {
  const std::vector<uint8_t> m(70000, 1);  // 70000 non-zeros in one PE
  try {
    encode(m, 70000, 1, 1, identity_codebook(), 2, std::vector<int32_t>(70000, 0));
    FAIL() << "encoded";
  } catch (const ProgramError& e) {
    EXPECT_NE(std::string(e.what()).find("PE 0 would hold more than 65535 entries"), std::string::npos) << e.what();
  }
}

// A valid image to damage: 6 rows x 3 columns over 2 PEs.
std::vector<uint8_t> small_image() {
  const std::vector<uint8_t> m = {1, 0, 2, 0, 3, 0, 0, 0, 1, 2, 0, 0, 0, 0, 3, 1, 1, 0};
  return serialize(encode(m, 6, 3, 2, identity_codebook(), 4, {1, 2, 3, 4, 5, 6}));
}

std::string parse_error(const std::vector<uint8_t>& image) {
  try {
    parse(image.data(), image.size(), "layer");
  } catch (const ProgramError& e) {
    return e.what();
  }
  return "";
}

// Offsets in small_image: header 64, bias 6 x 4 = 24, then PE 0: u32 entries at 88, pointers at 92.
constexpr size_t kPe0 = 64 + 24;

TEST(SparseImage, NamesWhatIsWrongWithAnImage) {
  const std::vector<uint8_t> good = small_image();
  EXPECT_EQ(parse_error(good), "");
  auto damaged = [&](size_t at, uint8_t value) {
    std::vector<uint8_t> d = good;
    d[at] = value;
    return parse_error(d);
  };
  EXPECT_NE(damaged(0, 'X').find("layer: not a sparse layer image"), std::string::npos);
  EXPECT_NE(damaged(16, 0).find("codebook of 0 entries"), std::string::npos);
  // PE 0 (rows 0, 2, 4) holds column 0: 1, 0, 0 and column 2: 2, 1, 3; its pointers are 0, 1, 1, 4.
  EXPECT_NE(damaged(kPe0 + 4 + 2, 9).find("PE 0: column 0 ends at entry 9, past its 4 entries"), std::string::npos)
      << damaged(kPe0 + 4 + 2, 9);
  EXPECT_NE(damaged(kPe0 + 4 + 4, 0).find("PE 0: column 1 ends at entry 0 before it starts (1)"), std::string::npos)
      << damaged(kPe0 + 4 + 4, 0);
  EXPECT_NE(damaged(kPe0 + 4, 1).find("PE 0: column 0 starts at entry 1"), std::string::npos);
  // Its first entry, index 1 after 15 zeros, runs past its 3 rows.
  const size_t entries = kPe0 + 4 + 2 * 4;
  EXPECT_NE(damaged(entries, entry(1, 15)).find("PE 0: column 0 runs past its 3 rows"), std::string::npos)
      << damaged(entries, entry(1, 15));
  EXPECT_NE(damaged(entries, entry(9, 0)).find("names codebook entry 9 of a codebook of 4"), std::string::npos);
  std::vector<uint8_t> cut(good.begin(), good.end() - 8);
  EXPECT_NE(parse_error(cut).find("more than the"), std::string::npos) << parse_error(cut);
}

// Random damage: every corrupted image is either refused with a ProgramError or reads back to a
// layer that writes exactly those bytes.
TEST(SparseImage, CorruptedImagesAreRefusedOrReadBackExactly) {
  std::mt19937_64 rng(5);
  const std::vector<uint8_t> good = small_image();
  size_t refused = 0, read_back = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<uint8_t> d = good;
    for (int flips = 1 + static_cast<int>(rng() % 3); flips > 0; --flips) d[rng() % d.size()] = static_cast<uint8_t>(rng());
    if (rng() % 8 == 0) d.resize(rng() % d.size());
    try {
      const SparseLayer l = parse(d.data(), d.size(), "fuzz");
      ASSERT_EQ(serialize(l), d) << "trial " << trial;
      ++read_back;
    } catch (const ProgramError&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 1000u);
  EXPECT_GT(read_back, 1000u) << "damage to biases and codebook values is still an image";
}

}  // namespace
}  // namespace tpu::isa::sparse
