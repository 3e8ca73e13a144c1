#include "sim/units/host_interface/host_interface.h"

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

void HostInterface::downstream() {
  const auto& text = ctx_.program.text;
  size_t pc = 0;
  size_t region = 0;       // tags before this word: the region it will issue in
  bool data_turn = false;  // a packet goes next if both wait
  for (;;) {
    const bool word = pc < text.size() && !word_waiting_;
    const bool data = data_left_ > 0;
    if (!word && !data) {
      if (pc == text.size() && !word_waiting_) {  // the end of the program: no word, only a mark
        arrived_pc_ = -1;
        word_waiting_ = true;
        word_arrived_.notify(sc_core::SC_ZERO_TIME);
        ++pc;
        continue;
      }
      sc_core::wait(word_accepted_ | data_posted_);
      continue;
    }
    if (word && !(data && data_turn)) {
      const BandwidthChannel::Transfer x = to_chip_.reserve(now(), isa::kWordBytes);
      instruction_bytes_.add(isa::kWordBytes, region, When::over(x.start, x.end));
      wait_until(x.end + (pc == 0 ? latency_ : 0));  // later words stream behind the first
      arrived_pc_ = static_cast<int64_t>(pc);
      arrived_region_ = region;
      if (opcode_of(text[pc]) == isa::Opcode::tag) ++region;
      ++pc;
      word_waiting_ = true;
      word_arrived_.notify(sc_core::SC_ZERO_TIME);
      data_turn = true;
    } else {
      const uint64_t packet = std::min(packet_bytes_, data_left_);
      const BandwidthChannel::Transfer x = to_chip_.reserve(now(), packet);
      if (data_.start == kNever) data_.start = x.start;
      wait_until(x.end);
      data_left_ -= packet;
      data_turn = false;
      if (data_left_ == 0) {
        data_.end = x.end;
        data_sent_.notify(sc_core::SC_ZERO_TIME);
      }
    }
  }
}

void HostInterface::accept() {
  for (;;) {
    while (!word_waiting_) sc_core::wait(word_arrived_);
    buffer_full_cycles_.start(arrived_region_, now());
    instruction_buffer_.write(arrived_pc_);
    buffer_full_cycles_.stop(now());
    word_waiting_ = false;
    word_accepted_.notify(sc_core::SC_ZERO_TIME);
    if (arrived_pc_ < 0) return;
  }
}

BandwidthChannel::Transfer HostInterface::send_to_chip(uint64_t bytes) {
  if (bytes == 0) return {now(), now()};
  data_left_ = bytes;
  data_ = {kNever, kNever};
  data_posted_.notify(sc_core::SC_ZERO_TIME);
  sc_core::wait(data_sent_);
  return data_;
}

Cycle HostInterface::transfer(const Issued& insn, Cycle start) {
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
  // The bytes move as the link carries them.
  const BandwidthChannel::Transfer x = to_chip ? send_to_chip(bytes) : to_host_.reserve(start, bytes);
  const When moving = When::over(x.start, x.end);
  if (to_chip)
    ub_.note_write(Strided{a.ub, a.len, a.repeat, a.ub_stride}, insn.region, moving);
  else
    ub_.note_read(bytes, insn.region, moving);
  (to_chip ? read_bytes_ : write_bytes_).add(bytes, insn.region, moving);
  return x.end + latency_;
}

Cycle HostInterface::load_weights(const Issued& insn) {
  isa::WeightLoadArgs a;
  isa::unpack(insn.word, a);
  const Strided dram{a.dram, a.len, a.repeat, a.dram_stride};
  if (const int64_t reader = weights_.streaming_from(dram); reader >= 0) {
    ctx_.raise(insn.pc, "hazard: this instruction writes weight-DRAM bytes that the rdw at pc " +
                            std::to_string(reader) + " has not streamed into the weight FIFO yet; wait for the mmul " +
                            "that takes its last tile (`sync units=matrix`) first");
    return kNever;
  }
  const BandwidthChannel::Transfer x = send_to_chip(a.len * a.repeat);
  const When moving = When::over(x.start, x.end);
  std::vector<uint8_t> block(a.len);
  for (uint64_t i = 0; i < a.repeat; ++i) {
    if (ctx_.compute_values) host_.read(a.host + i * a.host_stride, block.data(), a.len);
    weights_.load(a.dram + i * a.dram_stride, ctx_.compute_values ? block.data() : nullptr, a.len, insn.region, moving);
  }
  weight_load_bytes_.add(a.len * a.repeat, insn.region, moving);
  return x.end + latency_;
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

void HostInterface::run() {
  for (;;) {
    const Issued insn = queue_.take_when_ready(0);
    if (!ctx_.check_hazards(insn)) return;
    const Cycle start = now();
    active_pc_ = insn.pc;
    Cycle done;
    switch (opcode_of(insn.word)) {
      case isa::Opcode::ldw: done = load_weights(insn); break;
      case isa::Opcode::hop: done = host_op(insn, start); break;
      default: done = transfer(insn, start); break;
    }
    if (done == kNever) return;
    ctx_.set_done(insn.seq, done);
    busy_cycles_.add(done - start, insn.region, When::over(start, done));
    ctx_.trace_slice("host_interface", insn, start, done);
    wait_until(done);
    active_pc_ = -1;
  }
}

}  // namespace tpu::sim
