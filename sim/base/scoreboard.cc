#include "sim/base/scoreboard.h"

#include <algorithm>

namespace tpu::sim {

namespace {

using i128 = __int128;

i128 floor_div(i128 a, i128 b) {  // b > 0
  i128 q = a / b;
  if ((a % b != 0) && (a < 0)) --q;
  return q;
}

// Does block range [0, n) of {b0, lb, n, sb} meet [x, x + len)?
bool meets(i128 x, i128 len, const Strided& b) {
  if (b.count == 1 || b.stride == 0) return x < i128(b.base) + i128(b.len) && i128(b.base) < x + len;
  const i128 sb = b.stride;
  // Block j meets when b0 + j*sb < x + len and b0 + j*sb + lb > x.
  const i128 j_min = floor_div(x - i128(b.base) - i128(b.len), sb) + 1;
  const i128 j_max = -floor_div(-(x + len - i128(b.base)), sb) - 1;  // ceil(...) - 1
  return std::max<i128>(j_min, 0) <= std::min<i128>(j_max, i128(b.count) - 1);
}

const char* space_name(Space s) {
  switch (s) {
    case Space::kUnifiedBuffer: return "unified-buffer bytes";
    case Space::kAccumulators: return "accumulator rows";
    case Space::kWeightDram: return "weight-DRAM bytes";
  }
  return "?";
}

}  // namespace

bool overlaps(const Strided& a, const Strided& b) {
  if (a.len == 0 || b.len == 0 || a.count == 0 || b.count == 0) return false;
  if (a.hi() <= b.lo() || b.hi() <= a.lo()) return false;
  const Strided& few = a.count <= b.count ? a : b;
  const Strided& many = a.count <= b.count ? b : a;
  const uint64_t n = few.stride == 0 ? 1 : few.count;
  for (uint64_t i = 0; i < n; ++i)
    if (meets(i128(few.base) + i128(i) * few.stride, few.len, many)) return true;
  return false;
}

uint64_t Scoreboard::issue(int64_t pc, isa::Unit unit, Footprint footprint) {
  entries_.push_back({next_seq_, pc, unit, std::move(footprint), kNever});
  return next_seq_++;
}

const Scoreboard::Entry* Scoreboard::find(uint64_t seq) const {
  for (const Entry& e : entries_)
    if (e.seq == seq) return &e;
  return nullptr;
}

void Scoreboard::set_done(uint64_t seq, Cycle done) {
  for (Entry& e : entries_)
    if (e.seq == seq) e.done = done;
}

Scoreboard::Clash Scoreboard::conflict(uint64_t seq, Cycle at) const {
  const Entry* me = find(seq);
  if (me == nullptr) return {};
  for (const Entry& e : entries_) {
    if (e.seq >= seq) break;
    if (e.unit == me->unit || (e.done != kNever && e.done <= at)) continue;
    for (const Access& mine : me->footprint)
      for (const Access& theirs : e.footprint)
        if (mine.space == theirs.space && (mine.write || theirs.write) && overlaps(mine.where, theirs.where))
          return {&e, mine, theirs};
  }
  return {};
}

std::string Scoreboard::describe(const Clash& c) {
  const std::string unit(isa::to_string(c.earlier->unit));
  std::string s = "hazard: this instruction ";
  s += c.mine.write ? "writes " : "reads ";
  s += std::string(space_name(c.mine.space)) + " [" + std::to_string(c.mine.where.lo()) + ", " +
       std::to_string(c.mine.where.hi()) + ") that the earlier instruction at pc " + std::to_string(c.earlier->pc) +
       " (" + unit + " unit) " + (c.theirs.write ? "writes" : "reads");
  s += ", and has not finished";
  // An rdw is done once taken, but streams its tiles later: only the mmul taking them tells.
  if (c.mine.space == Space::kWeightDram && !c.theirs.write)
    return s + "; wait for the mmul that swaps in its last tile (`sync units=matrix`) before this instruction";
  s += "; add `sync units=" + unit + "` before this instruction";
  return s;
}

Cycle Scoreboard::done_by(uint32_t unit_mask) const {
  Cycle latest = 0;
  for (const Entry& e : entries_) {
    if (!((unit_mask >> static_cast<unsigned>(e.unit)) & 1)) continue;
    if (e.done == kNever) return kNever;
    latest = std::max(latest, e.done);
  }
  return latest;
}

void Scoreboard::retire(Cycle at) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [at](const Entry& e) { return e.done != kNever && e.done <= at; }),
                 entries_.end());
}

}  // namespace tpu::sim
