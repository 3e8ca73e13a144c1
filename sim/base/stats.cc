#include "sim/base/stats.h"

#include <algorithm>

namespace tpu::sim {

uint64_t Counter::accrued(const Booking& b, Cycle t) {
  const When& w = b.when;
  if (t <= w.first) return 0;
  const Cycle d = t - w.first;
  const uint64_t whole = d / w.period;
  if (whole >= w.events) return b.n * w.events;
  const Cycle into = std::min<Cycle>(d - whole * w.period, w.width);
  const auto part = static_cast<uint64_t>(static_cast<unsigned __int128>(b.n) * into / w.width);
  return b.n * whole + part;
}

void Counter::credit(size_t region, uint64_t n) {
  if (n == 0) return;
  value_ += n;
  if (region >= by_region_.size()) by_region_.resize(region + 1, 0);
  by_region_[region] += n;
}

void Counter::add(uint64_t n, size_t region, When when) {
  if (n == 0 || when.events == 0) return;
  // A count repeating at a regular pace (a vector entering the array every
  // cycle) extends one booking instead of adding one per event.
  if (!pending_.empty() && when.events == 1) {
    Booking& last = pending_.back();
    When& w = last.when;
    if (last.n == n && last.region == region && w.width == when.width) {
      if (w.events == 1 && when.first >= w.first + w.width) {
        w.period = when.first - w.first;
        w.events = 2;
        return;
      }
      if (w.events > 1 && when.first == w.first + w.events * w.period) {
        ++w.events;
        return;
      }
    }
  }
  pending_.push_back({n, region, when});
}

void Counter::start(size_t region, Cycle start) {
  if (open_) stop(start);
  open_ = true;
  open_region_ = region;
  open_start_ = start;
}

void Counter::stop(Cycle end) {
  if (!open_) return;
  open_ = false;
  if (end > open_start_) add(end - open_start_, open_region_, When::over(open_start_, end));
}

void Counter::settle_before(Cycle t) {
  size_t kept = 0;
  for (Booking& b : pending_) {
    const uint64_t now = accrued(b, t);
    credit(b.region, now - b.credited);
    b.credited = now;
    if (now < b.n * b.when.events) pending_[kept++] = b;
  }
  pending_.resize(kept);
}

void Counter::finish(Cycle end) {
  stop(end);
  settle_before(end);
  pending_.clear();
}

}  // namespace tpu::sim
