#include "sim/units/host_interface/host_interface.h"

#include <algorithm>
#include <vector>

#include "isa/host_ops.h"

namespace tpu::sim {

HostInterface::HostInterface(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, WeightMemory& weights,
                             PagedMemory& host_memory, sc_core::sc_fifo<int64_t>& instruction_buffer)
    : sc_module(name),
      ctx_(ctx),
      ub_(ub),
      weights_(weights),
      host_(host_memory),
      instruction_buffer_(instruction_buffer),
      to_chip_(ctx.params.host_interface.bandwidth_gb_s * 1e9, ctx.params.clock_mhz * 1e6),
      to_host_(ctx.params.host_interface.bandwidth_gb_s * 1e9, ctx.params.clock_mhz * 1e6),
      packet_bytes_(static_cast<uint64_t>(ctx.params.host_interface.packet_bytes)),
      own_ports_(ub.free_ports()),
      latency_(ns_to_cycles(ctx.params.host_interface.latency_ns, ctx.params.clock_mhz)),
      op_latency_(ns_to_cycles(ctx.params.host_interface.op_latency_ns, ctx.params.clock_mhz)),
      op_rate_(ctx.params.host_interface.op_bandwidth_gb_s * 1e9, ctx.params.clock_mhz * 1e6),
      queue_(static_cast<size_t>(ctx.params.sequencer.unit_queue)) {
  SC_THREAD(downstream);
  SC_THREAD(accept);
  SC_THREAD(run);
}

namespace {

isa::Opcode opcode_of(const isa::Word& word) { return static_cast<isa::Opcode>(word.get(0, isa::kOpcodeBits)); }

// One transfer moves at most 1 GiB (more, with blocks overwriting each other, would only cost the
// simulating machine time).
constexpr uint64_t kMaxTransferBytes = uint64_t{1} << 30;

std::string transfer_limit(uint64_t len, uint64_t repeat) {
  if (len * repeat <= kMaxTransferBytes) return {};
  return "transfer of " + std::to_string(len * repeat) + " bytes (len * repeat) exceeds the " +
         std::to_string(kMaxTransferBytes) + " bytes one instruction may move";
}

}  // namespace

std::string HostInterface::prepare(const isa::Word& word, Footprint* footprint) {
  const char* host_unit = "bytes of host address space";
  switch (opcode_of(word)) {
    case isa::Opcode::ldw: {
      isa::WeightLoadArgs a;
      isa::unpack(word, a);
      *footprint = isa::footprint(word, {});
      const Strided& dram = footprint->front().where;
      const Strided host{a.host, a.len, a.repeat, a.host_stride};
      std::string e =
          range_error("weight DRAM range", dram.lo(), dram.hi(), weights_.dram().size(), "bytes of weight DRAM");
      if (e.empty()) e = range_error("host range", host.lo(), host.hi(), host_.size(), host_unit);
      if (e.empty()) e = transfer_limit(a.len, a.repeat);
      return e;
    }
    case isa::Opcode::hop: {
      isa::HostOpArgs a;
      isa::unpack(word, a);
      const uint64_t bytes = a.rows * a.cols, params = isa::host::params_bytes(a.fn, a.cols);
      if (bytes > isa::host::kMaxOperandBytes)
        return "operand of " + std::to_string(bytes) + " bytes exceeds the host operation limit of " +
               std::to_string(isa::host::kMaxOperandBytes) + " bytes";
      std::string e = range_error("source range", a.src, a.src + bytes, host_.size(), host_unit);
      if (e.empty()) e = range_error("destination range", a.dst, a.dst + bytes, host_.size(), host_unit);
      if (e.empty()) e = range_error("parameter range", a.params, a.params + params, host_.size(), host_unit);
      return e;  // host memory is the host interface's alone: no footprint
    }
    default: {
      isa::HostDmaArgs a;
      isa::unpack(word, a);
      *footprint = isa::footprint(word, {});
      const Strided& ub = footprint->front().where;
      const Strided host{a.host, a.len, a.repeat, a.host_stride};
      std::string e = range_error("unified-buffer range", ub.lo(), ub.hi(), ub_.size(), "bytes of the unified buffer");
      if (e.empty()) e = range_error("host range", host.lo(), host.hi(), host_.size(), host_unit);
      if (e.empty()) e = transfer_limit(a.len, a.repeat);
      return e;
    }
  }
}

// Host memory an instruction reads and writes: an rhm or ldw reads its blocks, a whm writes them,
// a hop reads its operand and parameters and writes its result.
std::vector<HostInterface::HostAccess> HostInterface::host_accesses(const isa::Word& word) const {
  switch (opcode_of(word)) {
    case isa::Opcode::ldw: {
      isa::WeightLoadArgs a;
      isa::unpack(word, a);
      return {{Strided{a.host, a.len, a.repeat, a.host_stride}, false, kNever, 0}};
    }
    case isa::Opcode::hop: {
      isa::HostOpArgs a;
      isa::unpack(word, a);
      const uint64_t bytes = a.rows * a.cols;
      return {{Strided{a.src, bytes, 1, 0}, false, kNever, 0},
              {Strided{a.params, isa::host::params_bytes(a.fn, a.cols), 1, 0}, false, kNever, 0},
              {Strided{a.dst, bytes, 1, 0}, true, kNever, 0}};
    }
    default: {
      isa::HostDmaArgs a;
      isa::unpack(word, a);
      return {{Strided{a.host, a.len, a.repeat, a.host_stride}, opcode_of(word) == isa::Opcode::whm, kNever, 0}};
    }
  }
}

void HostInterface::wait_for_host_memory(const std::vector<HostAccess>& mine) {
  for (;;) {
    Cycle until = 0;  // the latest end, known or not, of an access that clashes
    bool unknown = false;
    for (const HostAccess& theirs : in_flight_) {
      if (theirs.done != kNever && theirs.done <= now()) continue;
      for (const HostAccess& m : mine)
        if ((m.write || theirs.write) && overlaps(m.range, theirs.range)) {
          if (theirs.done == kNever)
            unknown = true;
          else
            until = std::max(until, theirs.done);
        }
    }
    if (unknown) {
      sc_core::wait(host_memory_freed_);
    } else if (until > now()) {
      wait_until(until);
    } else {
      return;
    }
  }
}

void HostInterface::host_memory_done(uint64_t seq, Cycle done) {
  for (HostAccess& h : in_flight_)
    if (h.seq == seq) h.done = done;
  host_memory_freed_.notify(sc_core::SC_ZERO_TIME);
}

void HostInterface::finish(const Issued& insn, Cycle start, Cycle done) {
  ctx_.set_done(insn.seq, done);
  host_memory_done(insn.seq, done);
  // Busy cycles: those in which some instruction of the interface was in progress, each counted
  // once; busy_ holds the merged stretches so far, and only the gaps between them are new.
  Cycle lo = start, hi = done, cursor = start;
  auto it = busy_.lower_bound(start);
  if (it != busy_.begin() && std::prev(it)->second >= start) --it;
  while (it != busy_.end() && it->first <= done) {
    if (it->first > cursor) busy_cycles_.add(it->first - cursor, insn.region, When::over(cursor, it->first));
    cursor = std::max(cursor, it->second);
    lo = std::min(lo, it->first);
    hi = std::max(hi, it->second);
    it = busy_.erase(it);
  }
  if (done > cursor) busy_cycles_.add(done - cursor, insn.region, When::over(cursor, done));
  if (hi > lo) busy_[lo] = hi;
  ctx_.trace_slice("host_interface", insn, start, done);
}

void HostInterface::start_transfer(const Issued& insn, Cycle start) {
  isa::HostDmaArgs a;
  isa::unpack(insn.word, a);
  const bool to_chip = opcode_of(insn.word) == isa::Opcode::rhm;
  const uint64_t bytes = a.len * a.repeat;
  if (ctx_.compute_values)
    for (uint64_t i = 0; i < a.repeat; ++i) {
      const uint64_t h = a.host + i * a.host_stride, u = a.ub + i * a.ub_stride;
      if (to_chip)
        host_.read(h, ub_.data(u), a.len);
      else
        host_.write(h, ub_.data(u), a.len);
    }
  if (to_chip) {
    to_send_.push_back({insn, bytes, start});
    data_posted_.notify(sc_core::SC_ZERO_TIME);
    return;
  }
  // The bytes move as the chip-to-host channel carries them. Each row of each block is read from the
  // unified buffer when the channel is ready for it, or as soon after as a read port is free; the
  // channel cannot finish before each row's read plus the time the bytes from it on take.
  const BandwidthChannel::Transfer x = to_host_.reserve(start, bytes);
  const UbBlocks b = ub_blocks(a);
  const uint64_t rows = ub_.port_cycles(b.bytes);  // a block's port cycles, each a row
  const std::vector<PortPart> reads{
      {PortKind::read, PortRuns::spread(b.count * rows, 1, x.start, x.end - x.start)}};
  const auto sent = [&](const PortGrant& g) {
    Cycle done = x.end;
    uint64_t j = 0;
    for (const RunSegment& s : g.segments)
      for (uint64_t i = 0; i < s.count; ++i, ++j) {
        const uint64_t before = (j / rows) * b.bytes + (j % rows) * ub_.row_bytes();
        done = std::max(done, s.first + i * s.period + 1 + to_host_.cycles_for(bytes - before));
      }
    return done;
  };
  const Cycle alone = sent(place_alone(reads).front());  // before the grant: place_alone prunes at now()
  const Cycle done = sent(ub_.acquire(PortUser::host_interface, insn.seq, insn.region, reads).front());
  count_port_wait(insn.region, done, alone);
  const When moving = When::over(x.start, x.end);
  ub_.note_read(bytes, insn.region, moving);
  write_bytes_.add(bytes, insn.region, moving);
  finish(insn, start, done + latency_);
}

bool HostInterface::start_load_weights(const Issued& insn, Cycle start) {
  isa::WeightLoadArgs a;
  isa::unpack(insn.word, a);
  const Strided dram{a.dram, a.len, a.repeat, a.dram_stride};
  if (const int64_t reader = weights_.streaming_from(dram); reader >= 0) {
    ctx_.raise(insn.pc, "hazard: this instruction writes weight-DRAM bytes that the rdw at pc " +
                            std::to_string(reader) + " has not streamed into the weight FIFO yet; wait for the mmul " +
                            "that takes its last tile (`sync units=matrix`) first");
    return false;
  }
  weights_.note_write(dram);
  if (ctx_.compute_values) {
    std::vector<uint8_t> block(a.len);
    for (uint64_t i = 0; i < a.repeat; ++i) {
      host_.read(a.host + i * a.host_stride, block.data(), a.len);
      weights_.dram().write(a.dram + i * a.dram_stride, block.data(), a.len);
    }
  }
  to_send_.push_back({insn, a.len * a.repeat, start});
  data_posted_.notify(sc_core::SC_ZERO_TIME);
  return true;
}

HostInterface::UbBlocks HostInterface::ub_blocks(const isa::HostDmaArgs& a) {
  if (a.ub_stride == a.len) return {1, a.len * a.repeat};  // one contiguous stretch
  return {a.repeat, a.len};
}

void HostInterface::write_arrived_bytes(const ToChip& t, uint64_t from, uint64_t to) {
  if (opcode_of(t.insn.word) != isa::Opcode::rhm || to == from) return;
  isa::HostDmaArgs a;
  isa::unpack(t.insn.word, a);
  // Bytes [from, to) of the transfer: the end of one block, whole blocks, the start of another.
  const uint64_t len = ub_blocks(a).bytes;
  const uint64_t first = from / len, last = (to - 1) / len;
  const uint64_t head = std::min(to, (first + 1) * len) - from;
  std::vector<PortPart> parts{{PortKind::write, PortRuns::back_to_back(1, ub_.port_cycles(head), now())}};
  if (last > first) {
    const uint64_t tail = to - last * len;
    parts.push_back({PortKind::write, PortRuns::back_to_back(last - first - 1, ub_.port_cycles(len), now()),
                     Follows::end_of_previous});
    parts.push_back(
        {PortKind::write, PortRuns::back_to_back(1, ub_.port_cycles(tail), now()), Follows::end_of_previous});
  }
  front_written_alone_ = std::max(front_written_alone_, place_alone(parts).back().end());  // before the grant
  const std::vector<PortGrant> g = ub_.acquire(PortUser::host_interface, t.insn.seq, t.insn.region, parts);
  front_written_ = std::max(front_written_, g.back().end());
}

std::vector<PortGrant> HostInterface::place_alone(const std::vector<PortPart>& parts) {
  own_ports_.reads.forget_before(now());
  own_ports_.writes.forget_before(now());
  return own_ports_.place(parts);
}

void HostInterface::count_port_wait(size_t region, Cycle done, Cycle alone) {
  if (done > alone) port_wait_cycles_.add(done - alone, region, When::over(alone, done));
}

// The last packet of an rhm or ldw has gone over [x.start, x.end): its bytes are counted as the channel
// carried them, and it is done one latency later.
void HostInterface::finish_to_chip(const ToChip& t, BandwidthChannel::Transfer x) {
  const When moving = When::over(x.start, x.end);
  if (opcode_of(t.insn.word) == isa::Opcode::ldw) {
    isa::WeightLoadArgs a;
    isa::unpack(t.insn.word, a);
    weights_.count_load(t.bytes, t.insn.region, moving);
    weight_load_bytes_.add(t.bytes, t.insn.region, moving);
  } else {
    isa::HostDmaArgs a;
    isa::unpack(t.insn.word, a);
    ub_.note_write(Strided{a.ub, a.len, a.repeat, a.ub_stride}, t.insn.region, moving);
    read_bytes_.add(t.bytes, t.insn.region, moving);
    count_port_wait(t.insn.region, std::max(x.end, front_written_), std::max(x.end, front_written_alone_));
  }
  finish(t.insn, t.start, std::max(x.end, front_written_) + latency_);
}

Cycle HostInterface::host_op(const Issued& insn, Cycle start) {
  isa::HostOpArgs a;
  isa::unpack(insn.word, a);
  const uint64_t bytes = a.rows * a.cols;
  if (ctx_.compute_values) {
    std::vector<uint8_t> src(bytes), params(isa::host::params_bytes(a.fn, a.cols));
    host_.read(a.src, src.data(), bytes);
    host_.read(a.params, params.data(), params.size());
    const std::vector<uint8_t> dst = isa::host::compute(a.fn, src.data(), a.rows, a.cols, params.data());
    host_.write(a.dst, dst.data(), dst.size());
  }
  host_ops_.add(1, insn.region, When::at(start));
  // The host reads the operand and writes the result.
  const Cycle done = op_rate_.reserve(start + op_latency_, 2 * bytes).end;
  host_op_cycles_.add(done - start, insn.region, When::over(start, done));
  return done;
}

void HostInterface::wait_for_own(const Issued& insn) {
  for (;;) {
    const Cycle clear = ctx_.scoreboard.own_clear(insn.seq);
    if (clear == kNever) {
      sc_core::wait(ctx_.progress);
    } else if (clear > now()) {
      wait_until(clear);
    } else {
      return;
    }
  }
}

void HostInterface::run() {
  Cycle next = 0;  // one instruction starts a cycle at most
  for (;;) {
    // The head of the queue starts once the host memory and the chip memory it shares with earlier
    // instructions of this unit are free; until then it holds its place in the queue.
    while (queue_.empty()) sc_core::wait(queue_.pushed());
    wait_until(std::max(queue_.head().issued + 1, next));
    std::vector<HostAccess> mine = host_accesses(queue_.head().word);
    Cycle waited_until;
    do {
      waited_until = now();
      wait_for_host_memory(mine);
      wait_for_own(queue_.head());
    } while (now() != waited_until);
    const Issued insn = queue_.take();
    if (!ctx_.check_hazards(insn)) return;
    const Cycle start = now();
    next = start + 1;
    active_pc_ = insn.pc;
    for (HostAccess& m : mine) {
      m.seq = insn.seq;
      in_flight_.push_back(m);
    }
    // Forget what is done: nothing that starts from now on can clash with it.
    in_flight_.erase(std::remove_if(in_flight_.begin(), in_flight_.end(),
                                    [&](const HostAccess& h) { return h.done != kNever && h.done <= start; }),
                     in_flight_.end());
    switch (opcode_of(insn.word)) {
      case isa::Opcode::ldw:
        if (!start_load_weights(insn, start)) return;
        break;
      case isa::Opcode::hop: finish(insn, start, host_op(insn, start)); break;
      default: start_transfer(insn, start); break;
    }
  }
}

}  // namespace tpu::sim
