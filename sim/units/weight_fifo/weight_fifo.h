#pragma once

// WeightFifo: weight tiles on their way from weight DRAM to the matrix unit,
// `depth_tiles` deep. A slot is taken when a tile's transfer is requested and
// freed when the matrix unit starts shifting the tile into the array; a tile
// is usable from its arrival cycle.

#include <cstdint>
#include <deque>
#include <systemc>
#include <vector>

#include "sim/base/cycles.h"
#include "sim/base/params.h"
#include "sim/base/stats.h"
#include "sim/base/trace.h"

namespace tpu::sim {

struct WeightTile {
  int64_t pc = 0;      // the rdw that brought it
  size_t region = 0;  // and its region
  uint32_t k = 0;  // rows used (input lanes)
  uint32_t n = 0;  // columns used (output lanes)
  bool is_unsigned = false;
  std::vector<int8_t> data;  // k x n row-major; empty when values are not computed
  uint64_t bytes = 0;        // what the tile occupies and moves: k x n, or rows x cols with whole-tile reads
  Cycle arrival = 0;
};

class WeightFifo : public sc_core::sc_module {
 public:
  WeightFifo(sc_core::sc_module_name name, const WeightFifoParams& p)
      : sc_module(name), depth_(static_cast<size_t>(p.depth_tiles)) {}

  // Occupancy goes to `trace` as it changes (null: not recorded).
  void record_into(TraceRecorder* trace) { trace_ = trace; }

  bool full() const { return tiles_.size() >= depth_; }
  bool empty() const { return tiles_.empty(); }
  const WeightTile& head() const { return tiles_.front(); }
  // Notified (after a delta) whenever a tile enters or leaves.
  const sc_core::sc_event& changed() const { return changed_; }

  // A tile of an rdw of `region`, counted when it arrives.
  void push(WeightTile tile, size_t region) {
    tiles_in_.add(1, region, When::at(tile.arrival));
    bytes_.add(tile.bytes, region, When::at(tile.arrival));
    // For the trace, a tile is in the FIFO from its arrival; its slot is taken from the request.
    if (trace_ != nullptr) trace_->count({"weight_fifo tiles", tile.arrival, +1});
    tiles_.push_back(std::move(tile));
    occupancy_changed();
  }

  WeightTile pop() {
    WeightTile t = std::move(tiles_.front());
    tiles_.pop_front();
    if (trace_ != nullptr) trace_->count({"weight_fifo tiles", now(), -1});
    occupancy_changed();
    return t;
  }

  StatGroup& stats() { return stats_; }
  void trace(sc_core::sc_trace_file* tf) const { sc_core::sc_trace(tf, occupancy_, "weight_fifo.tiles"); }

 private:
  void occupancy_changed() {
    occupancy_ = tiles_.size();
    changed_.notify(sc_core::SC_ZERO_TIME);
  }

  size_t depth_;
  TraceRecorder* trace_ = nullptr;
  std::deque<WeightTile> tiles_;
  uint64_t occupancy_ = 0;  // for waveforms
  sc_core::sc_event changed_;
  StatGroup stats_{"weight_fifo"};
  Counter& tiles_in_ = stats_.add("tiles", "tiles", "Tiles that passed through the FIFO");
  Counter& bytes_ = stats_.add("bytes", "bytes", "Weight bytes that passed through the FIFO");
};

}  // namespace tpu::sim
