#pragma once

// Where a program needs `sync`: what each unit has touched since a sync last
// waited for it, as exact strided regions (isa::footprint), and which units an
// instruction must wait for because it reads what one of them writes, or
// writes what one of them reads or writes. These are the hazards the chip's
// scoreboard faults on, stated by the same function, so an instruction placed
// after the syncs this asks for never faults; and as the regions are exact, no
// sync is asked for where blocks of two strided accesses only interleave.

#include <array>
#include <cstdint>
#include <vector>

#include "isa/footprint.h"
#include "isa/isa.h"

namespace tpu::compiler {

class SyncTracker {
 public:
  // The units (bit i for isa::Unit i) an instruction of `unit` touching
  // `footprint` must wait for; its own unit runs in order and is never among them.
  uint32_t needs(isa::Unit unit, const isa::Footprint& footprint) const;
  // A sync has waited for the units in `mask`: nothing they touched can clash any more.
  void synced(uint32_t mask);
  // An instruction of `unit` touching `footprint` has been placed.
  void placed(isa::Unit unit, const isa::Footprint& footprint);

 private:
  // Per unit, what it touched since its last sync; an access is merged into
  // the one before it only where the union is again one strided region.
  std::array<std::vector<isa::Access>, 8> since_sync_;
};

}  // namespace tpu::compiler
