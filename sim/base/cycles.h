#pragma once

// Time in the model is counted in whole clock cycles. A cycle is
// kTicksPerCycle SystemC ticks of 100 ps (so a waveform shows one cycle per
// nanosecond), and every unit acts at the first tick of a cycle. The ticks
// after it order what must happen after everything a cycle's first tick did,
// whatever the order SystemC runs processes in: the unified buffer grants its
// ports to all the requests of one tick at the next (UnifiedBuffer), and the
// host link picks what goes next at the middle tick.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <systemc>

namespace tpu::sim {

using Cycle = uint64_t;
inline constexpr Cycle kNever = std::numeric_limits<Cycle>::max();
inline constexpr uint64_t kTicksPerCycle = 10;
// The resolution the chip sets SystemC to: one tick.
inline constexpr double kTickPs = 100;

inline uint64_t tick_now() { return sc_core::sc_time_stamp().value(); }
inline Cycle now() { return tick_now() / kTicksPerCycle; }
// The tick within the current cycle: 0 where units act.
inline uint64_t phase_now() { return tick_now() % kTicksPerCycle; }

inline sc_core::sc_time ticks(uint64_t n) { return sc_core::sc_time::from_value(n); }
// The time from now until the first tick of cycle `t` (zero if that has passed;
// cycles past the last representable tick wait until that tick).
inline sc_core::sc_time until(Cycle t) {
  constexpr Cycle kLast = std::numeric_limits<uint64_t>::max() / kTicksPerCycle;
  const uint64_t target = std::min(t, kLast) * kTicksPerCycle, n = tick_now();
  return ticks(target > n ? target - n : 0);
}
// A span of `n` cycles, for running the simulation that long.
inline sc_core::sc_time cycles(Cycle n) { return ticks(n * kTicksPerCycle); }

// The tick at which an arbiter that picks among what became ready within a
// cycle (the host link: an instruction word or a data packet) decides: after
// the first tick and the port grants that follow it.
inline constexpr uint64_t kDecisionTick = kTicksPerCycle / 2;
inline void wait_for_decision_tick() {
  if (phase_now() < kDecisionTick) sc_core::wait(ticks(kDecisionTick - phase_now()));
}

// Suspends the calling SystemC thread until the first tick of cycle `t`
// (no-op if the current cycle is `t` or later).
inline void wait_until(Cycle t) {
  if (t > now()) sc_core::wait(until(t));
}

// ceil(a / b) for b > 0.
constexpr uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace tpu::sim
