#pragma once

// What every unit of one chip shares: the parameters, the program being run,
// the scoreboard, and the way to stop the run with a fault. A unit reaches
// the others only through the ports and references its constructor takes.

#include <algorithm>
#include <deque>
#include <optional>
#include <ostream>
#include <string>
#include <systemc>
#include <vector>

#include "isa/disassembler.h"
#include "isa/program.h"
#include "sim/base/fault.h"
#include "sim/base/params.h"
#include "sim/base/scoreboard.h"
#include "sim/base/stats.h"
#include "sim/base/sync_waits.h"
#include "sim/base/trace.h"

namespace tpu::sim {

// One instruction on its way from the sequencer to a unit.
struct Issued {
  int64_t pc = 0;
  isa::Word word;
  Cycle issued = 0;                                   // cycle the sequencer issued it
  isa::Rounding rounding = isa::Rounding::half_away;  // the `round` register at issue
  uint64_t seq = 0;                                   // scoreboard entry
  size_t region = 0;                                  // tags issued before it: its layer
};

inline std::ostream& operator<<(std::ostream& os, const Issued& i) { return os << "pc " << i.pc; }

// The weight-tile shapes the matrix unit will see, followed in program order
// at issue: rdw appends, mmul ... swap takes the next.
struct TileShapes {
  struct Shape {
    uint64_t k, n;
  };
  std::deque<Shape> queued;
  std::optional<Shape> active;
  // Swaps issued before the rdw that feeds them: they took a full-size shape,
  // and the first `owed` tiles an rdw brings are theirs.
  uint64_t owed = 0;
};

struct ChipContext {
  ChipContext(const ChipParams& p, const isa::Program& prog) : params(p), program(prog) {}

  const ChipParams& params;
  const isa::Program& program;
  Scoreboard scoreboard;
  TileShapes tile_shapes;
  SyncWaits sync_waits;  // the sequencer's waits for units other than the matrix unit
  bool compute_values = true;           // false: timing only (--no-values)
  TraceRecorder* trace = nullptr;       // optional
  std::optional<FaultInfo> fault;       // the first fault raised
  std::vector<StatGroup*> stat_groups;  // every unit's statistics, in chip order

  // The latest end of any instruction so far.
  Cycle latest_done = 0;

  // Notified (after a delta) whenever an instruction's end becomes known.
  sc_core::sc_event progress;

  // Records when instruction `seq` is done: all its effects visible from cycle `done`.
  void set_done(uint64_t seq, Cycle done) {
    scoreboard.set_done(seq, done);
    latest_done = std::max(latest_done, done);
    progress.notify(sc_core::SC_ZERO_TIME);
  }

  // A slice on the trace, when one is being recorded: an instruction's, or any named activity of one.
  void trace_slice(const char* track, const Issued& insn, Cycle start, Cycle end) {
    end_slice(open_slice(track, insn, start), end);
  }
  // An instruction's slice whose end is not known yet; end_slice() closes it (a run that stops first cuts it).
  size_t open_slice(const char* track, const Issued& insn, Cycle start) {
    if (trace == nullptr) return 0;
    const isa::InsnSpec* spec = isa::find_insn(static_cast<uint8_t>(insn.word.get(0, isa::kOpcodeBits)));
    return trace->open({track, spec ? std::string(spec->mnemonic) : "?", insn.pc, start, kNever});
  }
  void end_slice(size_t slice, Cycle end) {
    if (trace != nullptr) trace->end(slice, end);
  }
  void trace_activity(const char* track, std::string name, int64_t pc, Cycle start, Cycle end) {
    if (trace != nullptr && end > start) trace->add({track, std::move(name), pc, start, end});
  }

  // Counts a group booked for cycles before `t` become final. Only while the
  // run goes on: once a fault is raised the run ends at its cycle, and
  // processes still running in the cycles after it must not make their counts final.
  void settle(StatGroup& g, Cycle t) const {
    if (!fault && t <= static_cast<Cycle>(params.watchdog_cycles)) g.settle_before(t);
  }

  // Requested by raise(); the sequencer stops the simulation when it fires.
  sc_core::sc_event stop_requested;

  // Records a fault at the current cycle and stops the simulation once the
  // cycle is over. Of several faults in one cycle the lowest pc is kept, so
  // the report does not depend on the order processes run within the cycle.
  void raise(int64_t pc, std::string reason) {
    const Cycle t = now();
    if (!fault || (t == fault->cycle && pc < fault->pc)) {
      FaultInfo f;
      f.pc = pc;
      if (pc >= 0 && static_cast<size_t>(pc) < program.text.size())
        f.instruction = isa::format_word(program.text[static_cast<size_t>(pc)]);
      f.cycle = t;
      f.reason = std::move(reason);
      fault = std::move(f);
    }
    stop_requested.notify(until(t + 1));
  }

  // Faults unless the instruction `seq` may start now without a hazard; true if it may.
  bool check_hazards(const Issued& insn) {
    const Scoreboard::Clash clash = scoreboard.conflict(insn.seq, now());
    if (clash.earlier == nullptr) return true;
    raise(insn.pc, Scoreboard::describe(clash));
    return false;
  }
};

}  // namespace tpu::sim
