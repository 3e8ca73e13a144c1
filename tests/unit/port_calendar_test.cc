// The port calendar against a plain slot-by-slot model: every run at the
// earliest cycle a port is free for its whole length, on the port of the run
// before it if that one is free, else on the lowest-numbered.

#include "sim/units/unified_buffer/port_calendar.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace tpu::sim {
namespace {

// Each port's cycles, taken or not, one by one.
struct Slots {
  explicit Slots(int ports) : taken(static_cast<size_t>(ports)) {}
  std::vector<std::vector<bool>> taken;

  bool free(size_t p, Cycle s, Cycle len) {
    if (taken[p].size() < s + len) taken[p].resize(s + len, false);
    for (Cycle c = s; c < s + len; ++c)
      if (taken[p][c]) return false;
    return true;
  }
  // The start of each run, placed one after another.
  std::vector<Cycle> reserve(const PortRuns& r) {
    std::vector<Cycle> starts;
    Cycle prev_end = 0;
    size_t prev_port = taken.size();
    for (uint64_t j = 0; j < r.count; ++j) {
      // Paced: earliest + floor((j * num + offset) / den), never before `earliest`.
      int64_t paced = static_cast<int64_t>(j * r.pace_num) + r.pace_offset, q = 0;
      while ((q + 1) * static_cast<int64_t>(r.pace_den) <= paced) ++q;
      const Cycle earliest = std::max(r.earliest + static_cast<Cycle>(q), prev_end);
      for (Cycle s = earliest;; ++s) {
        size_t p = 0;
        while (p < taken.size() && !free(p, s, r.length)) ++p;
        if (p == taken.size()) continue;
        if (prev_port < taken.size() && free(prev_port, s, r.length)) p = prev_port;
        prev_port = p;
        for (Cycle c = s; c < s + r.length; ++c) taken[p][c] = true;
        starts.push_back(s);
        prev_end = s + r.length;
        break;
      }
    }
    return starts;
  }
};

std::vector<Cycle> expand(const PortGrant& g) {
  std::vector<Cycle> starts;
  for (const RunSegment& s : g.segments)
    for (uint64_t i = 0; i < s.count; ++i) starts.push_back(s.first + i * s.period);
  return starts;
}

TEST(PortCalendar, PlacesRunsAsASlotBySlotModelDoes) {
  for (uint32_t seed = 0; seed < 200; ++seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int lo, int hi) { return static_cast<uint64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
    const int ports = static_cast<int>(pick(1, 3));
    PortCalendar calendar(ports);
    Slots slots(ports);
    Cycle now = 0;
    for (int i = 0; i < 30; ++i) {
      now += pick(0, 6);
      calendar.forget_before(now);
      PortRuns r{pick(1, 12), pick(1, 4), now + pick(0, 5), pick(0, 1) ? 0 : pick(1, 9), pick(1, 4),
                 static_cast<int64_t>(pick(0, 12)) - 6};
      const PortGrant g = calendar.reserve(r);
      const std::vector<Cycle> want = slots.reserve(r);
      ASSERT_EQ(expand(g), want) << "seed " << seed << " request " << i;
      EXPECT_EQ(g.runs(), r.count);
      EXPECT_EQ(g.end(), want.back() + r.length);
    }
  }
}

TEST(PortCalendar, RowsEndingWithTheirShareOfASpanEndByIt) {
  // 4 rows of 2 cycles over 10 cycles from 20: row j ends by 20 + ceil((j + 1) * 10 / 4) = 23, 25, 28, 30.
  PortCalendar c(1);
  EXPECT_EQ(expand(c.reserve(PortRuns::ending_with(4, 2, 20, 10))), (std::vector<Cycle>{21, 23, 26, 28}));
  // More port time than span: back to back from the start.
  PortCalendar d(1);
  EXPECT_EQ(expand(d.reserve(PortRuns::ending_with(3, 4, 20, 5))), (std::vector<Cycle>{20, 24, 28}));
  PortCalendar e(1);
  EXPECT_EQ(expand(e.reserve(PortRuns::spread(3, 1, 20, 10))), (std::vector<Cycle>{20, 23, 26}));
}

TEST(PortCalendar, BackToBackRunsOnAFreePortAreOneSegment) {
  PortCalendar c(1);
  const PortGrant g = c.reserve(PortRuns::back_to_back(1000000, 2, 5));
  ASSERT_EQ(g.segments.size(), 1u);
  EXPECT_EQ(g.segments[0].first, 5u);
  EXPECT_EQ(g.segments[0].period, 2u);
  EXPECT_EQ(g.end(), 5u + 2000000u);
}

TEST(PortCalendar, ALaterRequestTakesTheCyclesLeftFreeOrASecondPort) {
  PortCalendar one(1), two(2);
  for (PortCalendar* c : {&one, &two}) c->reserve(PortRuns::spread(4, 1, 10, 8));  // cycles 10, 12, 14, 16
  // Three back-to-back runs of one cycle from 10: the gaps of the single port, the second port at once.
  EXPECT_EQ(expand(one.reserve(PortRuns::back_to_back(3, 1, 10))), (std::vector<Cycle>{11, 13, 15}));
  EXPECT_EQ(expand(two.reserve(PortRuns::back_to_back(3, 1, 10))), (std::vector<Cycle>{10, 11, 12}));
}

TEST(PortCalendar, ARequestOfNoCyclesTakesNothingAndEndsWhereItCouldBegin) {
  PortCalendar c(1);
  const PortGrant g = c.reserve(PortRuns::back_to_back(0, 3, 7));
  EXPECT_TRUE(g.segments.empty());
  EXPECT_EQ(g.end(), 7u);
  EXPECT_EQ(expand(c.reserve(PortRuns::back_to_back(1, 1, 7))), (std::vector<Cycle>{7}));
}

}  // namespace
}  // namespace tpu::sim
