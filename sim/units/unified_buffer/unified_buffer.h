#pragma once

// UnifiedBuffer: the on-chip SRAM holding activations, byte addressed, with
// `read_ports` read ports and `write_ports` write ports that each move one row
// (`row_bytes`) per cycle. The matrix unit, the activation unit and the host
// interface share the ports: a unit asks for the runs of port cycles an
// instruction needs when it starts it (acquire), and the buffer grants them
// from its port calendars.
//
// Policy: first come, first served. Requests made in the same cycle are
// granted together one tick later, in a fixed order: the matrix unit, then
// the activation unit, the sparse engine, the host interface, and by program order within
// a unit; each takes the earliest cycles the requests before it left free.
// A grant is final, so a unit timed in closed form knows its cycles at once.
//
// Accesses outside the buffer are caught at issue, so reads and writes here
// are always in range.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <systemc>
#include <vector>

#include "sim/base/cycles.h"
#include "sim/base/params.h"
#include "sim/base/scoreboard.h"
#include "sim/base/stats.h"
#include "sim/base/zeroed_array.h"
#include "sim/base/trace.h"
#include "sim/units/unified_buffer/port_calendar.h"

namespace tpu::sim {

// The units that use the ports, in the order their requests of one cycle are granted.
enum class PortUser { matrix_unit, activation_unit, sparse_engine, host_interface };
enum class PortKind { read, write };

// How a part of a request waits for the parts before it: not at all, until
// the part before it has ended, from the same cycle as the part before it
// (its runs paced from there too), or as a stream of rows consumed in step
// with theirs (its first run the cycle after the latest of their first runs).
enum class Follows { nothing, end_of_previous, with_previous, stream_behind };

// Runs of one kind of port, as part of a request.
struct PortPart {
  PortKind kind = PortKind::read;
  PortRuns runs;
  Follows follows = Follows::nothing;
};

// The read ports and the write ports, and where a request's parts go on them.
struct PortSet {
  PortCalendar reads, writes;
  std::vector<PortGrant> place(const std::vector<PortPart>& parts);
};

class UnifiedBuffer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(UnifiedBuffer);
  UnifiedBuffer(sc_core::sc_module_name name, const UnifiedBufferParams& p, TraceRecorder* trace);

  uint64_t size() const { return bytes_.size(); }
  uint64_t row_bytes() const { return static_cast<uint64_t>(params_.row_bytes); }
  // Cycles one port needs for `bytes`.
  Cycle port_cycles(uint64_t bytes) const { return ceil_div(bytes, static_cast<uint64_t>(params_.row_bytes)); }

  // Reserves the parts (each with runs) of an access by instruction `seq` of
  // `region`, and returns where each part went. Called by a unit's thread; it
  // returns one tick later, when the requests of this tick are granted.
  std::vector<PortGrant> acquire(PortUser user, uint64_t seq, size_t region, const std::vector<PortPart>& parts);
  // Ports as many as the buffer's, none taken: where a request would go alone, to tell its wait for others.
  PortSet free_ports() const {
    return {PortCalendar(static_cast<int>(params_.read_ports)), PortCalendar(static_cast<int>(params_.write_ports))};
  }

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
    for (size_t i = 0; i < written_.size(); ++i) n += static_cast<uint64_t>(__builtin_popcountll(written_[i]));
    return n;
  }

  StatGroup& stats() { return stats_; }

 private:
  struct Request {
    PortUser user;
    uint64_t seq;
    size_t region;
    const std::vector<PortPart>* parts;
    uint64_t tick;  // when it was made
    Cycle cycle;    // the cycle of that tick: no run asks for an earlier one
    std::vector<PortGrant> grants;
    bool granted = false;
  };
  void arbitrate();
  void grant(Request& r);
  void mark(uint64_t lo, uint64_t n) {
    for (uint64_t b = lo; b < lo + n;) {
      const uint64_t bit = b % 64;
      const uint64_t take = std::min<uint64_t>(64 - bit, lo + n - b);
      written_[b / 64] |= (take == 64 ? ~uint64_t{0} : ((uint64_t{1} << take) - 1)) << bit;
      b += take;
    }
  }

  const UnifiedBufferParams& params_;
  TraceRecorder* trace_;
  PortSet ports_;
  std::vector<Request*> pending_;
  sc_core::sc_event arbitrate_, granted_;

  ZeroedArray<uint8_t> bytes_;
  ZeroedArray<uint64_t> written_{bytes_.size() / 64 + 1};  // a bit per byte ever written
  StatGroup stats_{"unified_buffer"};
  Counter& read_bytes_ = stats_.add("read_bytes", "bytes", "Bytes read from the unified buffer");
  Counter& write_bytes_ = stats_.add("write_bytes", "bytes", "Bytes written to the unified buffer");
  Counter& read_port_cycles_ =
      stats_.add("read_port_cycles", "port-cycles", "Cycles a read port was taken, summed over the read ports");
  Counter& write_port_cycles_ =
      stats_.add("write_port_cycles", "port-cycles", "Cycles a write port was taken, summed over the write ports");
};

}  // namespace tpu::sim
