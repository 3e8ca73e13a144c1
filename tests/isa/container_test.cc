// The program container: round trips, and every kind of corruption is caught
// with a message that says what is wrong.

#include <gtest/gtest.h>

#include <boost/crc.hpp>
#include <cstdio>
#include <fstream>
#include <random>

#include "isa/encoding.h"
#include "isa/program.h"

namespace tpu::isa {
namespace {

Program sample_program() {
  Program p;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 17; ++i) {
    Word w;
    for (auto& limb : w.limbs) limb = rng();
    p.text.push_back(w);
  }
  std::vector<uint8_t> bytes(1000);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  p.dram.write(0x10000, bytes);
  p.dram.write(0x0, bytes.data(), 3);
  p.host.write(0x40, bytes.data(), 77);
  p.tensors.push_back({"input", TensorRole::kInput, DType::kI8, {1, 784}, Space::kHost, 0x40, 0.00392156862745098, -3});
  p.tensors.push_back({"logits", TensorRole::kOutput, DType::kI32, {1, 10}, Space::kUb, 0x100, 1.0, 0});
  p.metadata = {{"model", "lenet-300-100"}, {"note", std::string("binary\0ok", 9)}};
  return p;
}

std::string error_of(const std::vector<uint8_t>& bytes) {
  try {
    deserialize(bytes.data(), bytes.size(), "prog.tpb");
  } catch (const ProgramError& e) {
    return e.what();
  }
  return "";
}

void fix_checksum(std::vector<uint8_t>& bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size() - 4);
  const uint32_t c = crc.checksum();
  for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<uint8_t>(c >> (8 * i));
}

TEST(Container, RoundTripKeepsEverySection) {
  const Program p = sample_program();
  const std::vector<uint8_t> bytes = serialize(p);
  const Program back = deserialize(bytes.data(), bytes.size(), "prog.tpb");
  EXPECT_EQ(back, p);
  EXPECT_EQ(serialize(back), bytes);
  EXPECT_EQ(back.dram.segments().size(), 2u);
  EXPECT_EQ(back.tensors[0].scale, p.tensors[0].scale);
}

TEST(Container, EmptyProgramRoundTrips) {
  const std::vector<uint8_t> bytes = serialize(Program{});
  EXPECT_EQ(deserialize(bytes.data(), bytes.size(), "x"), Program{});
}

TEST(Container, SaveAndLoadThroughAFile) {
  const std::string path = testing::TempDir() + "container_test.tpb";
  save_program(sample_program(), path);
  EXPECT_EQ(load_program(path), sample_program());
  std::remove(path.c_str());
}

TEST(Container, MissingFileNamesThePath) {
  try {
    load_program("/nonexistent/dir/p.tpb");
    FAIL();
  } catch (const ProgramError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/p.tpb: cannot open"), std::string::npos) << e.what();
  }
}

TEST(Container, WrongMagicIsRejected) {
  std::vector<uint8_t> bytes = serialize(sample_program());
  bytes[0] = 'X';
  EXPECT_NE(error_of(bytes).find("prog.tpb: not a tpusim program (bad magic"), std::string::npos);
  const std::string text = "; an assembly file\n";
  EXPECT_NE(error_of({text.begin(), text.end()}).find("bad magic"), std::string::npos);
  EXPECT_NE(error_of({}).find("bad magic"), std::string::npos);
}

TEST(Container, UnsupportedVersionIsRejected) {
  std::vector<uint8_t> bytes = serialize(sample_program());
  bytes[8] = 2;
  fix_checksum(bytes);
  EXPECT_NE(error_of(bytes).find("unsupported container version 2 (this build reads version 1"), std::string::npos)
      << error_of(bytes);
}

TEST(Container, TruncationAtEveryOffsetIsDetected) {
  const std::vector<uint8_t> bytes = serialize(sample_program());
  for (size_t n = 1; n < bytes.size(); ++n) {
    const std::string e = error_of({bytes.begin(), bytes.begin() + static_cast<long>(n)});
    EXPECT_NE(e.find("truncated"), std::string::npos) << "at " << n << ": " << e;
  }
}

TEST(Container, TrailingBytesAreRejected) {
  std::vector<uint8_t> bytes = serialize(sample_program());
  bytes.push_back(0);
  EXPECT_NE(error_of(bytes).find("1 unexpected bytes after the end"), std::string::npos) << error_of(bytes);
}

TEST(Container, EveryFlippedByteIsDetected) {
  const std::vector<uint8_t> good = serialize(sample_program());
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<uint8_t> bytes = good;
    bytes[i] ^= 0x40;
    const std::string e = error_of(bytes);
    ASSERT_FALSE(e.empty()) << "flip at " << i << " went unnoticed";
    if (i < 8)
      EXPECT_NE(e.find("bad magic"), std::string::npos) << i << ": " << e;
    else if (i < 12)
      EXPECT_NE(e.find("unsupported container version"), std::string::npos) << i << ": " << e;
    else if (i >= 16 && i < 24)  // payload size: the file is now shorter or longer than promised
      EXPECT_TRUE(e.find("truncated") != std::string::npos || e.find("unexpected bytes") != std::string::npos)
          << i << ": " << e;
    else if (i >= 24 && i < 28)
      EXPECT_NE(e.find("instruction words are"), std::string::npos) << i << ": " << e;
    else
      EXPECT_NE(e.find("checksum mismatch"), std::string::npos) << i << ": " << e;
  }
}

// Corruption that a checksum cannot see (the file was written wrongly, then
// checksummed) is still caught by the structural checks.
TEST(Container, SectionRunningPastThePayloadIsRejected) {
  std::vector<uint8_t> bytes = serialize(sample_program());
  bytes[kProgramHeaderBytes + 8] = 0xff;  // first section's length, low byte
  bytes[kProgramHeaderBytes + 9] = 0xff;
  fix_checksum(bytes);
  EXPECT_NE(error_of(bytes).find("truncated section body"), std::string::npos) << error_of(bytes);
}

TEST(Container, UnknownSectionKindIsRejected) {
  std::vector<uint8_t> bytes = serialize(sample_program());
  bytes[kProgramHeaderBytes] = 9;
  fix_checksum(bytes);
  EXPECT_NE(error_of(bytes).find("unknown section kind 9"), std::string::npos) << error_of(bytes);
}

TEST(Container, PartialInstructionWordIsRejected) {
  Program p;
  p.text.resize(2);
  std::vector<uint8_t> bytes = serialize(p);
  bytes[kProgramHeaderBytes + 8] = 63;  // text length 64 -> 63
  fix_checksum(bytes);
  EXPECT_NE(error_of(bytes).find("not a whole number of words"), std::string::npos) << error_of(bytes);
}

TEST(MemoryImage, AdjacentAndOverlappingWritesMerge) {
  MemoryImage m;
  const uint8_t a[] = {1, 2, 3}, b[] = {4, 5}, c[] = {9};
  m.write(10, a, 3);
  m.write(13, b, 2);
  m.write(0, c, 1);
  ASSERT_EQ(m.segments().size(), 2u);
  EXPECT_EQ(m.segments().at(10), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  m.write(1, a, 3);  // touches byte 0 ...
  m.write(4, c, 1);
  m.write(5, a, 3);
  m.write(8, b, 2);  // ... and now reaches 10
  ASSERT_EQ(m.segments().size(), 1u);
  EXPECT_EQ(m.segments().at(0), (std::vector<uint8_t>{9, 1, 2, 3, 9, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5}));
  m.write(11, c, 1);  // overwrite inside
  EXPECT_EQ(m.read(11), 9);
  EXPECT_EQ(m.read(100), 0);
  EXPECT_EQ(m.total_bytes(), 15u);
}

}  // namespace
}  // namespace tpu::isa
