#include "tools/compiler/lower/syncs.h"

#include <algorithm>

namespace tpu::compiler {

namespace {

constexpr size_t kLookBack = 4;  // accesses looked back over for one to merge into

// Blocks that leave no gap between them: the region is [lo, hi).
bool contiguous(const isa::Strided& s) { return s.count == 1 || s.stride <= s.len; }

// `into` extended by `s`, when their union is one strided region; false leaves `into` unchanged.
bool merge(isa::Strided& into, const isa::Strided& s) {
  if (contiguous(into) && contiguous(s) && s.lo() <= into.hi() && into.lo() <= s.hi()) {
    const uint64_t lo = std::min(into.lo(), s.lo()), hi = std::max(into.hi(), s.hi());
    into = {lo, hi - lo, 1, 0};
    return true;
  }
  if (s.len != into.len) return false;
  // Further blocks of the same progression.
  if (into.count >= 2 && into.stride > 0 && s.base == into.base + into.count * into.stride &&
      (s.count == 1 || s.stride == into.stride)) {
    into.count += s.count;
    return true;
  }
  // Two single blocks apart: a progression of two.
  if (into.count == 1 && s.count == 1 && s.base > into.base + into.len) {
    into = {into.base, into.len, 2, s.base - into.base};
    return true;
  }
  return false;
}

}  // namespace

uint32_t SyncTracker::needs(isa::Unit unit, const isa::Footprint& footprint) const {
  uint32_t mask = 0;
  for (size_t other = 0; other < since_sync_.size(); ++other) {
    if (other == static_cast<size_t>(unit)) continue;
    const auto clashes = [&](const isa::Access& theirs) {
      for (const isa::Access& mine : footprint)
        if (mine.space == theirs.space && (mine.write || theirs.write) && isa::overlaps(mine.where, theirs.where))
          return true;
      return false;
    };
    if (std::any_of(since_sync_[other].begin(), since_sync_[other].end(), clashes)) mask |= 1u << other;
  }
  return mask;
}

void SyncTracker::synced(uint32_t mask) {
  for (size_t u = 0; u < since_sync_.size(); ++u)
    if (mask & (1u << u)) since_sync_[u].clear();
}

void SyncTracker::placed(isa::Unit unit, const isa::Footprint& footprint) {
  auto& mine = since_sync_[static_cast<size_t>(unit)];
  for (const isa::Access& a : footprint) {
    // Into the latest access of the same kind, looking back past the few other kinds an instruction makes.
    const auto end = mine.rbegin() + static_cast<std::ptrdiff_t>(std::min(mine.size(), kLookBack));
    const auto same = std::find_if(mine.rbegin(), end,
                                   [&](const isa::Access& m) { return m.space == a.space && m.write == a.write; });
    if (same != end && merge(same->where, a.where)) continue;
    mine.push_back(a);
  }
}

}  // namespace tpu::compiler
