// Counters: bookings spread over cycles, charged to regions, and cut at the
// run's end. Expectations come from expanding each booking window by window.

#include <gtest/gtest.h>

#include <random>

#include "sim/base/stats.h"

namespace tpu::sim {
namespace {

// What a booking has accrued by cycle `end`, window by window.
uint64_t by_windows(uint64_t n, When w, Cycle end) {
  uint64_t total = 0;
  for (uint64_t i = 0; i < w.events; ++i) {
    const Cycle from = w.first + i * w.period;
    if (end <= from) break;
    const Cycle into = std::min<Cycle>(end - from, w.width);
    total += n * into / w.width;  // small numbers here: no overflow
  }
  return total;
}

TEST(Counter, KeepsWhatHappenedBeforeTheEnd) {
  Counter c;
  c.add(5, 0, When::at(10));
  c.add(7, 0, When::at(20));
  c.finish(20);  // cycle 20 did not run
  EXPECT_EQ(c.value(), 5u);
}

TEST(Counter, SpreadsOverASpanAndKeepsTheWholeCyclesShare) {
  Counter c;
  c.add(10, 0, When::over(100, 104));  // 2.5 a cycle
  c.finish(103);                       // three of the four cycles ran
  EXPECT_EQ(c.value(), 7u);            // floor(10 * 3 / 4)
}

TEST(Counter, ChargesEachRegion) {
  Counter c;
  c.add(3, 1, When::at(0));
  c.add(4, 2, When::every(5, 2, 3));
  c.finish(100);
  EXPECT_EQ(c.in_region(1), 3u);
  EXPECT_EQ(c.in_region(2), 12u);
  EXPECT_EQ(c.in_region(0), 0u);
  EXPECT_EQ(c.value(), 15u);
}

TEST(Counter, AnOpenWaitCountsUntilItStopsOrTheRunEnds) {
  Counter stopped, open;
  stopped.start(0, 10);
  stopped.stop(25);
  open.start(0, 10);
  stopped.finish(100);
  open.finish(40);
  EXPECT_EQ(stopped.value(), 15u);
  EXPECT_EQ(open.value(), 30u);
}

TEST(Counter, CountsAddedCycleByCycleAreCutLikeAnyOther) {
  // A vector every cycle, then every third cycle, then a window per vector (as the array and its
  // input port book them one at a time): the counter merges them and still cuts at the end.
  Counter c;
  for (Cycle t = 0; t < 50; ++t) c.add(2, 0, When::at(t));
  for (Cycle t = 60; t < 90; t += 3) c.add(2, 0, When::at(t));
  for (Cycle t = 100; t < 130; t += 3) c.add(2, 0, When::windows(t + 1, 2, 3, 1));
  c.finish(115);
  const uint64_t windows_done = (115 - 101) / 3, partial = (115 - 101) % 3 >= 2 ? 2 : (115 - 101) % 3;
  EXPECT_EQ(c.value(), 2 * 50 + 2 * 10 + 2 * windows_done + partial);
}

TEST(Counter, RandomBookingsEqualTheirWindowsWhetherSettledEarlyOrNot) {
  std::mt19937 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 300; ++trial) {
    Counter early, late;
    const Cycle end = static_cast<Cycle>(pick(1, 400));
    uint64_t expected = 0;
    Cycle clock = 0;  // bookings are made as simulated time advances; settling never passes it
    for (int b = 0; b < pick(1, 30); ++b) {
      clock += static_cast<Cycle>(pick(0, 15));
      const uint64_t n = static_cast<uint64_t>(pick(1, 9));
      const Cycle width = static_cast<Cycle>(pick(1, 4));
      // Per-cycle bookings at a steady pace (merged by the counter) and arbitrary windows ahead of time.
      const When w = pick(0, 1) ? When::at(clock)
                                : When::windows(clock + static_cast<Cycle>(pick(0, 5)), width,
                                                width + static_cast<Cycle>(pick(0, 3)), static_cast<uint64_t>(pick(1, 6)));
      const size_t region = static_cast<size_t>(pick(0, 2));
      early.add(n, region, w);
      late.add(n, region, w);
      expected += by_windows(n, w, end);
      if (clock <= end && pick(0, 2) == 0) early.settle_before(clock);
    }
    early.finish(end);
    late.finish(end);
    ASSERT_EQ(late.value(), expected) << "trial " << trial;
    ASSERT_EQ(early.value(), expected) << "trial " << trial;
    ASSERT_EQ(early.in_region(0) + early.in_region(1) + early.in_region(2), expected);
  }
}

}  // namespace
}  // namespace tpu::sim
