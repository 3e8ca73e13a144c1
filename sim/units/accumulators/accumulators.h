#pragma once

// Accumulators: `entries` rows of one int32 per array column, written or
// accumulated by the matrix unit and read by the activation unit. The compiler
// double-buffers them (one half filled while the other is activated); the
// hardware only keeps the values. Sums wrap modulo 2^32.

#include <cstdint>
#include <systemc>
#include <vector>

#include "sim/base/params.h"
#include "sim/base/stats.h"
#include "sim/base/zeroed_array.h"

namespace tpu::sim {

class Accumulators : public sc_core::sc_module {
 public:
  Accumulators(sc_core::sc_module_name name, const AccumulatorParams& p, int64_t cols)
      : sc_module(name),
        entries_(static_cast<size_t>(p.entries)),
        cols_(static_cast<size_t>(cols)),
        values_(entries_ * cols_) {}

  size_t entries() const { return entries_; }
  size_t cols() const { return cols_; }
  int32_t* row(size_t r) { return values_.data() + r * cols_; }
  const int32_t* row(size_t r) const { return values_.data() + r * cols_; }

  // Lanes [0, n) of row r become v (or v is added when `accumulate`).
  void store(size_t r, const int32_t* v, size_t n, bool accumulate) {
    int32_t* dst = row(r);
    if (accumulate) {
      for (size_t c = 0; c < n; ++c)
        dst[c] = static_cast<int32_t>(static_cast<uint32_t>(dst[c]) + static_cast<uint32_t>(v[c]));
    } else {
      for (size_t c = 0; c < n; ++c) dst[c] = v[c];
    }
  }

  // One lane: what the matrix unit's pe fidelity writes as each column drains.
  void store_lane(size_t r, size_t c, int32_t v, bool accumulate) {
    int32_t& dst = row(r)[c];
    dst = accumulate ? static_cast<int32_t>(static_cast<uint32_t>(dst) + static_cast<uint32_t>(v)) : v;
  }

  // `rows` rows read (or written) in each window of `when`, for an instruction of `region`.
  void count_row_reads(uint64_t rows, size_t region, When when) {
    row_reads_.add(rows, region, when);
    read_bytes_.add(rows * cols_ * sizeof(int32_t), region, when);
  }
  // An accumulate reads the old sums before it writes the new ones.
  void count_row_writes(uint64_t rows, size_t region, When when, bool accumulate) {
    row_writes_.add(rows, region, when);
    write_bytes_.add(rows * cols_ * sizeof(int32_t), region, when);
    if (accumulate) accumulate_read_bytes_.add(rows * cols_ * sizeof(int32_t), region, when);
  }
  StatGroup& stats() { return stats_; }

 private:
  size_t entries_;
  size_t cols_;
  ZeroedArray<int32_t> values_;
  StatGroup stats_{"accumulators"};
  Counter& row_writes_ = stats_.add("row_writes", "rows", "Accumulator rows written or accumulated");
  Counter& row_reads_ = stats_.add("row_reads", "rows", "Accumulator rows read by the activation unit");
  Counter& write_bytes_ = stats_.add("write_bytes", "bytes", "Bytes of accumulator rows written");
  Counter& read_bytes_ = stats_.add("read_bytes", "bytes", "Bytes of accumulator rows read by the activation unit");
  Counter& accumulate_read_bytes_ =
      stats_.add("accumulate_read_bytes", "bytes", "Bytes of old sums read to add a product to (mmul ... accumulate)");
};

}  // namespace tpu::sim
