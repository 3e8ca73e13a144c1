#include "sim/units/weight_memory/weight_memory.h"

namespace tpu::sim {

WeightMemory::WeightMemory(sc_core::sc_module_name name, ChipContext& ctx, WeightFifo& fifo)
    : sc_module(name),
      ctx_(ctx),
      fifo_(fifo),
      dram_(static_cast<uint64_t>(ctx.params.weight_memory.size_bytes)),
      channel_(ctx.params.weight_memory.bandwidth_gb_s * 1e9, ctx.params.clock_mhz * 1e6),
      latency_(ns_to_cycles(ctx.params.weight_memory.latency_ns, ctx.params.clock_mhz)),
      queue_(static_cast<size_t>(ctx.params.sequencer.unit_queue)) {
  SC_THREAD(run);
}

int64_t WeightMemory::streaming_from(const Strided& range) const {
  return active_pc_ >= 0 && overlaps(unread_, range) ? active_pc_ : -1;
}

std::string WeightMemory::prepare(const isa::Word& word, Footprint* footprint) {
  isa::WeightReadArgs a;
  isa::unpack(word, a);
  const auto& mu = ctx_.params.matrix_unit;
  if (a.k > static_cast<uint64_t>(mu.rows))
    return "tile rows k=" + std::to_string(a.k) + " exceed the array's " + std::to_string(mu.rows) + " rows";
  if (a.n > static_cast<uint64_t>(mu.cols))
    return "tile columns n=" + std::to_string(a.n) + " exceed the array's " + std::to_string(mu.cols) + " columns";
  *footprint = isa::footprint(word, {});
  const Strided& tiles = footprint->front().where;
  const std::string e = range_error("weight DRAM range", tiles.lo(), tiles.hi(), dram_.size(), "bytes of weight DRAM");
  if (e.empty())
    for (uint64_t t = 0; t < a.repeat; ++t) {
      if (ctx_.tile_shapes.owed > 0)
        --ctx_.tile_shapes.owed;
      else
        ctx_.tile_shapes.queued.push_back({a.k, a.n});
    }
  return e;
}

BandwidthChannel::Transfer WeightMemory::stream(uint64_t bytes, uint64_t own, size_t region, Cycle* arrival) {
  const uint64_t burst = static_cast<uint64_t>(ctx_.params.weight_memory.burst_bytes);
  const uint64_t moved = ceil_div(bytes, burst) * burst;
  const BandwidthChannel::Transfer x = channel_.reserve(now(), moved);
  read_bytes_.add(moved, region, When::over(x.start, x.end));
  padding_bytes_.add(moved - own, region, When::over(x.start, x.end));
  busy_cycles_.add(x.end - x.start, region, When::over(x.start, x.end));
  // Usable no earlier than the cycle after it is requested.
  *arrival = std::max(x.end + latency_, now() + 1);
  return x;
}

Cycle WeightMemory::stream_image(uint64_t bytes, size_t region) {
  Cycle arrival = 0;
  stream(bytes, bytes, region, &arrival);
  return arrival;
}

void WeightMemory::run() {
  const bool whole_tiles = ctx_.params.weight_memory.tile_reads == "whole";
  const uint64_t array_bytes = static_cast<uint64_t>(ctx_.params.matrix_unit.rows * ctx_.params.matrix_unit.cols);
  for (;;) {
    const Issued insn = queue_.take_when_ready(0);
    isa::WeightReadArgs a;
    isa::unpack(insn.word, a);
    if (!ctx_.check_hazards(insn)) return;
    // Decoupled access: the sequencer may move on once the addresses are sent.
    ctx_.set_done(insn.seq, now());
    active_pc_ = insn.pc;
    const uint64_t tile_bytes = a.k * a.n;
    for (uint64_t t = 0; t < a.repeat; ++t) {
      unread_ = Strided{a.dram + t * tile_bytes, (a.repeat - t) * tile_bytes, 1, 0};
      slot_wait_cycles_.start(insn.region, now());
      while (fifo_.full()) sc_core::wait(fifo_.changed());
      slot_wait_cycles_.stop(now());
      WeightTile tile;
      tile.pc = insn.pc;
      tile.region = insn.region;
      tile.k = static_cast<uint32_t>(a.k);
      tile.n = static_cast<uint32_t>(a.n);
      tile.is_unsigned = a.uw;
      tile.bytes = whole_tiles ? array_bytes : tile_bytes;
      const BandwidthChannel::Transfer x = stream(tile.bytes, tile_bytes, insn.region, &tile.arrival);
      if (ctx_.compute_values) {
        tile.data.resize(tile_bytes);
        dram_.read(a.dram + t * tile_bytes, reinterpret_cast<uint8_t*>(tile.data.data()), tile_bytes);
      }
      tiles_.add(1, insn.region, When::at(x.end));
      if (ctx_.trace) ctx_.trace_activity("weight_memory", "tile " + std::to_string(t) + " of rdw", insn.pc, x.start, x.end);
      fifo_.push(std::move(tile), insn.region);
    }
    active_pc_ = -1;
  }
}

}  // namespace tpu::sim
