#include "sim/base/bandwidth.h"

#include <cmath>

namespace tpu::sim {

BandwidthChannel::BandwidthChannel(double bytes_per_second, double clock_hz)
    : bytes_per_second_(static_cast<uint64_t>(std::llround(bytes_per_second))),
      clock_hz_(static_cast<uint64_t>(std::llround(clock_hz))) {}

Cycle BandwidthChannel::cycles_for(uint64_t bytes) const {
  const unsigned __int128 num = static_cast<unsigned __int128>(bytes) * clock_hz_;
  return static_cast<Cycle>((num + bytes_per_second_ - 1) / bytes_per_second_);
}

BandwidthChannel::Transfer BandwidthChannel::reserve(Cycle earliest, uint64_t bytes) {
  if (earliest > busy_until_) {  // a gap: a new stream begins
    stream_start_ = earliest;
    stream_bytes_ = 0;
  }
  const Cycle start = busy_until_ > earliest ? busy_until_ : earliest;
  stream_bytes_ += bytes;
  busy_until_ = stream_start_ + cycles_for(stream_bytes_);
  return {start, busy_until_};
}

Cycle ns_to_cycles(double ns, double clock_mhz) {
  // Whole picoseconds and whole kilohertz keep the product exact.
  const auto ps = static_cast<unsigned __int128>(std::llround(ns * 1000.0));
  const auto khz = static_cast<unsigned __int128>(std::llround(clock_mhz * 1000.0));
  const unsigned __int128 num = ps * khz;  // cycles * 10^9
  const unsigned __int128 den = 1000000000;
  return static_cast<Cycle>((num + den - 1) / den);
}

}  // namespace tpu::sim
