#pragma once

// UnifiedBuffer: the on-chip SRAM holding activations, byte addressed. Each
// port moves one row (`row_bytes`) per cycle; the units that use it charge
// their own port time (UnifiedBuffer::port_cycles). Accesses outside the
// buffer are caught at issue, so reads and writes here are always in range.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <systemc>
#include <vector>

#include "sim/base/cycles.h"
#include "sim/base/params.h"
#include "sim/base/scoreboard.h"
#include "sim/base/stats.h"

namespace tpu::sim {

class UnifiedBuffer : public sc_core::sc_module {
 public:
  UnifiedBuffer(sc_core::sc_module_name name, const UnifiedBufferParams& p)
      : sc_module(name), params_(p), bytes_(static_cast<size_t>(p.size_bytes)) {}

  uint64_t size() const { return bytes_.size(); }
  // Cycles one port needs for `bytes`.
  Cycle port_cycles(uint64_t bytes) const { return ceil_div(bytes, static_cast<uint64_t>(params_.row_bytes)); }

  // Direct views for the units' inner loops, which report their traffic with note_*.
  const uint8_t* data(uint64_t addr) const { return bytes_.data() + addr; }
  uint8_t* data(uint64_t addr) { return bytes_.data() + addr; }
  // `bytes` read in each window of `when`, for an instruction of `region`.
  void note_read(uint64_t bytes, size_t region, When when) { read_bytes_.add(bytes, region, when); }
  // The bytes of `s`, written over the cycles of `when`.
  void note_write(const Strided& s, size_t region, When when) {
    write_bytes_.add(s.len * s.count, region, when);
    for (uint64_t i = 0; i < s.count; ++i) mark(s.base + i * s.stride, s.len);
  }

  // Distinct bytes written so far: the buffer space the program used.
  uint64_t bytes_used() const {
    uint64_t n = 0;
    for (uint64_t w : written_) n += static_cast<uint64_t>(__builtin_popcountll(w));
    return n;
  }

  StatGroup& stats() { return stats_; }

 private:
  const UnifiedBufferParams& params_;
  void mark(uint64_t lo, uint64_t n) {
    for (uint64_t b = lo; b < lo + n;) {
      const uint64_t bit = b % 64;
      const uint64_t take = std::min<uint64_t>(64 - bit, lo + n - b);
      written_[b / 64] |= (take == 64 ? ~uint64_t{0} : ((uint64_t{1} << take) - 1)) << bit;
      b += take;
    }
  }

  std::vector<uint8_t> bytes_;
  std::vector<uint64_t> written_ = std::vector<uint64_t>(bytes_.size() / 64 + 1, 0);
  StatGroup stats_{"unified_buffer"};
  Counter& read_bytes_ = stats_.add("read_bytes", "bytes", "Bytes read from the unified buffer");
  Counter& write_bytes_ = stats_.add("write_bytes", "bytes", "Bytes written to the unified buffer");
};

}  // namespace tpu::sim
