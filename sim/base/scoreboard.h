#pragma once

// Program-order bookkeeping for decoupled units. Every instruction sent to a
// unit is entered at issue with the memory it will touch; when it starts, any
// earlier instruction of another unit that touches the same memory (one of
// them writing) and has not finished is a hazard: the program lacks a `sync`
// and its result would depend on timing, so the run faults. Because only
// properly synchronized programs run to the end, every result equals that of
// executing the instructions one after another.
//
// The scoreboard also answers `sync` and `halt`: when has everything issued
// to a set of units finished?

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "isa/footprint.h"
#include "isa/isa.h"
#include "sim/base/cycles.h"

namespace tpu::sim {

// What instructions touch is the ISA's statement of it (isa/footprint.h).
using isa::Access;
using isa::Footprint;
using isa::Memory;
using isa::overlaps;
using isa::Strided;

class Scoreboard {
 public:
  struct Entry {
    uint64_t seq;
    int64_t pc;
    isa::Unit unit;
    Footprint footprint;
    Cycle done = kNever;  // first cycle at which all its effects are visible; kNever until known
  };

  uint64_t issue(int64_t pc, isa::Unit unit, Footprint footprint);
  void set_done(uint64_t seq, Cycle done);

  struct Clash {
    const Entry* earlier = nullptr;  // nullptr: no clash
    Access mine;
    Access theirs;
  };
  // The earliest-issued instruction before `seq`, of another unit, that is not
  // done at `at` and touches memory seq's instruction touches, one of them writing.
  Clash conflict(uint64_t seq, Cycle at) const;

  // For a unit that runs its own instructions concurrently (the host interface): when the earlier
  // instructions of the same unit that share memory with `seq` (one of them writing) are all done;
  // kNever while one's end is not yet known, 0 when there are none.
  Cycle own_clear(uint64_t seq) const;

  // "reads unified-buffer bytes [0, 64) while pc 3 (act) writes them ..." for a fault.
  static std::string describe(const Clash& clash);

  // When everything issued so far to the units in `unit_mask` (bit i for
  // isa::Unit i) is done; kNever while some end is not yet known.
  Cycle done_by(uint32_t unit_mask) const;

  // Forgets instructions done by `at`; nothing can conflict with them later.
  void retire(Cycle at);

 private:
  const Entry* find(uint64_t seq) const;
  std::deque<Entry> entries_;  // in issue order
  uint64_t next_seq_ = 0;
};

}  // namespace tpu::sim
