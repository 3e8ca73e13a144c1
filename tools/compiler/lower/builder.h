#pragma once

// What the layer lowerings share while they emit a program: the graph and its
// buffer plan, the instructions in program order (before scheduling adds the
// weight reads and syncs), the weight image, and the helpers every family of
// layers uses: activations out of the accumulators, vector operations, host
// transfers, borders of padded buffers, and the software pipelining that
// interleaves one accumulator half's activations with the next half's
// multiplies.

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "isa/encoding.h"
#include "isa/footprint.h"
#include "tools/compiler/lower/buffers.h"
#include "tools/compiler/lower/weight_image.h"

namespace tpu::compiler {

constexpr uint64_t kMaxLen = (uint64_t{1} << 24) - 1;  // len fields are 24 bits
constexpr int32_t kIdentityMult = int32_t{1} << 30;    // with shift -1: t * 2^30 / 2^30 = t
constexpr int32_t kIdentityShift = -1;

// An instruction before scheduling: the tile it swaps in (if any) and what memory it touches.
struct Pending {
  isa::Instruction insn;
  int64_t tile = -1;
  isa::Footprint footprint;
  int layer = -1;
};

// Host memory the program uses besides the input and outputs.
struct HostLayout {
  std::map<int, uint64_t> output;    // layer -> where its output goes
  std::map<int, uint64_t> constant;  // layer -> its constant tensor
  std::map<int, uint64_t> params;    // layer -> its host step's parameter block
  uint64_t tables = 0;               // the per-lane tables, copied to the unified buffer first
  uint64_t scratch = 0;              // where host steps keep their operands
};

// An instruction with the named fields set (the others 0).
isa::Instruction instruction(isa::Opcode op, std::initializer_list<std::pair<const char*, int64_t>> fields = {});

class ProgramBuilder {
 public:
  ProgramBuilder(const QGraph& q, const CompileTarget& target, int64_t passes, BufferPlan plan);

  const QGraph& q;
  const Graph& g;
  const CompileTarget target;
  const int64_t passes;
  const uint64_t R, C;  // the matrix unit's rows (a tile's depth) and columns
  const uint64_t half;  // accumulator rows in each half
  const BufferPlan plan;
  HostLayout host;
  Lowered out;  // the program (its text comes from scheduling) and the compile report
  WeightImage weights;

  const Layer& layer(int i) const { return g.layers[static_cast<size_t>(i)]; }
  const QLayer& qlayer(int i) const { return q.layers[static_cast<size_t>(i)]; }
  const Buffer& buffer(int i) const { return plan.buffers[static_cast<size_t>(i)]; }
  LayerReport& report(int i) { return out.report.layers[static_cast<size_t>(i)]; }
  std::string where(int i) const { return g.where(layer(i)); }
  // Int8 weight planes a layer's weights run as (ONNX integer weights outside int8), each over a
  // copy of the input: the network's products are a plane's share of the array's.
  uint64_t planes(int i) const { return layer(i).given ? static_cast<uint64_t>(layer(i).given->planes) : 1; }
  uint64_t elem_bytes(int i) const { return compiler::elem_bytes(q, i); }
  // Bytes of a layer's whole (unpadded) output in host memory.
  uint64_t tensor_bytes(int i) const { return static_cast<uint64_t>(elements(layer(i).shape)) * elem_bytes(i); }

  // ---- instructions in program order
  // An instruction in program order, counted for `layer`; an mmul multiplies by a tile of
  // `tile_k` rows (the tile it swaps in, `tile`, or the one active).
  void add(int layer, isa::Instruction insn, int64_t tile = -1, uint64_t tile_k = 0);
  void tag(int layer) { add(layer, instruction(isa::Opcode::tag, {{"id", layer}})); }
  std::vector<Pending>& pending() { return pending_; }

  // ---- the matrix unit and the accumulators
  uint64_t next_half() { return (half_flip_ ^= 1) * half; }
  isa::Instruction mmul(uint64_t ub, uint64_t acc, uint64_t rows, uint64_t lines, uint64_t stride,
                        uint64_t line_stride, bool swap, bool accumulate) const;
  // An mmul by tile `tile_id` of k rows (which it swaps in, or which is active).
  void add_mmul(int layer, const isa::Instruction& m, uint64_t k, int64_t tile_id) {
    add(layer, m, m.get("swap") ? tile_id : -1, k);
  }
  // Work items sharing the weights of one pass: each needs `rows` accumulator rows; items are
  // packed into one accumulator half.
  template <class Item>
  std::vector<std::vector<Item>> pack(const std::vector<Item>& items, int layer) const;
  // Software pipelining: the activations deferred so far go out interleaved with `multiplies`
  // into the other half. The first activation comes first, so the sync before it waits only for
  // the multiplies it reads; the rest keep both units' queues fed in step.
  void interleave(std::vector<std::function<void()>>& multiplies);
  void defer(std::function<void()> activation) { deferred_.push_back(std::move(activation)); }
  void flush_deferred();

  // ---- the activation and vector units
  // One activation of `rows` accumulator rows (from acc) to unified-buffer rows `stride` apart.
  // Without the per-lane table, the requantization is `r` (by default the identity).
  void activate(int layer, uint64_t acc, uint64_t rows, uint64_t cols, uint64_t ub, uint64_t stride, uint64_t lane0,
                bool per_lane, const Requant& r = {kIdentityMult, kIdentityShift});
  // One vop: dst = func(requant(op(a, b))) over len elements.
  void vop(int layer, isa::VecOp op, uint64_t pa, uint64_t pb, uint64_t py, uint64_t len, int za, int zb, int ma,
           int mb, const Requant& r, isa::ActFunc func, int zp, int frac);
  // Sets [lo, hi) of the unified buffer to `value`: a product by 0 plus the output zero point.
  void fill_range(int layer, uint64_t lo, uint64_t hi, int value = 0);
  void zero_fill(int layer, int tensor);
  // Before a layer's first write to its buffer: a padded buffer needs a border of the tensor's
  // zero point, a real 0 (its producer writes only the interior). A border set earlier for a
  // buffer of the same shape and zero point at the same place, and untouched since, still holds.
  void prepare_output(int layer);
  // A new pass over the batch: borders are checked again (another pass's buffers may have
  // overwritten them).
  void begin_pass() { prepared_.clear(); }

  // ---- the host interface
  // rhm of the input or whm of an output: one block per image row of the unpadded tensor.
  // Its instructions count for `layer` (by default the tensor's own).
  void transfer(int tensor, isa::Opcode op, uint64_t host, int layer = -1);
  // One rhm or whm: `repeat` blocks of `len` bytes, `ub_stride` apart in the unified buffer and
  // back to back in host memory.
  void dma(int layer, isa::Opcode op, uint64_t ub, uint64_t host, uint64_t len, uint64_t repeat, uint64_t ub_stride);
  // ldw of a loaded tile from host memory (`row` bytes per row there); tiles that are whole rows
  // and follow each other in both memories share one ldw, which flush_loads emits.
  void load_tile(int layer, int64_t tile_id, uint64_t host, uint64_t row);
  void flush_loads(int layer);

 private:
  std::vector<Pending> pending_;
  std::vector<std::function<void()>> deferred_;  // activations waiting for the next multiplies
  uint64_t half_flip_ = 1;
  std::map<int, bool> prepared_;  // layers whose buffer is ready
  std::map<uint64_t, std::pair<Buffer, std::array<int64_t, 10>>> zeroed_;  // borders set, by buffer base
  struct Load {  // an ldw being assembled (load_tile)
    uint64_t host = 0, dram = 0, len = 0, repeat = 1, host_stride = 0, dram_stride = 0;
    std::vector<int64_t> tiles;
  };
  Load open_load_;
};

template <class Item>
std::vector<std::vector<Item>> ProgramBuilder::pack(const std::vector<Item>& items, int layer) const {
  std::vector<std::vector<Item>> packs;
  uint64_t used = half;
  for (const Item& it : items) {
    if (it.rows > half)
      throw ModelError(where(layer) + "one work item needs " + std::to_string(it.rows) +
                       " accumulator rows; the chip's half of the accumulators holds " + std::to_string(half));
    if (used + it.rows > half) {
      packs.emplace_back();
      used = 0;
    }
    packs.back().push_back(it);
    used += it.rows;
  }
  return packs;
}

}  // namespace tpu::compiler
