#include "sim/units/sequencer/sequencer.h"

#include <ostream>

namespace tpu::sim {

namespace {
constexpr uint32_t kAllUnits = 0xff;
}  // namespace

Sequencer::Sequencer(sc_core::sc_module_name name, ChipContext& ctx, sc_core::sc_fifo<int64_t>& instruction_buffer)
    : sc_module(name),
      ctx_(ctx),
      instruction_buffer_(instruction_buffer),
      // The front-end stages hold what the issue stage has not yet taken.
      pipeline_("pipeline", static_cast<int>(std::max<int64_t>(1, ctx.params.sequencer.pipeline_stages - 1))) {
  SC_THREAD(front_end);
  SC_THREAD(issue);
  SC_METHOD(stop);
  sensitive << ctx.stop_requested;
  dont_initialize();
}

void Sequencer::front_end() {
  const Cycle depth = static_cast<Cycle>(ctx_.params.sequencer.pipeline_stages - 1);
  for (;;) {
    const int64_t pc = instruction_buffer_.read();
    pipeline_.write({pc, now() + depth});
    if (pc < 0) return;
  }
}

void Sequencer::wait_for_units(uint32_t mask) {
  for (;;) {
    const Cycle done = ctx_.scoreboard.done_by(mask);
    if (done == kNever) {
      sc_core::wait(ctx_.progress);
      continue;
    }
    wait_until(done);
    return;
  }
}

void Sequencer::issue() {
  Cycle next_free = 0;  // first cycle the issue stage can take another instruction
  for (;;) {
    const InFlight f = pipeline_.read();
    wait_until(std::max(f.ready, next_free));
    if (f.pc < 0) {
      ctx_.raise(last_pc_, "the program ran past its last instruction without `halt`");
      return;
    }
    last_pc_ = f.pc;
    last_issue_ = now();
    const isa::Word& word = ctx_.program.text[static_cast<size_t>(f.pc)];
    isa::Instruction insn;
    std::string error;
    if (!isa::decode(word, &insn, &error)) {
      ctx_.raise(f.pc, "illegal instruction: " + error);
      return;
    }
    ctx_.scoreboard.retire(now());
    // Counts booked for earlier cycles are final: keeping them settled keeps the bookings few.
    for (StatGroup* g : ctx_.stat_groups) ctx_.settle(*g, now());
    const Cycle start = now();
    Issued base;
    base.region = regions_.size();
    instructions_.add(1, base.region, When::at(start));
    ++by_opcode_[insn.spec->opcode];
    base.pc = f.pc;
    base.word = word;
    base.rounding = rounding_;
    switch (insn.opcode()) {
      case isa::Opcode::nop: {
        isa::IdleArgs a;
        isa::unpack(word, a);
        nop_cycles_.add(a.repeat, base.region, When::over(start, start + a.repeat));
        next_free = start + a.repeat;
        continue;
      }
      case isa::Opcode::halt:
        halt_wait_cycles_.start(base.region, start);
        trace_wait(base.pc);
        wait_for_units(kAllUnits);
        halt_wait_cycles_.stop(now());
        end_trace_wait();
        halted_ = true;
        halt_cycle_ = now();
        sc_core::sc_stop();
        return;
      case isa::Opcode::sync: {
        isa::SyncArgs a;
        isa::unpack(word, a);
        sync_wait_cycles_.start(base.region, start);
        trace_wait(base.pc);
        wait_for_units(static_cast<uint32_t>(a.units));
        sync_wait_cycles_.stop(now());
        end_trace_wait();
        note_wait_for_others(static_cast<uint32_t>(a.units), start, base.region);
        break;
      }
      case isa::Opcode::setcfg: {
        isa::SetCfgArgs a;
        isa::unpack(word, a);
        // CfgReg has the one register `round`; the decoder has already rejected any other.
        if (isa::kEnumOf<isa::Rounding>->find(a.value) == nullptr) {
          ctx_.raise(
              f.pc, "value " + std::to_string(a.value) + " names no rounding mode (0 half_away, 1 half_even, 2 floor)");
          return;
        }
        rounding_ = static_cast<isa::Rounding>(a.value);
        break;
      }
      case isa::Opcode::intr: {
        isa::InterruptArgs a;
        isa::unpack(word, a);
        halt_wait_cycles_.start(base.region, start);
        trace_wait(base.pc);
        wait_for_units(kAllUnits);
        halt_wait_cycles_.stop(now());
        end_trace_wait();
        note_wait_for_others(kAllUnits, start, base.region);
        interrupts_.push_back({now(), f.pc, static_cast<uint32_t>(a.code)});
        break;
      }
      case isa::Opcode::tag: {
        isa::TagArgs a;
        isa::unpack(word, a);
        regions_.push_back({now(), f.pc, static_cast<uint32_t>(a.id)});
        break;
      }
      default:
        if (!dispatch(insn, base)) return;
        break;
    }
    next_free = now() + 1;
  }
}

void Sequencer::note_wait_for_others(uint32_t mask, Cycle start, size_t region) {
  // The part of the wait until the units other than the matrix unit were done; the rest is the matrix
  // unit's own drain. Their instructions done before the wait began are retired: done_by reads 0.
  const uint32_t others = mask & ~(uint32_t{1} << static_cast<unsigned>(isa::Unit::matrix));
  if (others == 0) return;
  const Cycle done = std::min(now(), std::max(start, ctx_.scoreboard.done_by(others)));
  ctx_.sync_waits.add(start, done, region);
}

void Sequencer::trace_wait(int64_t pc, std::string what) {
  if (ctx_.trace == nullptr) return;
  if (what.empty()) what = isa::format_word(ctx_.program.text[static_cast<size_t>(pc)]);
  open_wait_ = ctx_.trace->open({"sequencer", std::move(what), pc, now(), kNever});
}

void Sequencer::end_trace_wait() {
  if (ctx_.trace != nullptr) ctx_.trace->end(open_wait_, now());
}

bool Sequencer::dispatch(const isa::Instruction& insn, const Issued& base) {
  ExecutionUnit* unit = units_[static_cast<size_t>(insn.spec->unit)];
  if (unit == nullptr) {
    ctx_.raise(base.pc, "this chip has no " + std::string(isa::to_string(insn.spec->unit)) + " unit to execute '" +
                            std::string(insn.spec->mnemonic) + "'");
    return false;
  }
  Footprint footprint;
  const std::string problem = unit->prepare(base.word, &footprint);
  if (!problem.empty()) {
    ctx_.raise(base.pc, problem);
    return false;
  }
  Issued issued = base;
  issued.seq = ctx_.scoreboard.issue(base.pc, insn.spec->unit, std::move(footprint));
  if (unit->queue().full()) {
    queue_full_cycles_.start(base.region, now());
    trace_wait(base.pc, "queue full: " + std::string(isa::to_string(insn.spec->unit)));
    while (unit->queue().full()) sc_core::wait(unit->queue().taken());
    queue_full_cycles_.stop(now());
    end_trace_wait();
  }
  issued.issued = now();
  unit->queue().push(issued);
  return true;
}

}  // namespace tpu::sim
