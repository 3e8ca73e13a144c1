#include "sim/units/unified_buffer/port_calendar.h"

#include <algorithm>
#include <iterator>

namespace tpu::sim {

uint64_t PortGrant::runs() const {
  uint64_t n = 0;
  for (const RunSegment& s : segments) n += s.count;
  return n;
}

Cycle PortRuns::earliest_of(uint64_t j) const {
  using Wide = __int128;
  const Wide paced = (static_cast<Wide>(j) * pace_num + pace_offset);
  // floor division, for a negative offset too
  const Wide q = paced >= 0 ? paced / static_cast<Wide>(pace_den) : -((-paced + pace_den - 1) / static_cast<Wide>(pace_den));
  return earliest + static_cast<Cycle>(q > 0 ? q : 0);
}

PortCalendar::Fit PortCalendar::first_fit(Cycle earliest, Cycle length, size_t preferred) const {
  Fit best{kNever, 0, kNever};
  for (size_t p = 0; p < busy_.size(); ++p) {
    const std::map<Cycle, Cycle>& taken = busy_[p];
    Cycle s = earliest;
    auto it = taken.upper_bound(s);
    if (it != taken.begin() && std::prev(it)->second > s) s = std::prev(it)->second;
    while (it != taken.end() && it->first < s + length) {
      s = std::max(s, it->second);
      ++it;
    }
    if (s < best.start || (s == best.start && p == preferred)) best = {s, p, it == taken.end() ? kNever : it->first};
  }
  return best;
}

void PortCalendar::take(size_t port, Cycle start, Cycle end) {
  std::map<Cycle, Cycle>& taken = busy_[port];
  auto next = taken.lower_bound(start);
  if (next != taken.end() && next->first == end) {  // touches the stretch after it
    end = next->second;
    next = taken.erase(next);
  }
  if (next != taken.begin() && std::prev(next)->second == start) {  // and the one before
    std::prev(next)->second = end;
    return;
  }
  taken.emplace(start, end);
}

PortGrant PortCalendar::reserve(const PortRuns& r) {
  PortGrant g;
  g.length = r.length;
  g.earliest = r.earliest;
  Cycle prev_end = 0;
  size_t port = busy_.size();  // of the run before: none yet
  for (uint64_t j = 0; r.length > 0 && j < r.count;) {
    const Fit fit = first_fit(std::max(r.earliest_of(j), prev_end), r.length, port);
    port = fit.port;
    // Runs that may go back to back fill the free stretch at once; paced ones go one by one.
    uint64_t m = 1;
    if (r.pace_num == 0)
      m = std::min(r.count - j, fit.free_until == kNever ? r.count - j : (fit.free_until - fit.start) / r.length);
    take(fit.port, fit.start, fit.start + m * r.length);
    std::vector<RunSegment>& segs = g.segments;
    if (!segs.empty() && segs.back().count == 1 && m == 1) {
      segs.back().period = fit.start - segs.back().first;
      segs.back().count = 2;
    } else if (!segs.empty() && fit.start == segs.back().last() + segs.back().period &&
               (m == 1 || segs.back().period == r.length)) {
      segs.back().count += m;
    } else {
      segs.push_back({fit.start, r.length, m});
    }
    prev_end = fit.start + m * r.length;
    j += m;
  }
  return g;
}

void PortCalendar::forget_before(Cycle t) {
  for (std::map<Cycle, Cycle>& taken : busy_)
    while (!taken.empty() && taken.begin()->second <= t) taken.erase(taken.begin());
}

}  // namespace tpu::sim
