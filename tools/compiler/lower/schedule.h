#pragma once

// Scheduling, the last pass of lowering: the instructions in program order,
// with the weight reads (rdw) ahead of the swaps that need them, as far ahead
// as the weight FIFO holds, and a `sync` before any instruction whose memory
// another unit may still be using (SyncTracker, by the footprint function the
// chip's scoreboard uses).

#include <cstdint>
#include <vector>

#include "tools/compiler/lower/builder.h"

namespace tpu::compiler {

// Appends the scheduled program to `out.program.text`, counting its instructions in `out.report`.
void schedule(const std::vector<Pending>& pending, const WeightImage& weights, uint64_t fifo_tiles, Lowered& out);

}  // namespace tpu::compiler
