// What each instruction touches (isa/footprint.h), against the semantics of
// isa.def spelled out as loops: every unit an instruction reads or writes is
// enumerated by hand and compared with the units its footprint names.

#include "isa/footprint.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>

#include "isa/assembler.h"

namespace tpu::isa {
namespace {

// The one instruction of an assembly line.
Word word_of(const std::string& line) {
  const AssembleResult r = assemble(line + "\n", "footprint_test.s");
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : format_diagnostic(r.errors[0]));
  EXPECT_EQ(r.program.text.size(), 1u);
  return r.ok() && !r.program.text.empty() ? r.program.text[0] : Word{};
}

// Units touched, by memory and whether written.
using Units = std::map<std::pair<Memory, bool>, std::set<uint64_t>>;

Units units_of(const Footprint& f) {
  Units u;
  for (const Access& a : f)
    for (uint64_t i = 0; i < a.where.count; ++i)
      for (uint64_t b = 0; b < a.where.len; ++b) u[{a.space, a.write}].insert(a.where.base + i * a.where.stride + b);
  return u;
}

void add_range(Units& u, Memory m, bool write, uint64_t lo, uint64_t len) {
  for (uint64_t x = lo; x < lo + len; ++x) u[{m, write}].insert(x);
}

constexpr Memory kUb = Memory::kUnifiedBuffer, kAcc = Memory::kAccumulators, kDram = Memory::kWeightDram;

void expect_access(const Access& a, Memory m, bool write, Strided s) {
  EXPECT_EQ(a.space, m);
  EXPECT_EQ(a.write, write);
  EXPECT_EQ(a.where.base, s.base);
  EXPECT_EQ(a.where.len, s.len);
  EXPECT_EQ(a.where.count, s.count);
  EXPECT_EQ(a.where.stride, s.stride);
}

TEST(Footprint, RhmWritesItsStridedUnifiedBufferBlocks) {
  const uint64_t ub = 0x40, len = 8, repeat = 3, ub_stride = 20;
  const Footprint f = footprint(word_of("rhm host=0x1000 ub=0x40 len=8 repeat=3 host_stride=100 ub_stride=20"), {});
  Units want;
  for (uint64_t i = 0; i < repeat; ++i) add_range(want, kUb, true, ub + i * ub_stride, len);
  EXPECT_EQ(units_of(f), want);
  ASSERT_EQ(f.size(), 1u);
  expect_access(f[0], kUb, true, {ub, len, repeat, ub_stride});
}

TEST(Footprint, WhmReadsItsStridedUnifiedBufferBlocks) {
  const uint64_t ub = 0x100, len = 5, repeat = 4, ub_stride = 7;
  const Footprint f = footprint(word_of("whm host=0 ub=0x100 len=5 repeat=4 host_stride=5 ub_stride=7"), {});
  Units want;
  for (uint64_t i = 0; i < repeat; ++i) add_range(want, kUb, false, ub + i * ub_stride, len);
  EXPECT_EQ(units_of(f), want);
}

TEST(Footprint, LdwWritesItsStridedWeightDramBlocks) {
  const uint64_t dram = 0x2000, len = 16, repeat = 3, dram_stride = 64;
  const Footprint f = footprint(word_of("ldw host=0 dram=0x2000 len=16 repeat=3 host_stride=16 dram_stride=64"), {});
  Units want;
  for (uint64_t i = 0; i < repeat; ++i) add_range(want, kDram, true, dram + i * dram_stride, len);
  EXPECT_EQ(units_of(f), want);
  ASSERT_EQ(f.size(), 1u);
  expect_access(f[0], kDram, true, {dram, len, repeat, dram_stride});
}

TEST(Footprint, RdwReadsItsTilesBackToBack) {
  const uint64_t dram = 0x300, repeat = 3, k = 4, n = 5;
  const Footprint f = footprint(word_of("rdw dram=0x300 repeat=3 k=4 n=5"), {});
  Units want;
  for (uint64_t t = 0; t < repeat; ++t) add_range(want, kDram, false, dram + t * k * n, k * n);  // tile t
  EXPECT_EQ(units_of(f), want);
}

TEST(Footprint, MmulReadsTileKBytesPerVectorOfEveryLine) {
  const uint64_t ub = 0x100, acc = 10, rows = 3, lines = 2, stride = 16, line_stride = 200, k = 5;
  const Footprint f =
      footprint(word_of("mmul ub=0x100 acc=10 rows=3 lines=2 stride=16 line_stride=200 swap"), ChipShape{k});
  Units want;
  for (uint64_t l = 0; l < lines; ++l)
    for (uint64_t i = 0; i < rows; ++i) {
      add_range(want, kUb, false, ub + l * line_stride + i * stride, k);  // x, a k-byte vector
      add_range(want, kAcc, true, acc + l * rows + i, 1);                 // accumulator row acc + l*rows + i
    }
  EXPECT_EQ(units_of(f), want);
  ASSERT_EQ(f.size(), 3u);  // one access per line, then the accumulator rows
  expect_access(f[0], kUb, false, {ub, k, rows, stride});
  expect_access(f[1], kUb, false, {ub + line_stride, k, rows, stride});
  expect_access(f[2], kAcc, true, {acc, rows * lines, 1, 0});
}

TEST(Footprint, MmulVectorBytesComeFromTheActiveTile) {
  const Word w = word_of("mmul ub=0 acc=0 rows=2 stride=8");
  EXPECT_EQ(footprint(w, ChipShape{3})[0].where.len, 3u);
  EXPECT_EQ(footprint(w, ChipShape{8})[0].where.len, 8u);
  EXPECT_EQ(footprint(w, ChipShape{8})[0].where.hi(), 8u + 8u);  // vectors 0 and 1 of 8 bytes, 8 apart
}

TEST(Footprint, ActReadsItsRowsAndWritesOneStridedRowEach) {
  const uint64_t acc = 2, ub = 0x80, rows = 4, cols = 3, stride = 10;
  const Footprint f = footprint(word_of("act acc=2 ub=0x80 rows=4 cols=3 stride=10 mult=0x40000000"), {});
  Units want;
  for (uint64_t r = 0; r < rows; ++r) {
    add_range(want, kAcc, false, acc + r, 1);
    add_range(want, kUb, true, ub + r * stride, cols);  // cols bytes at ub + r*stride
  }
  EXPECT_EQ(units_of(f), want);
  ASSERT_EQ(f.size(), 2u);
  expect_access(f[0], kAcc, false, {acc, rows, 1, 0});
  expect_access(f[1], kUb, true, {ub, cols, rows, stride});
}

TEST(Footprint, RawActWritesFourBytesPerLane) {
  const uint64_t ub = 0x200, rows = 2, cols = 3, stride = 16;
  const Footprint f = footprint(word_of("act acc=0 ub=0x200 rows=2 cols=3 stride=16 mult=0 raw"), {});
  Units want;
  add_range(want, kAcc, false, 0, rows);
  for (uint64_t r = 0; r < rows; ++r) add_range(want, kUb, true, ub + r * stride, 4 * cols);  // an int32 per lane
  EXPECT_EQ(units_of(f), want);
}

// The output rows of a pool over an image h rows by w, counted window by window.
uint64_t windows(uint64_t h, uint64_t w, uint64_t ph, uint64_t pw, uint64_t sy, uint64_t sx) {
  uint64_t n = 0;
  for (uint64_t y = 0; y + ph <= h; y += sy)
    for (uint64_t x = 0; x + pw <= w; x += sx) ++n;
  return n;
}

TEST(Footprint, PooledActWritesOneRowPerValidWindow) {
  // A 3-by-5 image (15 rows, width 5), 2x2 windows, vertical stride 1, horizontal stride 2:
  // windows start at y 0 and 1 and at x 0 and 2 (one at x 4 would leave the image).
  const uint64_t acc = 20, ub = 0x500, rows = 15, cols = 6, stride = 9;
  const uint64_t out = windows(3, 5, 2, 2, 1, 2);
  ASSERT_EQ(out, 4u);
  const Footprint f = footprint(
      word_of("act acc=20 ub=0x500 rows=15 cols=6 stride=9 pool=max pool_h=2 pool_w=2 pool_sy=1 pool_sx=2 width=5 "
              "mult=0x40000000"),
      {});
  Units want;
  add_range(want, kAcc, false, acc, rows);  // all the rows of the image are read
  for (uint64_t r = 0; r < out; ++r) add_range(want, kUb, true, ub + r * stride, cols);
  EXPECT_EQ(units_of(f), want);
  ASSERT_EQ(f.size(), 2u);
  expect_access(f[1], kUb, true, {ub, cols, out, stride});
}

TEST(Footprint, PoolShapeCountsValidWindows) {
  ActivateArgs a;
  a.rows = 7 * 9, a.width = 9, a.pool = Pool::avg, a.pool_h = 3, a.pool_w = 2, a.pool_sy = 2, a.pool_sx = 3;
  const PoolShape s = pool_shape(a);
  EXPECT_EQ(s.in_h, 7u);
  EXPECT_EQ(s.in_w, 9u);
  EXPECT_EQ(s.out_rows(), windows(7, 9, 3, 2, 2, 3));
  a.pool = Pool::none;
  EXPECT_EQ(pool_shape(a).out_rows(), a.rows);  // one output row per accumulator row
  a.pool = Pool::max, a.pool_h = 8;             // taller than the image: nothing is written
  EXPECT_EQ(pool_shape(a).out_rows(), 0u);
  EXPECT_EQ(footprint(pack(Opcode::act, a), {}).size(), 1u);  // only the accumulator rows
}

TEST(Footprint, PerLaneActAlsoReadsTwelveBytesPerLane) {
  const uint64_t params = 0x400, cols = 3;
  const Footprint f = footprint(word_of("act acc=0 ub=0 rows=1 cols=3 stride=3 mult=0 perlane params=0x400"), {});
  ASSERT_EQ(f.size(), 3u);  // accumulator rows, output rows, then the table
  Units table;
  add_range(table, kUb, false, params, 12 * cols);  // int32 bias, multiplier and shift per lane
  EXPECT_EQ(units_of({f[2]}), table);
}

TEST(Footprint, VopReadsAAndBThenWritesDst) {
  const uint64_t a = 0x10, b = 0x30, dst = 0x18, len = 12;
  const Footprint f = footprint(word_of("vop op=add a=0x10 b=0x30 dst=0x18 len=12 mult=0x40000000"), {});
  ASSERT_EQ(f.size(), 3u);
  expect_access(f[0], kUb, false, {a, len, 1, 0});
  expect_access(f[1], kUb, false, {b, len, 1, 0});
  expect_access(f[2], kUb, true, {dst, len, 1, 0});
  Units want;
  add_range(want, kUb, false, a, len);
  add_range(want, kUb, false, b, len);
  add_range(want, kUb, true, dst, len);
  EXPECT_EQ(units_of(f), want);
}

TEST(Footprint, HostOperationsAndControlTouchNoChipMemory) {
  for (const char* line : {"hop fn=softmax src=0 dst=0x100 rows=2 cols=8", "sync units=host|matrix", "nop repeat=3",
                           "halt", "setcfg reg=round value=1", "intr code=2", "tag id=4"})
    EXPECT_TRUE(footprint(word_of(line), ChipShape{8}).empty()) << line;
}

}  // namespace
}  // namespace tpu::isa
