#include "isa/footprint.h"

#include <algorithm>

namespace tpu::isa {

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

Opcode opcode_of(const Word& word) { return static_cast<Opcode>(word.get(0, kOpcodeBits)); }

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

PoolShape pool_shape(const ActivateArgs& a) {
  if (a.pool == Pool::none) return {a.rows, 1, a.rows, 1};
  const uint64_t h = a.rows / a.width, w = a.width;
  if (a.pool_h > h || a.pool_w > w) return {h, w, 0, 0};
  return {h, w, (h - a.pool_h) / a.pool_sy + 1, (w - a.pool_w) / a.pool_sx + 1};
}

Footprint footprint(const Word& word, const ChipShape& shape) {
  Footprint f;
  switch (opcode_of(word)) {
    case Opcode::rhm:
    case Opcode::whm: {
      HostDmaArgs a;
      unpack(word, a);
      f.push_back({Memory::kUnifiedBuffer, opcode_of(word) == Opcode::rhm, {a.ub, a.len, a.repeat, a.ub_stride}});
      break;
    }
    case Opcode::ldw: {
      WeightLoadArgs a;
      unpack(word, a);
      f.push_back({Memory::kWeightDram, true, {a.dram, a.len, a.repeat, a.dram_stride}});
      break;
    }
    case Opcode::rdw: {
      WeightReadArgs a;
      unpack(word, a);
      f.push_back({Memory::kWeightDram, false, {a.dram, a.repeat * a.k * a.n, 1, 0}});
      break;
    }
    case Opcode::mmul: {
      MatMulArgs a;
      unpack(word, a);
      for (uint64_t l = 0; l < a.lines; ++l)
        f.push_back({Memory::kUnifiedBuffer, false, {a.ub + l * a.line_stride, shape.tile_k, a.rows, a.stride}});
      f.push_back({Memory::kAccumulators, true, {a.acc, a.rows * a.lines, 1, 0}});
      break;
    }
    case Opcode::act: {
      ActivateArgs a;
      unpack(word, a);
      f.push_back({Memory::kAccumulators, false, {a.acc, a.rows, 1, 0}});
      const uint64_t out_rows = pool_shape(a).out_rows();
      if (out_rows > 0) f.push_back({Memory::kUnifiedBuffer, true, {a.ub, out_row_bytes(a), out_rows, a.stride}});
      if (a.perlane) f.push_back({Memory::kUnifiedBuffer, false, {a.params, kLaneParamBytes * a.cols, 1, 0}});
      break;
    }
    case Opcode::vop: {
      VectorArgs a;
      unpack(word, a);
      f.push_back({Memory::kUnifiedBuffer, false, {a.a, a.len, 1, 0}});
      f.push_back({Memory::kUnifiedBuffer, false, {a.b, a.len, 1, 0}});
      f.push_back({Memory::kUnifiedBuffer, true, {a.dst, a.len, 1, 0}});
      break;
    }
    case Opcode::spmv: {
      SparseArgs a;
      unpack(word, a);
      f.push_back({Memory::kWeightDram, false, {a.dram, a.bytes, 1, 0}});
      f.push_back({Memory::kUnifiedBuffer, false, {a.in, a.cols, 1, 0}});
      if (writes_outputs(a.part)) f.push_back({Memory::kUnifiedBuffer, true, {a.out, a.rows, 1, 0}});
      break;
    }
    default: break;  // control and hop: see the header
  }
  return f;
}

}  // namespace tpu::isa
