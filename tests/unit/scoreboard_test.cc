// The scoreboard's exact overlap test and its hazard and sync answers.

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "sim/base/bandwidth.h"
#include "sim/base/scoreboard.h"

namespace tpu::sim {
namespace {

std::set<uint64_t> units_of(const Strided& s) {
  std::set<uint64_t> u;
  for (uint64_t i = 0; i < s.count; ++i)
    for (uint64_t b = 0; b < s.len; ++b) u.insert(s.base + i * s.stride + b);
  return u;
}

TEST(Strided, OverlapIsExactAgainstEnumeration) {
  std::mt19937 rng(7);
  auto r = [&](int lo, int hi) { return static_cast<uint64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  for (int i = 0; i < 20000; ++i) {
    const Strided a{r(0, 60), r(1, 6), r(1, 8), r(0, 12)}, b{r(0, 60), r(1, 6), r(1, 8), r(0, 12)};
    const std::set<uint64_t> ua = units_of(a), ub = units_of(b);
    bool expected = false;
    for (uint64_t x : ua) expected = expected || ub.count(x);
    ASSERT_EQ(overlaps(a, b), expected) << a.base << "," << a.len << "," << a.count << "," << a.stride << " vs "
                                        << b.base << "," << b.len << "," << b.count << "," << b.stride;
  }
}

TEST(Scoreboard, OnlyUnfinishedEarlierWritersOfAnotherUnitClash) {
  Scoreboard sb;
  const uint64_t w = sb.issue(3, isa::Unit::matrix, {{Memory::kAccumulators, true, {0, 4, 1, 0}}});
  const uint64_t r = sb.issue(5, isa::Unit::activation, {{Memory::kAccumulators, false, {2, 1, 1, 0}}});
  const uint64_t other = sb.issue(6, isa::Unit::activation, {{Memory::kAccumulators, false, {4, 2, 1, 0}}});
  EXPECT_EQ(sb.conflict(r, 10).earlier->pc, 3);
  EXPECT_EQ(sb.conflict(other, 10).earlier, nullptr);  // rows 4-5 are not written
  sb.set_done(w, 20);
  EXPECT_NE(sb.conflict(r, 19).earlier, nullptr);
  EXPECT_EQ(sb.conflict(r, 20).earlier, nullptr);  // done: visible from cycle 20
  EXPECT_EQ(sb.conflict(w, 0).earlier, nullptr);   // later instructions never block earlier ones here
}

TEST(Scoreboard, ReadersAreNotBlockedByReaders) {
  Scoreboard sb;
  sb.issue(0, isa::Unit::host, {{Memory::kUnifiedBuffer, false, {0, 64, 1, 0}}});
  const uint64_t b = sb.issue(1, isa::Unit::matrix, {{Memory::kUnifiedBuffer, false, {0, 64, 1, 0}}});
  EXPECT_EQ(sb.conflict(b, 0).earlier, nullptr);
}

TEST(Scoreboard, DoneByWaitsForUnknownEnds) {
  Scoreboard sb;
  const uint64_t a = sb.issue(0, isa::Unit::host, {});
  const uint64_t b = sb.issue(1, isa::Unit::matrix, {});
  EXPECT_EQ(sb.done_by(1u << static_cast<int>(isa::Unit::host)), kNever);
  sb.set_done(a, 40);
  EXPECT_EQ(sb.done_by(1u << static_cast<int>(isa::Unit::host)), 40u);
  EXPECT_EQ(sb.done_by(0xff), kNever);
  sb.set_done(b, 30);
  EXPECT_EQ(sb.done_by(0xff), 40u);
  sb.retire(40);
  EXPECT_EQ(sb.done_by(0xff), 0u);
}

TEST(BandwidthChannel, StreamsRoundOnceNotPerPiece) {
  BandwidthChannel link(34e9, 700e6);  // 48.57 bytes per cycle
  EXPECT_EQ(link.cycles_for(34), 1u);
  EXPECT_EQ(link.cycles_for(1000), 21u);  // 1000 * 700 / 34000 = 20.6
  BandwidthChannel stream(34e9, 700e6);
  Cycle end = 0;
  for (int i = 0; i < 10; ++i) end = stream.reserve(0, 100).end;
  EXPECT_EQ(end, stream.cycles_for(1000));        // one stream of 1000 bytes, not 10 x ceil(2.06)
  const auto gap = stream.reserve(end + 5, 100);  // after a gap a new stream starts
  EXPECT_EQ(gap.start, end + 5);
  EXPECT_EQ(gap.end, end + 5 + stream.cycles_for(100));
}

TEST(BandwidthChannel, NanosecondsRoundUpToWholeCycles) {
  EXPECT_EQ(ns_to_cycles(100, 700), 70u);
  EXPECT_EQ(ns_to_cycles(1, 700), 1u);  // 0.7 cycles
  EXPECT_EQ(ns_to_cycles(0, 700), 0u);
  EXPECT_EQ(ns_to_cycles(1000, 933.3), 934u);  // 933.3 cycles
}

}  // namespace
}  // namespace tpu::sim
