#pragma once

// Buffer planning, the first pass of lowering: where every layer's output
// lives in the unified buffer. Per-lane tables (bias and requantization of
// each output channel) come first and stay for the whole run; then tensors,
// first fit by liveness, each with the border of padding the convolutions and
// pools that read it need; a flatten shares its input's bytes.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "tools/compiler/lower.h"

namespace tpu::compiler {

constexpr uint64_t kAlign = 64;  // of every tensor and host block
inline uint64_t align(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
inline uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// Bytes per element of a layer's output: 4 for int32 sums, else 1.
inline uint64_t elem_bytes(const QGraph& q, int layer) { return q.layers[static_cast<size_t>(layer)].raw ? 4 : 1; }

// Where a tensor lives in the unified buffer: NHWC with a border of padding
// (zeros) that convolutions reading it need. Vectors are N x 1 x 1 x F.
struct Buffer {
  uint64_t base = 0;
  int64_t n = 1, h = 1, w = 1, c = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;
  std::optional<int> border;  // what the padding holds, once a reader asks for it
  int64_t hp() const { return h + pt + pb; }
  int64_t wp() const { return w + pl + pr; }
  uint64_t bytes() const { return static_cast<uint64_t>(n * hp() * wp() * c); }
  bool padded() const { return pt || pl || pb || pr; }
  // Address of pixel (y, x) of image b, in unpadded coordinates (the border is at negative ones).
  uint64_t at(int64_t b, int64_t y, int64_t x) const {
    return base + static_cast<uint64_t>(((b * hp() + y + pt) * wp() + x + pl) * c);
  }
};

struct BufferPlan {
  std::vector<Buffer> buffers;        // per layer
  std::vector<int> alias;             // per layer: the layer whose bytes it shares (a flatten), or -1
  std::map<int, uint64_t> table_at;   // layer -> offset of its per-lane table
  uint64_t tables_bytes = 0;          // all tables, from unified-buffer address 0
  uint64_t peak_bytes = 0;            // highest unified-buffer address in use
};

// Throws UnifiedBufferOverflow when a tensor does not fit, ModelError when readers disagree on a
// border or a layer reads another's int32 output.
BufferPlan plan_buffers(const QGraph& q, const CompileTarget& target);

}  // namespace tpu::compiler
