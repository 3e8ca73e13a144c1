#include "tools/compiler/lower/schedule.h"

#include <algorithm>

#include "tools/compiler/lower/syncs.h"

namespace tpu::compiler {

void schedule(const std::vector<Pending>& pending, const WeightImage& weights, uint64_t fifo_tiles, Lowered& out) {
  const uint64_t depth = fifo_tiles;
  std::vector<int64_t> swap_order;
  for (const Pending& p : pending)
    if (p.tile >= 0) swap_order.push_back(p.tile);
  size_t requested = 0, swaps = 0;
  SyncTracker syncs;
  auto emit = [&](const isa::Instruction& insn) {
    out.program.text.push_back(isa::encode(insn));
    ++out.report.instructions;
  };
  size_t at = 0;          // index in `pending` of the instruction being placed
  int64_t synced = -1;    // the last ldw a `sync units=host` has waited for
  int64_t last_ldw = -1;  // the last ldw placed
  // A tile the program loads is read only once its ldw is out. Its rdw needs
  // the host to have finished (a sync that holds up issue), so a tile whose
  // ldw no sync has covered yet is read only for the swap at hand; once a
  // sync has covered it, it is read ahead like any other.
  auto ready = [&](size_t i) {
    const Tile& t = weights[swap_order[i]];
    return t.fill < 0 || t.fill <= synced || (static_cast<size_t>(t.fill) < at && i <= swaps);
  };
  const uint32_t host_bit = 1u << static_cast<unsigned>(isa::Unit::host);
  auto request_until = [&](size_t upto) {
    while (requested < std::min(upto, swap_order.size()) && ready(requested)) {
      const Tile& first = weights[swap_order[requested]];
      uint64_t repeat = 1;
      while (requested + repeat < std::min(upto, swap_order.size()) && repeat < 65535 && ready(requested + repeat)) {
        const Tile& next = weights[swap_order[requested + repeat]];
        if (next.k != first.k || next.n != first.n || next.dram != first.dram + repeat * first.k * first.n) break;
        ++repeat;
      }
      const auto rdw = instruction(isa::Opcode::rdw, {{"dram", int64_t(first.dram)},
                                               {"k", int64_t(first.k)},
                                               {"n", int64_t(first.n)},
                                               {"repeat", int64_t(repeat)}});
      // Only ldw writes weight DRAM: the wait, if any, is for the host.
      if (const uint32_t mask = syncs.needs(isa::Unit::weights, isa::footprint(isa::encode(rdw), {}))) {
        emit(instruction(isa::Opcode::sync, {{"units", mask}}));
        syncs.synced(mask);
        if (mask & host_bit) synced = last_ldw;
      }
      emit(rdw);
      requested += repeat;
    }
  };
  bool started = false;
  for (; at < pending.size(); ++at) {
    const Pending& p = pending[at];
    // The first tile reads go out right after the first tag, ahead of everything else.
    if (started && requested == 0 && depth > 0) request_until(depth);
    started = true;
    if (p.tile >= 0) {
      request_until(swaps + depth);
      ++swaps;
    }
    const isa::Opcode op = p.insn.opcode();
    const isa::Unit unit = p.insn.spec->unit;
    const uint32_t mask = op == isa::Opcode::halt ? 0 : syncs.needs(unit, p.footprint);
    if (mask) {
      emit(instruction(isa::Opcode::sync, {{"units", mask}}));
      syncs.synced(mask);
      if (mask & host_bit) synced = last_ldw;
    }
    emit(p.insn);
    syncs.placed(unit, p.footprint);
    if (op == isa::Opcode::ldw) last_ldw = static_cast<int64_t>(at);
  }
}

}  // namespace tpu::compiler
