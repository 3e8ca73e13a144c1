// The host-to-chip channel of the HostInterface: instruction words and the
// packets of rhm and ldw transfers, taking turns when both wait. An rhm
// writes each packet to the unified buffer as it arrives.

#include "sim/units/host_interface/host_interface.h"

namespace tpu::sim {

void HostInterface::downstream() {
  const auto& text = ctx_.program.text;
  size_t pc = 0;
  size_t region = 0;       // tags before this word: the region it will issue in
  bool data_turn = false;  // a packet goes next if both wait
  for (;;) {
    // Decide once all that becomes ready in this cycle has, whichever process made it ready.
    wait_for_decision_tick();
    const bool word = pc < text.size() && !word_waiting_;
    const bool data = !to_send_.empty();
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
      if (static_cast<isa::Opcode>(text[pc].get(0, isa::kOpcodeBits)) == isa::Opcode::tag) ++region;
      ++pc;
      word_waiting_ = true;
      word_arrived_.notify(sc_core::SC_ZERO_TIME);
      data_turn = true;
      continue;
    }
    // The next packet of the first transfer; transfers go whole, one after another.
    const ToChip t = to_send_.front();
    const uint64_t packet = std::min(packet_bytes_, t.bytes - front_sent_);
    const BandwidthChannel::Transfer x = to_chip_.reserve(now(), packet);
    if (front_sent_ == 0) front_started_ = x.start;
    if (packet > 0) wait_until(x.end);
    write_arrived_bytes(t, front_sent_, front_sent_ + packet);
    front_sent_ += packet;
    data_turn = false;
    if (front_sent_ == t.bytes) {
      to_send_.pop_front();
      front_sent_ = 0;
      finish_to_chip(t, {front_started_, x.end});
      front_written_ = front_written_alone_ = 0;
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

}  // namespace tpu::sim
