#pragma once

// A link or memory channel of fixed bandwidth, timed exactly in cycles.
// Transfers that follow each other without a gap form one stream, whose
// cumulative bytes are converted to cycles as a whole, so a link of 48.57
// bytes per cycle moves 34 bytes in one cycle but 1000 bytes in 21, not in
// 1000/34 rounded up per piece.

#include <cstdint>

#include "sim/base/cycles.h"

namespace tpu::sim {

class BandwidthChannel {
 public:
  BandwidthChannel() = default;
  // bytes_per_second and clock_hz are rounded to whole numbers once, here.
  BandwidthChannel(double bytes_per_second, double clock_hz);

  struct Transfer {
    Cycle start;
    Cycle end;  // first cycle after the last byte
  };
  // Reserves the channel for `bytes`, starting no earlier than `earliest`.
  Transfer reserve(Cycle earliest, uint64_t bytes);

  // Cycles for `bytes` on an idle channel.
  Cycle cycles_for(uint64_t bytes) const;
  Cycle busy_until() const { return busy_until_; }

 private:
  uint64_t bytes_per_second_ = 1;
  uint64_t clock_hz_ = 1;
  Cycle stream_start_ = 0;
  uint64_t stream_bytes_ = 0;
  Cycle busy_until_ = 0;
};

// Cycles of `ns` nanoseconds at `clock_mhz`, rounded up.
Cycle ns_to_cycles(double ns, double clock_mhz);

}  // namespace tpu::sim
