#pragma once

// WeightMemory: off-chip weight DRAM and the engine that executes `rdw`. For
// each tile it waits for a FIFO slot, then streams the tile over a channel of
// the configured bandwidth (whole bursts); the tile arrives one access latency
// after its last byte. Requests are pipelined: tile t+1 streams while tile t
// is still in flight. An rdw is done, for `sync`, once the engine takes it.
// The host interface writes weight DRAM too (`ldw`, through load()), and the
// sparse engine reads its layer images over the same channel (stream_image()).

#include <systemc>
#include <vector>

#include "sim/base/bandwidth.h"
#include "sim/base/paged_memory.h"
#include "sim/base/unit.h"
#include "sim/units/weight_fifo/weight_fifo.h"

namespace tpu::sim {

class WeightMemory : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(WeightMemory);
  WeightMemory(sc_core::sc_module_name name, ChipContext& ctx, WeightFifo& fifo);

  PagedMemory& dram() { return dram_; }
  // An ldw's bytes arriving from the host over the cycles of `when` (the host interface writes their
  // values into dram()).
  void count_load(uint64_t bytes, size_t region, When when) { write_bytes_.add(bytes, region, when); }
  // A sparse layer image of `bytes` streamed from now over the same channel as the tiles (whole
  // bursts), for an instruction of `region`; returns the cycle it has arrived.
  Cycle stream_image(uint64_t bytes, size_t region);
  // An ldw writes `range` of weight DRAM: resident sparse images it overlaps are stale.
  void note_write(const Strided& range) { writes_.push_back(range); }
  // Whether a write since the first `since` writes (writes() then) overlaps [lo, hi).
  bool written_since(size_t since, uint64_t lo, uint64_t hi) const {
    for (size_t i = since; i < writes_.size(); ++i)
      if (isa::overlaps(writes_[i], Strided{lo, hi - lo, 1, 0})) return true;
    return false;
  }
  size_t writes() const { return writes_.size(); }
  // The pc of the rdw being streamed if its tiles not yet read overlap `range`, else -1.
  int64_t streaming_from(const Strided& range) const;
  std::string prepare(const isa::Word& word, Footprint* footprint) override;
  UnitQueue& queue() override { return queue_; }
  StatGroup& stats() { return stats_; }
  void trace(sc_core::sc_trace_file* tf) const { sc_core::sc_trace(tf, active_pc_, "weight_memory.pc"); }

 private:
  void run();
  // `bytes` from now over the channel in whole bursts, `own` of them the data's (the rest padding),
  // counted for `region`; `arrival`: when it is there.
  BandwidthChannel::Transfer stream(uint64_t bytes, uint64_t own, size_t region, Cycle* arrival);

  ChipContext& ctx_;
  WeightFifo& fifo_;
  PagedMemory dram_;
  BandwidthChannel channel_;
  Cycle latency_;
  int64_t active_pc_ = -1;      // the rdw being streamed, for waveforms
  Strided unread_{0, 0, 1, 0};  // its bytes not yet read
  std::vector<Strided> writes_;  // every ldw's blocks, in order
  UnitQueue queue_;
  StatGroup stats_{"weight_memory"};
  Counter& read_bytes_ = stats_.add("read_bytes", "bytes", "Bytes read from weight DRAM (whole bursts)");
  Counter& write_bytes_ = stats_.add("write_bytes", "bytes", "Bytes written into weight DRAM from the host (ldw)");
  Counter& tiles_ = stats_.add("tiles", "tiles", "Weight tiles read");
  Counter& padding_bytes_ =
      stats_.add("padding_bytes", "bytes", "Bytes read beyond the tiles' own k x n (whole-tile reads, burst rounding)");
  Counter& busy_cycles_ = stats_.add("busy_cycles", "cycles", "Cycles the DRAM channel is streaming");
  Counter& slot_wait_cycles_ = stats_.add("fifo_full_cycles", "cycles", "Cycles a read waited for a free FIFO slot");
};

}  // namespace tpu::sim
