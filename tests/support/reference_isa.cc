#include "tests/support/reference_isa.h"

#include <stdexcept>

#include "isa/arith.h"
#include "isa/encoding.h"
#include "isa/host_ops.h"
#include "isa/sparse_image.h"

namespace tpu::test {

namespace arith = isa::arith;

ReferenceMachine::ReferenceMachine(const sim::ChipParams& params)
    : ub(static_cast<size_t>(params.unified_buffer.size_bytes), 0),
      acc(static_cast<size_t>(params.accumulators.entries * params.matrix_unit.cols), 0),
      cols(static_cast<uint64_t>(params.matrix_unit.cols)),
      params_(params) {}

void ReferenceMachine::run(const isa::Program& program) {
  for (const auto& [addr, bytes] : program.host.segments())
    for (size_t i = 0; i < bytes.size(); ++i) host_[addr + i] = bytes[i];
  for (const auto& [addr, bytes] : program.dram.segments())
    for (size_t i = 0; i < bytes.size(); ++i) dram_[addr + i] = bytes[i];
  // The weight FIFO is a stream: the n-th swap takes the n-th tile any rdw
  // brings, even one issued after it. Tiles of weight DRAM that no ldw writes
  // are read up front; the others when their rdw runs, in program order.
  std::vector<isa::Instruction> text(program.text.size());
  std::vector<std::pair<uint64_t, uint64_t>> loaded;  // [lo, hi) of every ldw's blocks' span
  for (size_t pc = 0; pc < program.text.size(); ++pc) {
    std::string error;
    if (!isa::decode(program.text[pc], &text[pc], &error))
      throw std::runtime_error("pc " + std::to_string(pc) + ": " + error);
    const isa::Instruction& insn = text[pc];
    if (insn.opcode() == isa::Opcode::ldw)
      loaded.emplace_back(insn.get("dram"),
                          insn.get("dram") + (insn.get("repeat") - 1) * insn.get("dram_stride") + insn.get("len"));
  }
  for (size_t pc = 0; pc < text.size(); ++pc) {
    const isa::Instruction& insn = text[pc];
    if (insn.opcode() != isa::Opcode::rdw) continue;
    const uint64_t lo = static_cast<uint64_t>(insn.get("dram"));
    const uint64_t hi = lo + static_cast<uint64_t>(insn.get("repeat") * insn.get("k") * insn.get("n"));
    first_tile_[pc] = stream_.size();
    stream_.resize(stream_.size() + static_cast<size_t>(insn.get("repeat")));
    bool dynamic = false;
    for (const auto& [l, h] : loaded) dynamic = dynamic || (l < hi && lo < h);
    if (!dynamic) fetch(insn, first_tile_[pc]);
  }
  for (size_t pc = 0; pc < text.size(); ++pc) {
    const isa::Instruction& insn = text[pc];
    if (insn.opcode() == isa::Opcode::halt) return;
    if (insn.opcode() == isa::Opcode::rdw && !stream_[first_tile_[pc]].filled) fetch(insn, first_tile_[pc]);
    execute(insn);
  }
  throw std::runtime_error("no halt");
}

void ReferenceMachine::fetch(const isa::Instruction& insn, size_t first) {
  const uint64_t k = static_cast<uint64_t>(insn.get("k")), n = static_cast<uint64_t>(insn.get("n"));
  for (int64_t t = 0; t < insn.get("repeat"); ++t) {
    Tile tile{k, n, insn.get("uw") != 0, {}, true};
    for (uint64_t b = 0; b < k * n; ++b) {
      const auto it = dram_.find(static_cast<uint64_t>(insn.get("dram")) + t * k * n + b);
      tile.w.push_back(it == dram_.end() ? 0 : it->second);
    }
    stream_[first + static_cast<size_t>(t)] = std::move(tile);
  }
}

void ReferenceMachine::execute(const isa::Instruction& insn) {
  auto v = [&](const char* field) { return insn.get(field); };
  auto u = [&](const char* field) { return static_cast<uint64_t>(insn.get(field)); };
  auto ub_at = [&](uint64_t addr) -> uint8_t& {
    if (addr >= ub.size()) throw std::runtime_error("unified buffer address out of range");
    return ub[addr];
  };
  const isa::Opcode op = insn.opcode();
  if ((op == isa::Opcode::rhm || op == isa::Opcode::whm || op == isa::Opcode::ldw) &&
      u("len") * u("repeat") > (uint64_t{1} << 30))
    throw std::runtime_error("a transfer of more than 2^30 bytes");
  switch (op) {
    case isa::Opcode::nop:
    case isa::Opcode::sync:
    case isa::Opcode::intr:
    case isa::Opcode::tag:
    case isa::Opcode::halt: return;
    case isa::Opcode::setcfg: rounding_ = static_cast<isa::Rounding>(v("value")); return;
    case isa::Opcode::rhm:
      for (uint64_t i = 0; i < u("repeat"); ++i)
        for (uint64_t b = 0; b < u("len"); ++b)
          ub_at(u("ub") + i * u("ub_stride") + b) = host(u("host") + i * u("host_stride") + b);
      return;
    case isa::Opcode::whm:
      for (uint64_t i = 0; i < u("repeat"); ++i)
        for (uint64_t b = 0; b < u("len"); ++b)
          host_[u("host") + i * u("host_stride") + b] = ub_at(u("ub") + i * u("ub_stride") + b);
      return;
    case isa::Opcode::rdw: return;  // fetched in run()
    case isa::Opcode::ldw:
      for (uint64_t i = 0; i < u("repeat"); ++i)
        for (uint64_t b = 0; b < u("len"); ++b)
          dram_[u("dram") + i * u("dram_stride") + b] = host(u("host") + i * u("host_stride") + b);
      return;
    case isa::Opcode::hop: {
      const auto fn = static_cast<isa::HostFn>(v("fn"));
      const uint64_t bytes = u("rows") * u("cols");
      if (bytes > isa::host::kMaxOperandBytes) throw std::runtime_error("hop operand too large");
      std::vector<uint8_t> src(bytes), params(isa::host::params_bytes(fn, u("cols")));
      for (uint64_t b = 0; b < bytes; ++b) src[b] = host(u("src") + b);
      for (uint64_t b = 0; b < params.size(); ++b) params[b] = host(u("params") + b);
      const std::vector<uint8_t> dst = isa::host::compute(fn, src.data(), u("rows"), u("cols"), params.data());
      for (uint64_t b = 0; b < bytes; ++b) host_[u("dst") + b] = dst[b];
      return;
    }
    case isa::Opcode::mmul: {
      if (v("swap")) {
        if (next_swap_ >= stream_.size())
          throw std::runtime_error("mmul swap, but no rdw in the program brings another tile");
        if (!stream_[next_swap_].filled)
          throw std::runtime_error(
              "mmul swap takes a tile an ldw writes, before its rdw (the reference reads such tiles in program order)");
        active_ = stream_[next_swap_++];
        has_active_ = true;
      }
      if (!has_active_) throw std::runtime_error("mmul without an active tile");
      for (uint64_t l = 0; l < u("lines"); ++l)
        for (uint64_t i = 0; i < u("rows"); ++i) {
          const uint64_t x = u("ub") + l * u("line_stride") + i * u("stride");
          const uint64_t row = u("acc") + l * u("rows") + i;
          for (uint64_t c = 0; c < active_.n; ++c) {
            int64_t sum = 0;
            for (uint64_t r = 0; r < active_.k; ++r) {
              const int64_t xv = v("uin") ? int64_t(ub_at(x + r)) : int64_t(int8_t(ub_at(x + r)));
              const uint8_t wb = active_.w[r * active_.n + c];
              const int64_t wv = active_.is_unsigned ? int64_t(wb) : int64_t(int8_t(wb));
              sum += xv * wv;
            }
            int32_t& a = acc[row * cols + c];
            a = static_cast<int32_t>(static_cast<uint32_t>(v("accumulate") ? a : 0) + static_cast<uint32_t>(sum));
          }
        }
      return;
    }
    case isa::Opcode::act: {
      const uint64_t n = u("cols"), rows = u("rows");
      std::vector<int8_t> q(rows * n);
      for (uint64_t r = 0; r < rows; ++r)
        for (uint64_t c = 0; c < n; ++c) {
          int64_t x = acc[(u("acc") + r) * cols + c];
          int64_t mult = v("mult"), shift = v("shift");
          if (v("perlane")) {
            auto word = [&](uint64_t off) {
              uint32_t w = 0;
              for (int b = 0; b < 4; ++b) w |= uint32_t(ub_at(u("params") + 12 * c + off + b)) << (8 * b);
              return int64_t(int32_t(w));
            };
            x += word(0);
            mult = word(4);
            shift = word(8);
          }
          if (v("raw")) {  // the sum itself, 4 bytes little-endian, saturated to int32
            const int64_t s = std::min<int64_t>(std::max<int64_t>(x, INT32_MIN), INT32_MAX);
            for (int b = 0; b < 4; ++b)
              ub_at(u("ub") + r * u("stride") + 4 * c + static_cast<uint64_t>(b)) =
                  uint8_t(uint32_t(int32_t(s)) >> (8 * b));
            continue;
          }
          const int8_t requantized = arith::requant8(x, int32_t(mult), int(shift), int(v("zp")), rounding_);
          q[r * n + c] = arith::lookup(
              arith::function_table(static_cast<isa::ActFunc>(v("func")), int(v("zp")), int(v("frac"))), requantized);
        }
      if (v("raw")) return;
      const auto pool = static_cast<isa::Pool>(v("pool"));
      if (pool == isa::Pool::none) {
        for (uint64_t r = 0; r < rows; ++r)
          for (uint64_t c = 0; c < n; ++c) ub_at(u("ub") + r * u("stride") + c) = uint8_t(q[r * n + c]);
        return;
      }
      const uint64_t w = u("width"), h = rows / w, ph = u("pool_h"), pw = u("pool_w");
      const uint64_t oh = (h - ph) / u("pool_sy") + 1, ow = (w - pw) / u("pool_sx") + 1;
      for (uint64_t oy = 0; oy < oh; ++oy)
        for (uint64_t ox = 0; ox < ow; ++ox)
          for (uint64_t c = 0; c < n; ++c) {
            int64_t sum = 0, best = -128;
            for (uint64_t dy = 0; dy < ph; ++dy)
              for (uint64_t dx = 0; dx < pw; ++dx) {
                const int64_t val = q[((oy * u("pool_sy") + dy) * w + ox * u("pool_sx") + dx) * n + c];
                sum += val;
                best = std::max(best, val);
              }
            const int8_t out = pool == isa::Pool::max ? int8_t(best) : arith::average(sum, int64_t(ph * pw), rounding_);
            ub_at(u("ub") + (oy * ow + ox) * u("stride") + c) = uint8_t(out);
          }
      return;
    }
    case isa::Opcode::vop: {
      const uint64_t len = u("len");
      std::vector<uint8_t> out(len);
      const auto lut = arith::function_table(static_cast<isa::ActFunc>(v("func")), int(v("zp")), int(v("frac")));
      for (uint64_t i = 0; i < len; ++i) {
        const int64_t t =
            arith::combine(static_cast<isa::VecOp>(v("op")), int8_t(ub_at(u("a") + i)), int8_t(ub_at(u("b") + i)),
                           int(v("za")), int(v("zb")), int(v("ma")), int(v("mb")));
        out[i] = uint8_t(
            arith::lookup(lut, arith::requant8(t, int32_t(v("mult")), int(v("shift")), int(v("zp")), rounding_)));
      }
      for (uint64_t i = 0; i < len; ++i) ub_at(u("dst") + i) = out[i];
      return;
    }
    case isa::Opcode::spmv: {
      // The layer as a dense matrix of weights, then every row's sum in 64 bits, wrapped to int32.
      std::vector<uint8_t> image(u("bytes"));
      for (uint64_t i = 0; i < image.size(); ++i) {
        const auto it = dram_.find(u("dram") + i);
        image[i] = it == dram_.end() ? 0 : it->second;
      }
      const isa::sparse::SparseLayer l = isa::sparse::parse(image.data(), image.size(), "spmv");
      if (l.rows != u("rows") || l.cols != u("cols")) throw std::runtime_error("spmv: the image is not rows x cols");
      const std::vector<uint8_t> w = isa::sparse::decode(l);
      // A slice (part first, middle, last) carries its sums to the next in 64 bits.
      const auto part = static_cast<isa::SparsePart>(u("part"));
      if (isa::continues_sums(part) && sparse_sums_.size() != l.rows)
        throw std::runtime_error("spmv: no sums of its rows kept to add to");
      if (!isa::continues_sums(part) && !sparse_sums_.empty())
        throw std::runtime_error("spmv: new sums while kept ones wait");
      std::vector<int64_t> sums = isa::continues_sums(part) ? sparse_sums_ : std::vector<int64_t>(l.rows, 0);
      sparse_sums_.clear();
      for (uint64_t r = 0; r < l.rows; ++r) {
        sums[r] += l.bias[r];
        for (uint64_t c = 0; c < l.cols; ++c)
          sums[r] += int64_t{l.codebook[w[r * l.cols + c]]} * (int8_t(ub_at(u("in") + c)) - v("zin"));
      }
      if (!isa::writes_outputs(part)) {
        sparse_sums_ = sums;
        return;
      }
      const auto lut = arith::function_table(static_cast<isa::ActFunc>(v("func")), int(v("zp")), int(v("frac")));
      for (uint64_t r = 0; r < l.rows; ++r) {
        const int64_t wrapped = int32_t(uint32_t(uint64_t(sums[r])));
        ub_at(u("out") + r) = uint8_t(
            arith::lookup(lut, arith::requant8(wrapped, int32_t(v("mult")), int(v("shift")), int(v("zp")), rounding_)));
      }
      return;
    }
  }
}

}  // namespace tpu::test
