// The IDX reader and Fashion-MNIST: the installed data set reads with its
// published shape and balanced classes; crafted files with each defect are
// refused with a message naming the file and the problem.

#include <gtest/gtest.h>
#include <zlib.h>

#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>

#include "tools/train/fashion_mnist.h"
#include "tools/train/idx.h"

namespace tpu::train {
namespace {

std::string temp(const std::string& name) {
  return testing::TempDir() + "idx_" + std::to_string(getpid()) + "_" + name;
}

std::vector<uint8_t> idx_bytes(const std::vector<uint32_t>& dims, size_t data_bytes, uint8_t type = 0x08) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int shift : {24, 16, 8, 0}) b.push_back(static_cast<uint8_t>(d >> shift));
  for (size_t i = 0; i < data_bytes; ++i) b.push_back(static_cast<uint8_t>(i * 7));
  return b;
}

std::string write(const std::string& name, const std::vector<uint8_t>& bytes, bool gzip) {
  const std::string path = temp(name);
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  return path;
}

std::string error_of(const std::string& path) {
  try {
    read_idx(path);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST(Idx, ReadsGzippedAndPlainFilesAlike) {
  for (bool gzip : {true, false}) {
    const IdxArray a = read_idx(write(gzip ? "ok.gz" : "ok", idx_bytes({3, 2, 5}, 30), gzip));
    EXPECT_EQ(a.dims, (std::vector<uint32_t>{3, 2, 5}));
    ASSERT_EQ(a.data.size(), 30u);
    for (size_t i = 0; i < 30; ++i) EXPECT_EQ(a.data[i], static_cast<uint8_t>(i * 7));
  }
}

TEST(Idx, NamesTheFileAndWhatIsWrong) {
  std::vector<uint8_t> magic = idx_bytes({4}, 4);
  magic[0] = 1;
  const std::vector<std::pair<std::vector<uint8_t>, std::string>> bad = {
      {magic, "not an IDX file (its magic number does not start with two zero bytes)"},
      {idx_bytes({4}, 4, 0x0d), "IDX element type 0x0d is not 0x08 (unsigned bytes)"},
      {idx_bytes({}, 0), "0 dimensions; expected 1 to 4"},
      {idx_bytes({2, 3}, 5), "truncated: its dimensions need 6 bytes of data, it has 5"},
      {idx_bytes({2, 3}, 8), "2 bytes after the 6 its dimensions hold"},
      {{0, 0}, "2 bytes: too short for an IDX header"},
      {{0, 0, 8, 2, 0, 0}, "truncated in its header"},
  };
  int n = 0;
  for (const auto& [bytes, message] : bad) {
    const std::string path = write("bad" + std::to_string(n++) + ".gz", bytes, true);
    EXPECT_EQ(error_of(path), path + ": " + message);
  }
  EXPECT_EQ(error_of(temp("none.gz")), temp("none.gz") + ": cannot be read");
  // A gzip stream cut short is corrupt, not a short IDX file.
  const std::string whole = write("cut.gz", idx_bytes({1000}, 1000), true);
  std::string text;
  {
    std::ifstream f(whole, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(f), {});
  }
  const std::string cut = temp("cut2.gz");
  std::ofstream(cut, std::ios::binary) << text.substr(0, text.size() / 2);
  EXPECT_EQ(error_of(cut), cut + ": its gzip stream is truncated or corrupt");
}

TEST(FashionMnist, AMissingDataSetNamesItsPackage) {
  try {
    load_fashion_mnist(Split::kTest, temp("nowhere"));
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("the Debian package dataset-fashion-mnist"), std::string::npos) << e.what();
  }
  // Images and labels that disagree.
  const std::string dir = temp("fm");
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(write("i.gz", idx_bytes({2, 28, 28}, 2 * 28 * 28), true), dir + "/t10k-images-idx3-ubyte.gz",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(write("l.gz", idx_bytes({3}, 3), true), dir + "/t10k-labels-idx1-ubyte.gz",
                             std::filesystem::copy_options::overwrite_existing);
  try {
    load_fashion_mnist(Split::kTest, dir);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("holds 2 images but " + dir + "/t10k-labels-idx1-ubyte.gz 3 labels"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove_all(dir);
}

// The data set as published: 60,000 and 10,000 images of 28 x 28, each class a tenth of each split.
TEST(FashionMnist, TheInstalledDataSetHasItsPublishedShape) {
  for (const auto& [split, count] : {std::pair{Split::kTrain, 60000}, std::pair{Split::kTest, 10000}}) {
    const Dataset d = load_fashion_mnist(split);
    EXPECT_EQ(d.count, count);
    EXPECT_EQ(d.rows, 28);
    EXPECT_EQ(d.cols, 28);
    EXPECT_EQ(d.pixels.size(), static_cast<size_t>(count) * 28 * 28);
    std::array<int, kFashionMnistClasses> per_class{};
    for (uint8_t l : d.labels) ++per_class[l];
    for (int c = 0; c < kFashionMnistClasses; ++c) EXPECT_EQ(per_class[c], count / 10) << "class " << c;
  }
}

}  // namespace
}  // namespace tpu::train
