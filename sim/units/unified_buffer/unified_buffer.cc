#include "sim/units/unified_buffer/unified_buffer.h"

#include <tuple>

namespace tpu::sim {

UnifiedBuffer::UnifiedBuffer(sc_core::sc_module_name name, const UnifiedBufferParams& p, TraceRecorder* trace)
    : sc_module(name),
      params_(p),
      trace_(trace),
      ports_(free_ports()),
      bytes_(static_cast<size_t>(p.size_bytes)) {
  SC_METHOD(arbitrate);
  sensitive << arbitrate_;
  dont_initialize();
}

std::vector<PortGrant> UnifiedBuffer::acquire(PortUser user, uint64_t seq, size_t region,
                                              const std::vector<PortPart>& parts) {
  Request r{user, seq, region, &parts, tick_now(), now(), {}, false};
  pending_.push_back(&r);
  arbitrate_.notify(ticks(1));
  while (!r.granted) sc_core::wait(granted_);
  return std::move(r.grants);
}

void UnifiedBuffer::arbitrate() {
  // The requests of earlier ticks, in the policy's order; those of this tick wait for the next.
  const uint64_t tick = tick_now();
  std::vector<Request*> due, later;
  for (Request* r : pending_) (r->tick < tick ? due : later).push_back(r);
  std::sort(due.begin(), due.end(),
            [](const Request* a, const Request* b) { return std::tie(a->user, a->seq) < std::tie(b->user, b->seq); });
  // A request made late in a cycle may be granted in the next one: keep the cycles it may still ask for.
  Cycle keep = now();
  for (const Request* r : due) keep = std::min(keep, r->cycle);
  ports_.reads.forget_before(keep);
  ports_.writes.forget_before(keep);
  for (Request* r : due) grant(*r);
  pending_ = std::move(later);
  if (!pending_.empty()) arbitrate_.notify(ticks(1));
  granted_.notify(sc_core::SC_ZERO_TIME);
}

std::vector<PortGrant> PortSet::place(const std::vector<PortPart>& parts) {
  std::vector<PortGrant> grants;
  Cycle prev_end = 0, prev_earliest = 0, latest_first = 0;
  for (const PortPart& part : parts) {
    PortRuns runs = part.runs;
    if (part.follows == Follows::end_of_previous) runs.earliest = std::max(runs.earliest, prev_end);
    if (part.follows == Follows::with_previous) runs.earliest = std::max(runs.earliest, prev_earliest);
    if (part.follows == Follows::stream_behind) runs.earliest = std::max(runs.earliest, latest_first + 1);
    prev_earliest = runs.earliest;
    grants.push_back((part.kind == PortKind::read ? reads : writes).reserve(runs));
    prev_end = grants.back().end();
    latest_first = std::max(latest_first, grants.back().first());
  }
  return grants;
}

void UnifiedBuffer::grant(Request& r) {
  r.grants = ports_.place(*r.parts);
  for (size_t i = 0; i < r.grants.size(); ++i) {
    const PortGrant& g = r.grants[i];
    const bool read = (*r.parts)[i].kind == PortKind::read;
    for (const RunSegment& s : g.segments) {
      (read ? read_port_cycles_ : write_port_cycles_)
          .add(g.length, r.region, When::windows(s.first, g.length, s.period, s.count));
      if (trace_ == nullptr) continue;
      // Port use on the trace: a change where each stretch of taken cycles begins and ends.
      const char* track = read ? "unified_buffer read ports" : "unified_buffer write ports";
      const uint64_t stretches = s.period == g.length ? 1 : s.count;
      const Cycle len = s.period == g.length ? s.count * g.length : g.length;
      for (uint64_t k = 0; k < stretches; ++k) {
        trace_->count({track, s.first + k * s.period, +1});
        trace_->count({track, s.first + k * s.period + len, -1});
      }
    }
  }
  r.granted = true;
}

}  // namespace tpu::sim
