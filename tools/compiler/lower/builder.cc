#include "tools/compiler/lower/builder.h"

#include <algorithm>

namespace tpu::compiler {

namespace {

uint64_t int8_weights(const QGraph& q) {
  uint64_t weights = 0;
  for (const QLayer& l : q.layers) weights += l.weights.size();
  return weights;
}

}  // namespace

ProgramBuilder::ProgramBuilder(const QGraph& q, const CompileTarget& target, int64_t passes, BufferPlan plan)
    : q(q),
      g(*q.graph),
      target(target),
      passes(passes),
      R(static_cast<uint64_t>(target.rows)),
      C(static_cast<uint64_t>(target.cols)),
      half(static_cast<uint64_t>(target.accumulator_entries) / 2),
      plan(std::move(plan)),
      // Room for the int8 weights (a hint: depthwise and pooling tiles take more).
      weights(out.program, q.values, q.values ? int8_weights(q) : 0, R * C) {
  out.report.layers.resize(g.layers.size());
  for (size_t i = 0; i < g.layers.size(); ++i) {
    out.report.layers[i].name = g.layers[i].name;
    out.report.layers[i].op = op_name(g.layers[i].op);
  }
  out.report.ub_peak_bytes = this->plan.peak_bytes;
}

isa::Instruction instruction(isa::Opcode op, std::initializer_list<std::pair<const char*, int64_t>> fields) {
  isa::Instruction insn = isa::make_instruction(isa::spec_of(op));
  for (const auto& [name, value] : fields) insn.set(name, value);
  return insn;
}

void ProgramBuilder::add(int layer, isa::Instruction insn, int64_t tile, uint64_t tile_k) {
  for (size_t i = 0; i < insn.fields().size; ++i) {
    const std::string problem = isa::check_value(insn.fields()[i], insn.values[i]);
    if (!problem.empty())
      throw ModelError(where(layer) + "does not fit the instruction set: " + std::string(insn.spec->mnemonic) + " " +
                       problem);
  }
  pending_.push_back({insn, tile, isa::footprint(isa::encode(insn), isa::ChipShape{tile_k}), layer});
  ++report(layer).instructions;
}

isa::Instruction ProgramBuilder::mmul(uint64_t ub, uint64_t acc, uint64_t rows, uint64_t lines, uint64_t stride,
                                      uint64_t line_stride, bool swap, bool accumulate) const {
  return instruction(isa::Opcode::mmul, {{"ub", ub},
                                  {"acc", acc},
                                  {"rows", rows},
                                  {"lines", lines},
                                  {"stride", stride},
                                  {"line_stride", line_stride},
                                  {"swap", swap},
                                  {"accumulate", accumulate}});
}

void ProgramBuilder::interleave(std::vector<std::function<void()>>& multiplies) {
  std::vector<std::function<void()>> acts;
  acts.swap(deferred_);
  size_t i = 0, j = 0;
  while (i < acts.size() || j < multiplies.size()) {
    if (i < acts.size() && (j >= multiplies.size() || i * multiplies.size() <= j * acts.size()))
      acts[i++]();
    else
      multiplies[j++]();
  }
}

void ProgramBuilder::flush_deferred() {
  std::vector<std::function<void()>> work;
  work.swap(deferred_);
  for (auto& w : work) w();
}

void ProgramBuilder::activate(int layer, uint64_t acc, uint64_t rows, uint64_t cols, uint64_t ub, uint64_t stride,
                              uint64_t lane0, bool per_lane, const Requant& r) {
  prepare_output(layer);
  const QLayer& ql = qlayer(layer);
  auto a = instruction(isa::Opcode::act, {{"acc", int64_t(acc)},
                                   {"ub", int64_t(ub)},
                                   {"rows", int64_t(rows)},
                                   {"cols", int64_t(cols)},
                                   {"stride", int64_t(stride)},
                                   {"func", int64_t(ql.func)},
                                   {"zp", ql.act_zp},
                                   {"frac", ql.frac},
                                   {"raw", ql.raw}});
  if (per_lane) {
    a.set("perlane", 1);
    a.set("params", static_cast<int64_t>(plan.table_at.at(layer) + isa::kLaneParamBytes * lane0));
    a.set("mult", 0);
  } else {
    a.set("mult", r.mult);
    a.set("shift", r.shift);
  }
  add(layer, a);
}

void ProgramBuilder::vop(int layer, isa::VecOp op, uint64_t pa, uint64_t pb, uint64_t py, uint64_t len, int za,
                         int zb, int ma, int mb, const Requant& r, isa::ActFunc func, int zp, int frac) {
  prepare_output(layer);
  const auto v = instruction(isa::Opcode::vop, {{"op", int64_t(op)},
                                         {"a", int64_t(pa)},
                                         {"b", int64_t(pb)},
                                         {"dst", int64_t(py)},
                                         {"len", int64_t(len)},
                                         {"za", za},
                                         {"zb", zb},
                                         {"ma", ma},
                                         {"mb", mb},
                                         {"mult", r.mult},
                                         {"shift", r.shift},
                                         {"zp", zp},
                                         {"func", int64_t(func)},
                                         {"frac", frac}});
  add(layer, v);
}

void ProgramBuilder::fill_range(int layer, uint64_t lo, uint64_t hi, int value) {
  for (uint64_t at = lo; at < hi; at += kMaxLen) {
    const uint64_t len = std::min(kMaxLen, hi - at);
    const auto v = instruction(isa::Opcode::vop, {{"op", int64_t(isa::VecOp::mul)},
                                           {"a", int64_t(at)},
                                           {"b", int64_t(at)},
                                           {"dst", int64_t(at)},
                                           {"len", int64_t(len)},
                                           {"mult", 0},
                                           {"zp", value}});
    add(layer, v);
  }
}

void ProgramBuilder::zero_fill(int layer, int tensor) {
  const Buffer& b = buffer(tensor);
  fill_range(layer, b.base, b.base + b.bytes());
}

void ProgramBuilder::prepare_output(int layer) {
  if (prepared_[layer] || plan.alias[static_cast<size_t>(layer)] >= 0) return;
  prepared_[layer] = true;
  const Buffer& b = buffer(layer);
  const int zp = b.border.value_or(0);
  const std::array<int64_t, 10> shape = {b.n, b.h, b.w, b.c, b.pt, b.pl, b.pb, b.pr, static_cast<int64_t>(b.base), zp};
  for (auto it = zeroed_.begin(); it != zeroed_.end();) {
    const Buffer& z = it->second.first;
    const bool same = it->second.second == shape;
    if (!same && z.base < b.base + b.bytes() && b.base < z.base + z.bytes())
      it = zeroed_.erase(it);
    else
      ++it;
  }
  if (!b.padded()) return;
  if (zeroed_.count(b.base) && zeroed_[b.base].second == shape) return;
  for (int64_t n = 0; n < b.n; ++n) {
    fill_range(layer, b.at(n, -b.pt, -b.pl), b.at(n, 0, 0), zp);
    for (int64_t r = 0; r + 1 < b.h; ++r) fill_range(layer, b.at(n, r, b.w), b.at(n, r + 1, 0), zp);
    fill_range(layer, b.at(n, b.h - 1, b.w), b.at(n, b.h + b.pb - 1, b.w + b.pr), zp);
  }
  zeroed_[b.base] = {b, shape};
}

void ProgramBuilder::transfer(int tensor, isa::Opcode op, uint64_t host, int layer) {
  if (op == isa::Opcode::rhm) prepare_output(tensor);
  const Buffer& b = buffer(tensor);
  const uint64_t row = static_cast<uint64_t>(b.w * b.c);
  const int by = layer >= 0 ? layer : tensor;
  if (!b.padded() && row * static_cast<uint64_t>(b.h * b.n) <= kMaxLen) {
    dma(by, op, b.base, host, row * static_cast<uint64_t>(b.h * b.n), 1, 0);
    return;
  }
  for (int64_t n = 0; n < b.n; ++n)
    dma(by, op, b.at(n, 0, 0), host + static_cast<uint64_t>(n * b.h) * row, row, static_cast<uint64_t>(b.h),
        static_cast<uint64_t>(b.wp() * b.c));
}

void ProgramBuilder::dma(int layer, isa::Opcode op, uint64_t ub, uint64_t host, uint64_t len, uint64_t repeat,
                         uint64_t ub_stride) {
  const auto x = instruction(
      op, {{"host", host}, {"ub", ub}, {"len", len}, {"repeat", repeat}, {"host_stride", len}, {"ub_stride", ub_stride}});
  add(layer, x);
}

void ProgramBuilder::load_tile(int layer, int64_t tile_id, uint64_t host, uint64_t row) {
  const Tile& t = weights[tile_id];
  const bool whole = t.n == row;
  if (whole && open_load_.len > 0 && open_load_.repeat == 1 && open_load_.host + open_load_.len == host &&
      open_load_.dram + open_load_.len == t.dram && open_load_.len + t.k * t.n <= kMaxLen) {
    open_load_.len += t.k * t.n;
    open_load_.tiles.push_back(tile_id);
    return;
  }
  flush_loads(layer);
  open_load_ =
      whole ? Load{host, t.dram, t.k * t.n, 1, 0, 0, {tile_id}} : Load{host, t.dram, t.n, t.k, row, t.n, {tile_id}};
}

void ProgramBuilder::flush_loads(int layer) {
  if (open_load_.len == 0) return;
  const Load& o = open_load_;
  const auto w = instruction(isa::Opcode::ldw, {{"host", o.host},
                                         {"dram", o.dram},
                                         {"len", o.len},
                                         {"repeat", o.repeat},
                                         {"host_stride", o.host_stride},
                                         {"dram_stride", o.dram_stride}});
  add(layer, w);
  for (int64_t t : o.tiles) weights[t].fill = static_cast<int64_t>(pending_.size()) - 1;
  open_load_ = Load{};
}

}  // namespace tpu::compiler
