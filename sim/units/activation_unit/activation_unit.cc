#include "sim/units/activation_unit/activation_unit.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "isa/arith.h"

namespace tpu::sim {

namespace {

namespace arith = isa::arith;

using isa::kLaneParamBytes;
using isa::out_row_bytes;
using isa::pool_shape;

// Why a pooled act's image or window is malformed, or "".
std::string pool_error(const isa::ActivateArgs& a) {
  if (a.pool == isa::Pool::none) return {};
  if (a.rows % a.width != 0)
    return "rows=" + std::to_string(a.rows) +
           " is not a whole number of image rows of width=" + std::to_string(a.width);
  const uint64_t h = a.rows / a.width, w = a.width;
  if (a.pool_h > h || a.pool_w > w)
    return "pooling window " + std::to_string(a.pool_h) + "x" + std::to_string(a.pool_w) + " is larger than the " +
           std::to_string(h) + "x" + std::to_string(w) + " image";
  return {};
}

int32_t load_i32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{p[i]} << (8 * i);
  return static_cast<int32_t>(v);
}

}  // namespace

ActivationUnit::ActivationUnit(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, Accumulators& acc)
    : sc_module(name),
      ctx_(ctx),
      ub_(ub),
      acc_(acc),
      lanes_(static_cast<Cycle>(ctx.params.activation_unit.lanes)),
      latency_(static_cast<Cycle>(ctx.params.activation_unit.latency_cycles)),
      queue_(static_cast<size_t>(ctx.params.sequencer.unit_queue)) {
  SC_THREAD(run);
}

std::string ActivationUnit::prepare(const isa::Word& word, Footprint* footprint) {
  *footprint = isa::footprint(word, {});
  if (static_cast<isa::Opcode>(word.get(0, isa::kOpcodeBits)) == isa::Opcode::act) {
    isa::ActivateArgs a;
    isa::unpack(word, a);
    return check_act(a, *footprint);
  }
  isa::VectorArgs a;
  isa::unpack(word, a);
  return check_vop(a, *footprint);
}

std::string ActivationUnit::check_act(const isa::ActivateArgs& a, const Footprint& footprint) const {
  if (a.cols > acc_.cols())
    return "cols=" + std::to_string(a.cols) + " exceeds the " + std::to_string(acc_.cols()) + " accumulator lanes";
  if (a.acc + a.rows > acc_.entries())
    return "accumulator rows [" + std::to_string(a.acc) + ", " + std::to_string(a.acc + a.rows) + ") are outside the " +
           std::to_string(acc_.entries()) + " accumulator rows";
  if (std::string e = shift_error(a.shift); !a.perlane && !a.raw && !e.empty()) return e;
  if (a.raw && a.pool != isa::Pool::none) return "a raw (int32) output takes no pooling";
  if (std::string e = pool_error(a); !e.empty()) return e;
  // The accumulator rows, the output rows (a valid pool writes at least one), the per-lane table.
  const Strided& out = footprint[1].where;
  if (std::string e = range_error("output range", out.lo(), out.hi(), ub_.size(), "bytes of the unified buffer");
      !e.empty())
    return e;
  if (a.perlane) {
    const Strided& table = footprint[2].where;
    if (std::string e =
            range_error("per-lane table", table.lo(), table.hi(), ub_.size(), "bytes of the unified buffer");
        !e.empty())
      return e;
  }
  return {};
}

std::string ActivationUnit::check_vop(const isa::VectorArgs& a, const Footprint& footprint) const {
  if (std::string e = shift_error(a.shift); !e.empty()) return e;
  for (const Access& operand : footprint)  // a, b, dst
    if (std::string e = range_error("operand range", operand.where.lo(), operand.where.hi(), ub_.size(),
                                    "bytes of the unified buffer");
        !e.empty())
      return e;
  return {};
}

Cycle ActivationUnit::reserve_ports(const Issued& insn, const isa::ActivateArgs& a) {
  const Cycle start = now();
  const uint64_t out_rows = pool_shape(a).out_rows();
  const Cycle compute = a.rows * ceil_div(a.cols, lanes_);
  // The per-lane table is read first; the input rows then go through the pipeline evenly over the
  // compute time, input row i done by ceil((i + 1) * compute / rows) after the table. Each output row is
  // written once it is ready, its write ending with the input row that completes it, or later when the
  // write port is busy.
  std::vector<PortPart> parts;
  if (a.perlane)
    parts.push_back({PortKind::read, PortRuns::back_to_back(1, ub_.port_cycles(kLaneParamBytes * a.cols), start)});
  const Cycle w = ub_.port_cycles(out_row_bytes(a));
  if (a.pool == isa::Pool::none) {
    parts.push_back({PortKind::write, PortRuns::ending_with(out_rows, w, start, compute), Follows::end_of_previous});
  } else {
    // Output (oy, ox) is complete with input row (oy * sy + pool_h - 1) * width + ox * sx + pool_w - 1.
    const isa::PoolShape shape = pool_shape(a);
    for (uint64_t oy = 0; oy < shape.out_h; ++oy) {
      const uint64_t last_of_first = (oy * a.pool_sy + a.pool_h - 1) * a.width + a.pool_w - 1;
      PortRuns runs{shape.out_w, w, start, a.pool_sx * compute, a.rows,
                    static_cast<int64_t>((last_of_first + 1) * compute + a.rows - 1) -
                        static_cast<int64_t>(w * a.rows)};
      // The first after the table, the others paced from the same cycle.
      parts.push_back({PortKind::write, runs, oy == 0 ? Follows::end_of_previous : Follows::with_previous});
    }
  }
  const auto busy = [&](const std::vector<PortGrant>& g) {
    const Cycle writes = std::max_element(g.begin(), g.end(), [](const PortGrant& x, const PortGrant& y) {
                           return x.end() < y.end();
                         })->end();
    return std::max((a.perlane ? g.front().end() : start) + compute, writes) - start;
  };
  return count_port_wait(insn, start, busy(ub_.acquire(PortUser::activation_unit, insn.seq, insn.region, parts)),
                         busy(ub_.free_ports().place(parts)));
}

Cycle ActivationUnit::reserve_ports(const Issued& insn, const isa::VectorArgs& a) {
  const Cycle start = now();
  // The two operands on the read ports (one after the other on a single port); the lanes start once the
  // first row of both is in and take ceil(len / lanes) cycles, or a cycle a row when they keep up with the
  // port; each result row goes to a write port when the lanes are through with it.
  const Cycle r = ub_.port_cycles(a.len);
  const Cycle compute = std::max(r, ceil_div(a.len, lanes_));
  const std::vector<PortPart> parts{
      {PortKind::read, PortRuns::back_to_back(1, r, start)},
      {PortKind::read, PortRuns::back_to_back(1, r, start)},
      {PortKind::write, PortRuns::ending_with(r, 1, start, compute), Follows::stream_behind}};
  const auto busy = [&](const std::vector<PortGrant>& g) { return g[2].end() - start; };
  return count_port_wait(insn, start, busy(ub_.acquire(PortUser::activation_unit, insn.seq, insn.region, parts)),
                         busy(ub_.free_ports().place(parts)));
}

Cycle ActivationUnit::count_port_wait(const Issued& insn, Cycle start, Cycle busy, Cycle alone) {
  if (busy > alone) port_wait_cycles_.add(busy - alone, insn.region, When::over(start + alone, start + busy));
  return busy;
}

void ActivationUnit::run() {
  Cycle next_free = 0;
  for (;;) {
    const Issued insn = queue_.take_when_ready(next_free);
    if (!ctx_.check_hazards(insn)) return;
    const Cycle start = now();
    active_pc_ = insn.pc;
    const bool is_act = static_cast<isa::Opcode>(insn.word.get(0, isa::kOpcodeBits)) == isa::Opcode::act;
    const size_t r = insn.region;
    Cycle busy = 0;
    // The instruction's elements and bytes flow while the pipeline takes them in.
    if (is_act) {
      isa::ActivateArgs a;
      isa::unpack(insn.word, a);
      busy = reserve_ports(insn, a);
      if (ctx_.compute_values) {
        activate(a, insn.rounding, insn.pc);
        if (ctx_.fault) return;
      }
      const When flowing = When::over(start, start + busy);
      const isa::PoolShape shape = pool_shape(a);
      elements_.add(a.rows * a.cols, r, flowing);
      if (arith::is_lookup(a.func)) lut_lookups_.add(a.rows * a.cols, r, flowing);
      if (a.pool != isa::Pool::none) pool_outputs_.add(shape.out_rows() * a.cols, r, flowing);
      acc_.count_row_reads(a.rows, r, flowing);
      ub_.note_write(Strided{a.ub, out_row_bytes(a), shape.out_rows(), a.stride}, r, flowing);
      if (a.perlane) ub_.note_read(kLaneParamBytes * a.cols, r, flowing);
    } else {
      isa::VectorArgs a;
      isa::unpack(insn.word, a);
      busy = reserve_ports(insn, a);
      if (ctx_.compute_values) vector_op(a, insn.rounding);
      const When flowing = When::over(start, start + busy);
      vector_elements_.add(a.len, r, flowing);
      if (arith::is_lookup(a.func)) lut_lookups_.add(a.len, r, flowing);
      ub_.note_read(2 * a.len, r, flowing);
      ub_.note_write(Strided{a.dst, a.len, 1, 0}, r, flowing);
    }
    const Cycle done = start + busy + latency_;
    ctx_.set_done(insn.seq, done);
    busy_cycles_.add(busy, r, When::over(start, start + busy));
    ctx_.trace_slice("activation_unit", insn, start, start + busy);
    next_free = start + busy;
    wait_until(next_free);
    active_pc_ = -1;
  }
}

void ActivationUnit::activate(const isa::ActivateArgs& a, isa::Rounding rounding, int64_t pc) {
  const uint64_t n = a.cols;
  std::vector<int64_t> bias(n, 0), mult(n, a.mult), shift(n, a.shift);
  if (a.perlane) {
    const uint8_t* table = ub_.data(a.params);
    for (uint64_t c = 0; c < n; ++c) {
      bias[c] = load_i32(table + kLaneParamBytes * c);
      mult[c] = load_i32(table + kLaneParamBytes * c + 4);
      shift[c] = load_i32(table + kLaneParamBytes * c + 8);
      if (std::string e = shift_error(shift[c]); !a.raw && !e.empty()) {
        // The table is data, so this is found only now.
        ctx_.raise(pc, "per-lane table at " + std::to_string(a.params) + ", lane " + std::to_string(c) + ": " + e);
        return;
      }
    }
  }
  if (a.raw) {
    for (uint64_t r = 0; r < a.rows; ++r) {
      const int32_t* x = acc_.row(a.acc + r);
      uint8_t* dst = ub_.data(a.ub + r * a.stride);
      for (uint64_t c = 0; c < n; ++c) {
        const auto v = static_cast<uint32_t>(arith::sat32(int64_t{x[c]} + bias[c]));
        for (int b = 0; b < 4; ++b) dst[4 * c + b] = static_cast<uint8_t>(v >> (8 * b));
      }
    }
    return;
  }
  const arith::Lut lut = arith::function_table(a.func, static_cast<int>(a.zp), static_cast<int>(a.frac));
  std::vector<int8_t> q(a.rows * n);
  for (uint64_t r = 0; r < a.rows; ++r) {
    const int32_t* x = acc_.row(a.acc + r);
    for (uint64_t c = 0; c < n; ++c) {
      const int8_t v = arith::requant8(int64_t{x[c]} + bias[c], static_cast<int32_t>(mult[c]),
                                       static_cast<int>(shift[c]), static_cast<int>(a.zp), rounding);
      q[r * n + c] = arith::lookup(lut, v);
    }
  }
  const isa::PoolShape shape = pool_shape(a);
  if (a.pool == isa::Pool::none) {
    for (uint64_t r = 0; r < a.rows; ++r) std::memcpy(ub_.data(a.ub + r * a.stride), &q[r * n], n);
    return;
  }
  std::vector<int8_t> out(n);
  for (uint64_t oy = 0; oy < shape.out_h; ++oy) {
    for (uint64_t ox = 0; ox < shape.out_w; ++ox) {
      for (uint64_t c = 0; c < n; ++c) {
        int64_t sum = 0, best = -128;
        for (uint64_t dy = 0; dy < a.pool_h; ++dy)
          for (uint64_t dx = 0; dx < a.pool_w; ++dx) {
            const int64_t v = q[((oy * a.pool_sy + dy) * shape.in_w + ox * a.pool_sx + dx) * n + c];
            sum += v;
            best = std::max(best, v);
          }
        out[c] = a.pool == isa::Pool::max ? static_cast<int8_t>(best)
                                          : arith::average(sum, static_cast<int64_t>(a.pool_h * a.pool_w), rounding);
      }
      std::memcpy(ub_.data(a.ub + (oy * shape.out_w + ox) * a.stride), out.data(), n);
    }
  }
}

void ActivationUnit::vector_op(const isa::VectorArgs& a, isa::Rounding rounding) {
  const arith::Lut lut = arith::function_table(a.func, static_cast<int>(a.zp), static_cast<int>(a.frac));
  const auto* x = reinterpret_cast<const int8_t*>(ub_.data(a.a));
  const auto* y = reinterpret_cast<const int8_t*>(ub_.data(a.b));
  std::vector<int8_t> out(a.len);
  for (uint64_t i = 0; i < a.len; ++i) {
    const int64_t t = arith::combine(a.op, x[i], y[i], static_cast<int>(a.za), static_cast<int>(a.zb),
                                     static_cast<int>(a.ma), static_cast<int>(a.mb));
    out[i] = arith::lookup(lut, arith::requant8(t, static_cast<int32_t>(a.mult), static_cast<int>(a.shift),
                                                static_cast<int>(a.zp), rounding));
  }
  std::memcpy(ub_.data(a.dst), out.data(), a.len);
}

}  // namespace tpu::sim
