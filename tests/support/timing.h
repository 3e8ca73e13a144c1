#pragma once

// The model's documented timing rules, written out again from the parameters
// for tests to state expected cycles as formulas: the host streams
// instruction words at the link bandwidth after one link latency; a word
// issues `pipeline_stages - 1` cycles after it arrives; a unit starts an
// instruction the cycle after its issue; bandwidth-limited transfers take
// ceil(bytes * clock / bandwidth) cycles.

#include <cmath>
#include <cstdint>

#include "sim/base/params.h"

namespace tpu::test {

struct Timing {
  explicit Timing(const sim::ChipParams& p) : p(p) {}
  const sim::ChipParams p;

  // ceil(bytes * clock_hz / bytes_per_second), exactly.
  uint64_t transfer(uint64_t bytes, double gb_s) const {
    const auto hz = static_cast<unsigned __int128>(std::llround(p.clock_mhz * 1e6));
    const auto bps = static_cast<unsigned __int128>(std::llround(gb_s * 1e9));
    return static_cast<uint64_t>((bytes * hz + bps - 1) / bps);
  }
  uint64_t ns(double v) const { return static_cast<uint64_t>(std::ceil(v * p.clock_mhz / 1000.0 - 1e-9)); }

  uint64_t host_latency() const { return ns(p.host_interface.latency_ns); }
  uint64_t dram_latency() const { return ns(p.weight_memory.latency_ns); }
  uint64_t host_transfer(uint64_t bytes) const { return transfer(bytes, p.host_interface.bandwidth_gb_s); }
  uint64_t dram_transfer(uint64_t bytes) const {
    const uint64_t burst = static_cast<uint64_t>(p.weight_memory.burst_bytes);
    return transfer((bytes + burst - 1) / burst * burst, p.weight_memory.bandwidth_gb_s);
  }

  // Cycle word `pc` enters the instruction buffer: the first after one word
  // time and the link latency, the rest streaming behind it.
  uint64_t arrival(uint64_t pc) const {
    const uint64_t first = host_transfer(32) + host_latency();
    return pc == 0 ? first : first + host_transfer(32 * pc);
  }
  // Issue cycle of `pc` in a program that never stalls issue.
  uint64_t issue(uint64_t pc) const {
    uint64_t t = 0;
    for (uint64_t i = 0; i <= pc; ++i) t = std::max(arrival(i) + p.sequencer.pipeline_stages - 1, i ? t + 1 : 0);
    return t;
  }

  uint64_t rows() const { return static_cast<uint64_t>(p.matrix_unit.rows); }
  uint64_t cols() const { return static_cast<uint64_t>(p.matrix_unit.cols); }
  uint64_t row_bytes() const { return static_cast<uint64_t>(p.unified_buffer.row_bytes); }
  uint64_t lanes() const { return static_cast<uint64_t>(p.activation_unit.lanes); }
};

}  // namespace tpu::test
