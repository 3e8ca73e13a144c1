#pragma once

// The model's documented timing rules, written out again from the parameters
// for tests to state expected cycles as formulas: the host streams
// instruction words at the link bandwidth after one link latency; a word
// issues `pipeline_stages - 1` cycles after it arrives; a unit starts an
// instruction the cycle after its issue; bandwidth-limited transfers take
// ceil(bytes * clock / bandwidth) cycles; a unified-buffer port moves
// row_bytes a cycle.

#include <algorithm>
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
  // Bytes one k x n weight tile moves: the array's rows x cols with whole-tile reads, else its own.
  uint64_t tile_bytes(uint64_t k, uint64_t n) const {
    return p.weight_memory.tile_reads == "whole" ? rows() * cols() : k * n;
  }
  uint64_t tile_transfer(uint64_t k, uint64_t n) const { return dram_transfer(tile_bytes(k, n)); }

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

  uint64_t port_cycles(uint64_t bytes) const { return (bytes + row_bytes() - 1) / row_bytes(); }

  // An rhm of `bytes` in blocks of `len` (rows that follow each other in the buffer are one block) whose
  // packets cross an otherwise idle link from cycle `from`,
  // `sent` bytes having gone on it since then: each packet's piece of each row takes the write port as it
  // arrives, after what the port already holds until `port`. Returns the end of the last write.
  uint64_t rhm_written(uint64_t from, uint64_t bytes, uint64_t len, uint64_t sent = 0, uint64_t port = 0) const {
    const auto packet = static_cast<uint64_t>(p.host_interface.packet_bytes);
    for (uint64_t done = 0; done < bytes;) {
      const uint64_t to = std::min(bytes, done + packet);
      port = std::max(port, from + host_transfer(sent + to));
      for (uint64_t b = done; b < to;) {
        const uint64_t row_end = std::min(to, (b / len + 1) * len);
        port += port_cycles(row_end - b);
        b = row_end;
      }
      done = to;
    }
    return port;
  }
  // A whm of `blocks` blocks of `len` bytes whose bytes cross an idle link over [from, to): each block
  // is port_cycles(len) rows, and the n-th of all the rows is read at from + floor(n * (to - from) / rows)
  // or when the read port frees; the link cannot finish before each row's read plus the link time of
  // the bytes from it on. Returns when the last byte has crossed.
  uint64_t whm_sent(uint64_t from, uint64_t to, uint64_t blocks, uint64_t len) const {
    const uint64_t per_block = port_cycles(len), rows = blocks * per_block, total = blocks * len;
    uint64_t port = 0, done = to;
    for (uint64_t n = 0; n < rows; ++n) {
      port = std::max(port, from + n * (to - from) / rows) + 1;
      const uint64_t before = (n / per_block) * len + (n % per_block) * row_bytes();
      done = std::max(done, port + host_transfer(total - before));
    }
    return done;
  }

  uint64_t rows() const { return static_cast<uint64_t>(p.matrix_unit.rows); }
  uint64_t cols() const { return static_cast<uint64_t>(p.matrix_unit.cols); }
  uint64_t row_bytes() const { return static_cast<uint64_t>(p.unified_buffer.row_bytes); }
  uint64_t lanes() const { return static_cast<uint64_t>(p.activation_unit.lanes); }
};

}  // namespace tpu::test
