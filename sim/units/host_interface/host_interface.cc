#include "sim/units/host_interface/host_interface.h"

#include <vector>

namespace tpu::sim {

HostInterface::HostInterface(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub,
                             PagedMemory& host_memory, sc_core::sc_fifo<int64_t>& instruction_buffer)
    : sc_module(name),
      ctx_(ctx),
      ub_(ub),
      host_(host_memory),
      instruction_buffer_(instruction_buffer),
      instruction_link_(ctx.params.host_interface.bandwidth_gb_s * 1e9, ctx.params.clock_mhz * 1e6),
      data_link_(ctx.params.host_interface.bandwidth_gb_s * 1e9, ctx.params.clock_mhz * 1e6),
      latency_(ns_to_cycles(ctx.params.host_interface.latency_ns, ctx.params.clock_mhz)),
      queue_(static_cast<size_t>(ctx.params.sequencer.unit_queue)) {
  SC_THREAD(deliver);
  SC_THREAD(run);
}

std::string HostInterface::prepare(const isa::Word& word, Footprint* footprint) {
  isa::HostDmaArgs a;
  isa::unpack(word, a);
  const bool to_chip = static_cast<isa::Opcode>(word.get(0, isa::kOpcodeBits)) == isa::Opcode::rhm;
  const Strided ub{a.ub, a.len, a.repeat, a.ub_stride};
  const Strided host{a.host, a.len, a.repeat, a.host_stride};
  std::string e = range_error("unified-buffer range", ub.lo(), ub.hi(), ub_.size(), "bytes of the unified buffer");
  if (e.empty()) e = range_error("host range", host.lo(), host.hi(), host_.size(), "bytes of host address space");
  footprint->push_back({Space::kUnifiedBuffer, to_chip, ub});
  return e;
}

void HostInterface::deliver() {
  const auto& text = ctx_.program.text;
  for (size_t pc = 0; pc <= text.size(); ++pc) {
    const bool end = pc == text.size();
    if (!end) {
      const BandwidthChannel::Transfer x = instruction_link_.reserve(now(), isa::kWordBytes);
      wait_until(x.end + (pc == 0 ? latency_ : 0));
      instruction_bytes_ += isa::kWordBytes;
    }
    const Cycle ready = now();
    instruction_buffer_.write(end ? -1 : static_cast<int64_t>(pc));
    buffer_full_cycles_ += now() - ready;
  }
}

void HostInterface::run() {
  std::vector<uint8_t> block;
  for (;;) {
    const Issued insn = queue_.take_when_ready(0);
    isa::HostDmaArgs a;
    isa::unpack(insn.word, a);
    if (!ctx_.check_hazards(insn)) return;
    const bool to_chip = static_cast<isa::Opcode>(insn.word.get(0, isa::kOpcodeBits)) == isa::Opcode::rhm;
    const uint64_t bytes = a.len * a.repeat;
    const Cycle start = now();
    active_pc_ = insn.pc;
    stats_.set_region(insn.region);
    ub_.stats().set_region(insn.region);
    const BandwidthChannel::Transfer x = data_link_.reserve(start, bytes);
    const Cycle done = x.end + latency_;
    ctx_.set_done(insn.seq, done);
    if (ctx_.compute_values) {
      block.resize(a.len);
      for (uint64_t i = 0; i < a.repeat; ++i) {
        const uint64_t h = a.host + i * a.host_stride, u = a.ub + i * a.ub_stride;
        if (to_chip) {
          host_.read(h, block.data(), a.len);
          ub_.write(u, block.data(), a.len);
        } else {
          ub_.read(u, block.data(), a.len);
          host_.write(h, block.data(), a.len);
        }
      }
    } else if (to_chip) {
      ub_.note_write(Strided{a.ub, a.len, a.repeat, a.ub_stride});
    } else {
      ub_.note_read(bytes);
    }
    (to_chip ? read_bytes_ : write_bytes_) += bytes;
    busy_cycles_ += done - start;
    ctx_.trace_slice("host_interface", insn, start, done);
    wait_until(done);
    active_pc_ = -1;
  }
}

}  // namespace tpu::sim
