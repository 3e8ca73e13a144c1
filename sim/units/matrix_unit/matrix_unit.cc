#include "sim/units/matrix_unit/matrix_unit.h"

#include "sim/units/matrix_unit/systolic_array.h"

namespace tpu::sim {

MatrixUnit::MatrixUnit(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, Accumulators& acc,
                       WeightFifo& fifo)
    : sc_module(name),
      ctx_(ctx),
      ub_(ub),
      acc_(acc),
      fifo_(fifo),
      rows_(static_cast<Cycle>(ctx.params.matrix_unit.rows)),
      cols_(static_cast<Cycle>(ctx.params.matrix_unit.cols)),
      queue_(static_cast<size_t>(ctx.params.sequencer.unit_queue)) {
  if (ctx.params.fidelity == "pe") {
    array_ = std::make_unique<SystolicArray>(rows_, cols_);
    SC_THREAD(run_pe);
  } else {
    SC_THREAD(run_fast);
    SC_THREAD(load_fast);
  }
}

MatrixUnit::~MatrixUnit() = default;

uint64_t MatrixUnit::pe_steps() const { return array_ ? array_->steps() : 0; }

std::string MatrixUnit::prepare(const isa::Word& word, Footprint* footprint) {
  isa::MatMulArgs a;
  isa::unpack(word, a);
  TileShapes& shapes = ctx_.tile_shapes;
  if (a.swap) {
    // A tile brought by a later rdw is not known yet: assume a full-size one.
    if (shapes.queued.empty()) {
      shapes.active = TileShapes::Shape{rows_, cols_};
      ++shapes.owed;
    } else {
      shapes.active = shapes.queued.front();
      shapes.queued.pop_front();
    }
  } else if (!shapes.active) {
    return "mmul without `swap`, but no weight tile has been made active yet (the first mmul must swap one in)";
  }
  const uint64_t k = shapes.active->k;
  const uint64_t vectors = a.rows * a.lines;
  if (a.acc + vectors > acc_.entries())
    return "accumulator rows [" + std::to_string(a.acc) + ", " + std::to_string(a.acc + vectors) +
           ") are outside the " + std::to_string(acc_.entries()) + " accumulator rows";
  *footprint = isa::footprint(word, isa::ChipShape{k});
  for (uint64_t l = 0; l < a.lines; ++l) {  // the input vectors of each line, then the accumulator rows
    const Strided& line = (*footprint)[l].where;
    const std::string e =
        range_error("unified-buffer range", line.lo(), line.hi(), ub_.size(), "bytes of the unified buffer");
    if (!e.empty()) return e + " (input vectors of line " + std::to_string(l) + ")";
  }
  return {};
}

void MatrixUnit::count_vectors(size_t region, uint64_t k, uint64_t n, When entering) {
  vectors_.add(1, region, entering);
  array_active_cycles_.add(1, region, entering);
  useful_macs_.add(k * n, region, entering);
  unused_macs_.add(rows_ * cols_ - k * n, region, entering);
  ub_.note_read(k, region, entering);
}

PortGrant MatrixUnit::read_vectors(const Issued& insn, uint64_t left) {
  const Cycle v = ub_.port_cycles(active_->k);
  const auto grant_cycles = static_cast<uint64_t>(ctx_.params.unified_buffer.stream_grant_cycles);
  const uint64_t per_grant = std::max<uint64_t>(1, grant_cycles / v);
  const PortPart part{PortKind::read, PortRuns::back_to_back(std::min(left, per_grant), v, now())};
  return ub_.acquire(PortUser::matrix_unit, insn.seq, insn.region, {part}).front();
}

void MatrixUnit::count_raw_stalls(Cycle idle_from, const Issued& next) {
  ctx_.sync_waits.book_overlap(idle_from, next.issued, raw_stall_cycles_);
}

void MatrixUnit::begin_weight_wait(size_t region) {
  if (shadow_ == Shadow::kFull) return;
  (shadow_ == Shadow::kLoading ? weight_shift_cycles_ : weight_stall_cycles_).start(region, now());
}

void MatrixUnit::end_weight_wait() {
  weight_stall_cycles_.stop(now());
  weight_shift_cycles_.stop(now());
}

// ---------------------------------------------------------------- fast fidelity

void MatrixUnit::load_fast() {
  for (;;) {
    while (shadow_ != Shadow::kEmpty) sc_core::wait(shadow_changed_);
    wait_until(free_at_);
    while (fifo_.empty()) sc_core::wait(fifo_.changed());
    wait_until(fifo_.head().arrival);
    shadow_tile_ = fifo_.pop();
    shadow_ = Shadow::kLoading;
    shadow_state_ = 1;
    tiles_shifted_.add(1, shadow_tile_.region, When::at(now()));
    // An mmul waiting for this tile now waits for its shift.
    if (waiting_pc_ >= 0) {
      weight_stall_cycles_.stop(now());
      weight_shift_cycles_.start(waiting_region_, now());
    }
    wait_until(now() + rows_);
    shadow_ = Shadow::kFull;
    shadow_state_ = 2;
    shadow_changed_.notify(sc_core::SC_ZERO_TIME);
  }
}

void MatrixUnit::run_fast() {
  Cycle next_vector = 0;  // first cycle the next vector may enter
  for (;;) {
    const Issued insn = queue_.take_when_ready(next_vector);
    count_raw_stalls(next_vector, insn);
    isa::MatMulArgs a;
    isa::unpack(insn.word, a);
    if (a.swap) {
      // Waiting before the shift began is a weight stall; during it, a weight shift.
      waiting_pc_ = insn.pc;
      waiting_region_ = insn.region;
      begin_weight_wait(insn.region);
      while (shadow_ != Shadow::kFull) sc_core::wait(shadow_changed_);
      end_weight_wait();
      waiting_pc_ = -1;
      // The replaced register frees when its last vector has left the top row.
      free_at_ = (active_ && active_used_) ? last_vector_ + cols_ : now();
      active_ = std::move(shadow_tile_);
      active_used_ = false;
      shadow_ = Shadow::kEmpty;
      shadow_state_ = 0;
      shadow_changed_.notify(sc_core::SC_ZERO_TIME);
      if (ctx_.compute_values) gemm_.set_weights(active_->data.data(), active_->k, active_->n, active_->is_unsigned);
    }
    if (!ctx_.check_hazards(insn)) return;
    const uint64_t k = active_->k, n = active_->n;
    const Cycle start = now();
    active_pc_ = insn.pc;
    const size_t slice = ctx_.open_slice("matrix_unit", insn, start);
    if (ctx_.compute_values) {
      std::vector<int32_t> out(a.rows * n);
      for (uint64_t l = 0; l < a.lines; ++l) {
        gemm_.multiply(ub_.data(a.ub + l * a.line_stride), a.stride, a.rows, a.uin, out.data(), n);
        for (uint64_t i = 0; i < a.rows; ++i) acc_.store(a.acc + l * a.rows + i, out.data() + i * n, n, a.accumulate);
      }
    }
    // The vectors' port time, grant by grant. A vector entering at cycle t leaves its row in the
    // accumulators at t + rows + cols - 1.
    Cycle port_free = start;  // the end of the last vector's port time so far
    for (uint64_t left = a.rows * a.lines; left > 0;) {
      wait_until(port_free);
      const PortGrant g = read_vectors(insn, left);
      left -= g.runs();
      if (left == 0) ctx_.set_done(insn.seq, g.last() + rows_ + cols_);
      for (const RunSegment& s : g.segments) {
        const When entering = When::every(s.first, s.period, s.count);
        count_vectors(insn.region, k, n, entering);
        acc_.count_row_writes(1, insn.region, When::every(s.first + rows_ + cols_ - 1, s.period, s.count),
                              a.accumulate);
        // The array waits for input in every cycle no vector enters: the port is busy with the rest of
        // the last vector, or another unit has it.
        if (s.first > port_free)
          input_stall_cycles_.add(s.first - port_free, insn.region, When::over(port_free, s.first));
        if (s.count > 1 && s.period > 1)
          input_stall_cycles_.add(s.period - 1, insn.region,
                                  When::windows(s.first + 1, s.period - 1, s.period, s.count - 1));
        if (g.length > 1)
          input_stall_cycles_.add(g.length - 1, insn.region, When::over(s.last() + 1, s.last() + g.length));
        port_free = s.last() + g.length;
      }
      last_vector_ = g.last();
    }
    ctx_.end_slice(slice, port_free);
    active_used_ = true;
    next_vector = port_free;
    wait_until(next_vector);
    active_pc_ = -1;
  }
}

// ---------------------------------------------------------------- pe fidelity

void MatrixUnit::start_shift_pe(uint8_t reg) {
  shadow_tile_ = fifo_.pop();
  shadow_ = Shadow::kLoading;
  shadow_state_ = 1;
  shadow_reg_ = reg;
  shift_step_ = 0;
  tiles_shifted_.add(1, shadow_tile_.region, When::at(now()));
  chain_rows_.assign(rows_ * cols_, 0);
  const WeightTile& t = shadow_tile_;
  if (!t.data.empty())
    for (uint64_t r = 0; r < t.k; ++r)
      for (uint64_t c = 0; c < t.n; ++c) {
        const int8_t w = t.data[r * t.n + c];
        chain_rows_[r * cols_ + c] = t.is_unsigned ? int16_t(uint8_t(w)) : int16_t(w);
      }
}

void MatrixUnit::run_pe() {
  SystolicArray& array = *array_;
  struct Current {
    Issued insn;
    isa::MatMulArgs a;
    uint64_t next = 0;  // next vector to enter
    bool started = false;
    Cycle first = 0;
    PortGrant ports;        // when the vectors of the latest grant enter
    uint64_t granted = 0;   // vectors granted so far
    size_t slice = 0;       // on the trace
    size_t segment = 0;     // of the next vector's entry in the latest grant
    uint64_t in_segment = 0;
    Cycle next_entry() const {
      const RunSegment& s = ports.segments[segment];
      return s.first + in_segment * s.period;
    }
  };
  // What travels with each vector, by tag; at most rows + cols + 1 vectors are in flight.
  struct VectorMeta {
    uint64_t acc_row = 0;
    bool accumulate = false;
    uint32_t n = 0;
    uint64_t seq = 0;
    int64_t pc = 0;
    bool last = false;
    Cycle first = 0;
    uint64_t vectors = 0;
    uint64_t k = 0;
    size_t region = 0;
  };
  std::vector<VectorMeta> meta(rows_ + cols_ + 2);
  std::optional<Current> cur;
  std::optional<uint8_t> active_reg;
  Cycle next_allowed = 0;
  Cycle last_cycle = kNever;
  uint64_t next_tag = 0;
  std::vector<SystolicArray::Output> outs;
  std::vector<int16_t> x(rows_);
  Cycle port_free = 0;  // the cycle after the last vector's port time

  for (;;) {
    if (last_cycle != kNever) {
      // After cycle `last_cycle`: step to the next cycle while anything moves;
      // otherwise sleep until an instruction, a tile or a tile's arrival can change that.
      const bool starved = cur && !cur->started && cur->a.swap && shadow_ == Shadow::kEmpty;  // needs a tile
      const bool moving = array.busy() || shadow_ == Shadow::kLoading || (cur && !starved);
      if (moving) {
        wait_until(now() + 1);
      } else {
        // Cycles slept through while an mmul waited for a tile that had not arrived are weight stalls.
        const bool stalled = cur && !cur->started;
        if (stalled) weight_stall_cycles_.start(cur->insn.region, last_cycle + 1);
        Cycle wake = kNever;
        if (!cur && !queue_.empty()) wake = std::max(queue_.head().issued + 1, next_allowed);
        if (shadow_ == Shadow::kEmpty && !fifo_.empty()) wake = std::min(wake, fifo_.head().arrival);
        if (wake != kNever && wake <= last_cycle + 1) {
          wait_until(now() + 1);
        } else if (wake != kNever) {
          sc_core::wait(until(wake), queue_.pushed() | fifo_.changed());
        } else {
          sc_core::wait(queue_.pushed() | fifo_.changed());
        }
        if (now() <= last_cycle) wait_until(last_cycle + 1);
        if (stalled) weight_stall_cycles_.stop(now());
      }
    }
    const Cycle t = now();

    // Take the next instruction when it may start.
    if (!cur && !queue_.empty() && std::max(queue_.head().issued + 1, next_allowed) <= t) {
      cur.emplace();
      cur->insn = queue_.take();
      count_raw_stalls(port_free, cur->insn);
      isa::unpack(cur->insn.word, cur->a);
    }

    // Swap in the new tile, then let a vector enter.
    bool waited_for_weights = false;
    const SystolicArray::Injection* injection = nullptr;
    SystolicArray::Injection in;
    if (cur && !cur->started) {
      if (cur->a.swap && shadow_ != Shadow::kFull) {
        waited_for_weights = true;
        waiting_pc_ = cur->insn.pc;
      } else {
        waiting_pc_ = -1;
        if (cur->a.swap) {
          active_reg = shadow_reg_;
          active_ = std::move(shadow_tile_);
          shadow_ = Shadow::kEmpty;
          shadow_state_ = 0;
        }
        if (!ctx_.check_hazards(cur->insn)) return;
        cur->started = true;
        cur->first = t;
        cur->slice = ctx_.open_slice("matrix_unit", cur->insn, t);
        active_pc_ = cur->insn.pc;
        port_free = t;
      }
    }
    if (cur && cur->started) {
      const isa::MatMulArgs& a = cur->a;
      const uint64_t k = active_->k, n = active_->n;
      if (cur->next == cur->granted && t == port_free) {
        // The next grant of port time, once the last has run out.
        cur->ports = read_vectors(cur->insn, a.rows * a.lines - cur->granted);
        cur->granted += cur->ports.runs();
        cur->segment = 0;
        cur->in_segment = 0;
        if (cur->granted == a.rows * a.lines) ctx_.end_slice(cur->slice, cur->ports.end());
      }
      if (cur->next == cur->granted || t != cur->next_entry()) {
        // The port is busy with the rest of the last vector, or another unit has it.
        if (t >= port_free) input_stall_cycles_.add(1, cur->insn.region, When::at(t));
      } else {
        const uint64_t line = cur->next / a.rows, i = cur->next % a.rows;
        const uint64_t addr = a.ub + line * a.line_stride + i * a.stride;
        std::fill(x.begin(), x.end(), int16_t{0});
        if (ctx_.compute_values) {
          const uint8_t* src = ub_.data(addr);
          for (uint64_t e = 0; e < k; ++e) x[e] = a.uin ? int16_t(src[e]) : int16_t(int8_t(src[e]));
        }
        const uint64_t vectors = a.rows * a.lines;
        const bool last = cur->next + 1 == vectors;
        meta[next_tag % meta.size()] = {a.acc + cur->next, a.accumulate, static_cast<uint32_t>(n),
                                        cur->insn.seq,     cur->insn.pc, last,
                                        cur->first,        vectors,      k,
                                        cur->insn.region};
        in = {x.data(), *active_reg, next_tag++};
        injection = &in;
        count_vectors(cur->insn.region, k, n, When::at(t));
        // The port spends v cycles on every vector; those after its entry wait for the rest of it.
        const Cycle v = cur->ports.length;
        if (v > 1) input_stall_cycles_.add(v - 1, cur->insn.region, When::over(t + 1, t + v));
        port_free = t + v;
        if (last) {
          next_allowed = port_free;
          cur.reset();
          active_pc_ = -1;
        } else {
          ++cur->next;
          if (++cur->in_segment == cur->ports.segments[cur->segment].count) {
            ++cur->segment;
            cur->in_segment = 0;
          }
        }
      }
    }

    // One cycle of the array; results leaving the bottom are written now.
    outs.clear();
    array.step(injection, outs);
    for (const SystolicArray::Output& o : outs) {
      const VectorMeta& m = meta[o.tag % meta.size()];
      if (o.col < m.n && ctx_.compute_values) acc_.store_lane(m.acc_row, o.col, o.value, m.accumulate);
      if (o.col == cols_ - 1) {
        acc_.count_row_writes(1, m.region, When::at(t), m.accumulate);
        if (m.last) ctx_.set_done(m.seq, t + 1);
      }
    }

    // The shift chain: a new tile starts once it has arrived and no input in
    // the top row still uses the register it will be latched into.
    bool shifted = false;
    if (shadow_ == Shadow::kEmpty && !fifo_.empty() && fifo_.head().arrival <= t) {
      const uint8_t reg = active_reg ? uint8_t(1 - *active_reg) : uint8_t{0};
      if (!array.row0_uses(reg)) start_shift_pe(reg);
    }
    if (shadow_ == Shadow::kLoading) {
      shifted = true;
      array.shift(&chain_rows_[(rows_ - 1 - shift_step_) * cols_]);
      if (++shift_step_ == rows_) {
        array.latch(shadow_reg_);
        shadow_ = Shadow::kFull;
        shadow_state_ = 2;
      }
    }
    if (waited_for_weights)
      (shifted ? weight_shift_cycles_ : weight_stall_cycles_).add(1, cur->insn.region, When::at(t));

    last_cycle = t;
  }
}

}  // namespace tpu::sim
