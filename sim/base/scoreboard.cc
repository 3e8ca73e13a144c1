#include "sim/base/scoreboard.h"

#include <algorithm>

namespace tpu::sim {

namespace {

const char* space_name(Memory s) {
  switch (s) {
    case Memory::kUnifiedBuffer: return "unified-buffer bytes";
    case Memory::kAccumulators: return "accumulator rows";
    case Memory::kWeightDram: return "weight-DRAM bytes";
  }
  return "?";
}

}  // namespace

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

Cycle Scoreboard::own_clear(uint64_t seq) const {
  const Entry* me = find(seq);
  if (me == nullptr) return 0;
  Cycle clear = 0;
  for (const Entry& e : entries_) {
    if (e.seq >= seq) break;
    if (e.unit != me->unit) continue;
    for (const Access& mine : me->footprint)
      for (const Access& theirs : e.footprint)
        if (mine.space == theirs.space && (mine.write || theirs.write) && overlaps(mine.where, theirs.where)) {
          if (e.done == kNever) return kNever;
          clear = std::max(clear, e.done);
        }
  }
  return clear;
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
  if (c.mine.space == Memory::kWeightDram && !c.theirs.write)
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
