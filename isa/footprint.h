#pragma once

// What an instruction touches: the exact strided regions of the unified
// buffer, the accumulators and weight DRAM it reads and writes, by the
// semantics of isa.def. The one statement of it: the simulator's scoreboard
// faults on what it says, and the compiler places `sync` by it, so a program
// the compiler emits never trips a hazard the chip would see.
//
// Host memory is not part of a footprint: only the host interface touches it,
// and it runs its instructions in order.

#include <cstdint>
#include <vector>

#include "isa/isa.h"
#include "isa/word.h"

namespace tpu::isa {

enum class Memory : uint8_t { kUnifiedBuffer, kAccumulators, kWeightDram };

// `count` blocks of `len` units `stride` apart from `base`: bytes of the
// unified buffer or weight DRAM, or rows of the accumulators.
struct Strided {
  uint64_t base = 0;
  uint64_t len = 0;
  uint64_t count = 1;
  uint64_t stride = 0;
  uint64_t lo() const { return base; }
  uint64_t hi() const { return base + (count - 1) * stride + len; }  // one past the last unit
};

// Whether some block of `a` shares a unit with some block of `b`, exactly.
bool overlaps(const Strided& a, const Strided& b);

struct Access {
  Memory space;
  bool write;
  Strided where;
};
using Footprint = std::vector<Access>;

// What a footprint depends on beyond the instruction's own fields. Only an
// mmul needs more: the bytes of each input vector are the rows of the weight
// tile active when it runs, which an earlier rdw and the swaps between decide.
struct ChipShape {
  uint64_t tile_k = 0;  // rows (input lanes) of the weight tile an mmul multiplies by
};

inline constexpr uint64_t kLaneParamBytes = 12;  // a per-lane table entry: int32 bias, multiplier, shift

// The image an act pools, and the output rows it writes: one per accumulator
// row without pooling, else one per valid window of the image `width` rows
// wide (none when the window does not fit, which the activation unit refuses).
struct PoolShape {
  uint64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  uint64_t out_rows() const { return out_h * out_w; }
};
PoolShape pool_shape(const ActivateArgs& a);

// Bytes of each output row of an act: one per lane, or an int32 per lane when raw.
inline uint64_t out_row_bytes(const ActivateArgs& a) { return a.raw ? 4 * a.cols : a.cols; }

// Every access of a decoded word, in a fixed order per instruction (which
// names the first of several clashes in a hazard):
//   rhm, whm  the unified-buffer blocks (rhm writes them, whm reads them)
//   ldw       the weight-DRAM blocks it writes
//   rdw       the repeat * k * n bytes of weight DRAM it reads
//   mmul      per line, the `rows` input vectors of tile_k bytes it reads; then the accumulator rows it writes
//   act       the accumulator rows it reads; the output rows it writes; with perlane, the table it reads
//   vop       a and b (read), then dst (written)
//   spmv      the layer image in weight DRAM (read, whether or not it is resident), the
//             input vector (read), then the output vector (written, unless its part keeps the sums)
// Control instructions and hop touch none of these memories.
// Fields are taken as the units check them (a pooling window that fits; counts at least 1).
Footprint footprint(const Word& word, const ChipShape& shape);

}  // namespace tpu::isa
