#pragma once

// Time in the model is counted in whole clock cycles. SystemC time is kept at a
// resolution of 1 ns with one cycle per nanosecond, so a SystemC timestamp
// reads directly in cycles; reports convert to seconds with the clock.

#include <cstdint>
#include <limits>
#include <systemc>

namespace tpu::sim {

using Cycle = uint64_t;
inline constexpr Cycle kNever = std::numeric_limits<Cycle>::max();

inline sc_core::sc_time cycles(Cycle n) { return sc_core::sc_time::from_value(n); }
inline Cycle now() { return sc_core::sc_time_stamp().value(); }

// Suspends the calling SystemC thread until cycle `t` (no-op if already there).
inline void wait_until(Cycle t) {
  const Cycle n = now();
  if (t > n) sc_core::wait(cycles(t - n));
}

// ceil(a / b) for b > 0.
constexpr uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace tpu::sim
