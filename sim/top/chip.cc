#include "sim/top/chip.h"

#include <functional>
#include <new>
#include <stdexcept>
#include <string>

#include "sim/units/accumulators/accumulators.h"
#include "sim/units/activation_unit/activation_unit.h"
#include "sim/units/host_interface/host_interface.h"
#include "sim/units/matrix_unit/matrix_unit.h"
#include "sim/units/sparse_engine/sparse_engine.h"
#include "sim/units/unified_buffer/unified_buffer.h"
#include "sim/units/weight_fifo/weight_fifo.h"
#include "sim/units/weight_memory/weight_memory.h"

namespace tpu::sim {

namespace {
constexpr uint64_t kHostAddressSpace = uint64_t{1} << 40;  // the 40-bit host field of rhm and whm

void load_image(const isa::MemoryImage& image, uint64_t limit, const char* what,
                const std::function<void(uint64_t, const uint8_t*, uint64_t)>& write) {
  for (const auto& [addr, bytes] : image.segments()) {
    if (addr + bytes.size() > limit)
      throw std::invalid_argument(std::string("the program's ") + what + " image reaches address " +
                                  std::to_string(addr + bytes.size()) + ", beyond the " + std::to_string(limit) +
                                  " bytes this chip has");
    write(addr, bytes.data(), bytes.size());
  }
}
}  // namespace

Chip::Chip(const ChipParams& params, const isa::Program& program, const RunOptions& options)
    : params_(params), program_(program), options_(options), ctx_(params, program), host_memory_(kHostAddressSpace) {
  sc_core::sc_set_time_resolution(kTickPs, sc_core::SC_PS);
  // sc_stop() ends every run; its informational message says nothing useful.
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
  if (options.compute_values && isa::timing_only(program))
    throw std::invalid_argument(
        "the program was compiled for timing only: it holds no weights, so it runs only without values "
        "(--no-values); compile it without --timing-only to compute outputs");
  ctx_.compute_values = options.compute_values;
  if (options.trace) ctx_.trace = &trace_;
  instruction_buffer_ = std::make_unique<sc_core::sc_fifo<int64_t>>(
      "instruction_buffer", static_cast<int>(params.sequencer.instruction_buffer));
  ub_ = std::make_unique<UnifiedBuffer>("unified_buffer", params.unified_buffer, ctx_.trace);
  acc_ = std::make_unique<Accumulators>("accumulators", params.accumulators, params.matrix_unit.cols);
  fifo_ = std::make_unique<WeightFifo>("weight_fifo", params.weight_fifo);
  fifo_->record_into(ctx_.trace);
  weight_memory_ = std::make_unique<WeightMemory>("weight_memory", ctx_, *fifo_);
  host_ = std::make_unique<HostInterface>("host_interface", ctx_, *ub_, *weight_memory_, host_memory_,
                                          *instruction_buffer_);
  sequencer_ = std::make_unique<Sequencer>("sequencer", ctx_, *instruction_buffer_);
  matrix_ = std::make_unique<MatrixUnit>("matrix_unit", ctx_, *ub_, *acc_, *fifo_);
  activation_ = std::make_unique<ActivationUnit>("activation_unit", ctx_, *ub_, *acc_);
  ctx_.stat_groups = {&sequencer_->stats(), &host_->stats(),   &ub_->stats(),  &weight_memory_->stats(),
                      &fifo_->stats(),      &matrix_->stats(), &acc_->stats(), &activation_->stats()};
  sequencer_->attach(isa::Unit::host, host_.get());
  sequencer_->attach(isa::Unit::weights, weight_memory_.get());
  sequencer_->attach(isa::Unit::matrix, matrix_.get());
  sequencer_->attach(isa::Unit::activation, activation_.get());
  // Without a sparse engine (pes: 0) its instructions fault at issue.
  if (params.sparse_engine.pes > 0) {
    sparse_ = std::make_unique<SparseEngine>("sparse_engine", ctx_, *ub_, *weight_memory_);
    ctx_.stat_groups.push_back(&sparse_->stats());
    sequencer_->attach(isa::Unit::sparse, sparse_.get());
  }

  if (!options.vcd_path.empty()) {
    // SystemC adds the ".vcd" itself. One nanosecond of waveform time is one cycle.
    std::string base = options.vcd_path;
    if (base.size() > 4 && base.compare(base.size() - 4, 4, ".vcd") == 0) base.resize(base.size() - 4);
    vcd_ = sc_core::sc_create_vcd_trace_file(base.c_str());
    vcd_->set_time_unit(kTickPs, sc_core::SC_PS);  // a cycle shows as 1 ns
    sequencer_->trace(vcd_);
    host_->trace(vcd_);
    weight_memory_->trace(vcd_);
    fifo_->trace(vcd_);
    matrix_->trace(vcd_);
    activation_->trace(vcd_);
    if (sparse_) sparse_->trace(vcd_);
  }

  load_image(program.dram, weight_memory_->dram().size(), "weight-DRAM",
             [&](uint64_t a, const uint8_t* p, uint64_t n) { weight_memory_->dram().write(a, p, n); });
  load_image(program.host, host_memory_.size(), "host-memory",
             [&](uint64_t a, const uint8_t* p, uint64_t n) { host_memory_.write(a, p, n); });
}

Chip::~Chip() {
  if (vcd_) sc_core::sc_close_vcd_trace_file(vcd_);
}

void Chip::set_input(const std::string& name, const std::vector<uint8_t>& bytes) {
  for (const isa::TensorDesc& t : program_.tensors) {
    if (t.name != name) continue;
    if (t.role != isa::TensorRole::kInput)
      throw std::invalid_argument("tensor '" + name + "' is an output, not an input");
    const uint64_t expected = static_cast<uint64_t>(t.elements()) * isa::dtype_bytes(t.dtype);
    if (bytes.size() != expected)
      throw std::invalid_argument("input '" + name + "' needs " + std::to_string(expected) + " bytes, got " +
                                  std::to_string(bytes.size()));
    if (t.space != isa::Space::kHost)
      throw std::invalid_argument("input '" + name + "' lives in " + std::string(isa::to_string(t.space)) +
                                  "; only host tensors can be supplied");
    host_memory_.write(t.addr, bytes.data(), bytes.size());
    return;
  }
  throw std::invalid_argument("the program has no tensor named '" + name + "'");
}

std::vector<uint8_t> Chip::tensor_bytes(const isa::TensorDesc& t) const {
  std::vector<uint8_t> out(static_cast<size_t>(t.elements()) * isa::dtype_bytes(t.dtype));
  switch (t.space) {
    case isa::Space::kHost: host_memory_.read(t.addr, out.data(), out.size()); break;
    case isa::Space::kDram: weight_memory_->dram().read(t.addr, out.data(), out.size()); break;
    case isa::Space::kUb:
      if (t.addr + out.size() <= ub_->size()) std::copy(ub_->data(t.addr), ub_->data(t.addr) + out.size(), out.begin());
      break;
  }
  return out;
}

std::vector<uint8_t> Chip::unified_buffer_bytes() const { return {ub_->data(0), ub_->data(0) + ub_->size()}; }

std::vector<int32_t> Chip::accumulator_values() const {
  return {acc_->row(0), acc_->row(0) + acc_->entries() * acc_->cols()};
}

std::vector<uint8_t> Chip::host_bytes(uint64_t addr, uint64_t n) const {
  std::vector<uint8_t> out(n);
  host_memory_.read(addr, out.data(), n);
  return out;
}

uint64_t Chip::pe_steps() const { return matrix_->pe_steps(); }

RunOutcome Chip::run() {
  try {
    sc_core::sc_start(cycles(static_cast<Cycle>(params_.watchdog_cycles)), sc_core::SC_EXIT_ON_STARVATION);
  } catch (const sc_core::sc_report& r) {
    // SystemC hands on what a process threw as a report: out of memory stays out of memory;
    // anything else is a bug in the simulator, not a fault of the program.
    if (std::string(r.what()).find("bad_alloc") != std::string::npos) throw std::bad_alloc();
    const std::string process = r.get_process_name() ? r.get_process_name() : "";
    throw InternalError(std::string("the simulation stopped: ") + r.get_msg_type() +
                        (process.empty() ? "" : " in " + process) + ": " + r.get_msg());
  }
  RunOutcome out;
  out.halted = sequencer_->halted();
  out.fault = ctx_.fault;
  if (!out.halted && !out.fault) {
    FaultInfo f;
    // Stuck since the last issue or the last end of an instruction, whichever came later.
    f.cycle = std::max(sequencer_->last_issue_cycle(), ctx_.latest_done);
    const int64_t waiting = matrix_->waiting_for_weights();
    // Starved: nothing is scheduled. Otherwise the time limit cut the run short.
    if (sc_core::sc_pending_activity()) {
      f.pc = sequencer_->last_pc();
      f.cycle = static_cast<Cycle>(params_.watchdog_cycles);
      f.reason = "watchdog: no halt within " + std::to_string(params_.watchdog_cycles) + " cycles";
    } else if (waiting >= 0) {
      f.pc = waiting;
      f.reason = "deadlock: this mmul waits for a weight tile that no issued rdw brings";
    } else {
      f.pc = sequencer_->last_pc();
      f.reason = "deadlock: every unit is waiting and none can proceed";
    }
    if (f.pc >= 0 && static_cast<size_t>(f.pc) < program_.text.size())
      f.instruction = isa::format_word(program_.text[static_cast<size_t>(f.pc)]);
    out.fault = f;
  }
  out.cycles = out.halted ? sequencer_->halt_cycle() : out.fault->cycle;
  // The run is its cycles before out.cycles: what the units booked for later never happened.
  for (StatGroup* g : ctx_.stat_groups) {
    g->finish(out.cycles);
    out.stats.push_back(g);
  }
  out.instructions_by_opcode = sequencer_->issued_by_opcode();
  out.interrupts = sequencer_->interrupts();
  out.regions = sequencer_->regions();
  // What the units recorded ahead of time (units timed in closed form), cut at the run's end; slices
  // still open end with it.
  for (TraceSlice s : trace_.slices()) {
    if (s.start >= out.cycles) continue;
    s.end = std::min(s.end, out.cycles);
    out.trace.push_back(std::move(s));
  }
  for (const TraceCounter& c : trace_.counters())
    if (c.at < out.cycles) out.trace_counters.push_back(c);
  out.ub_bytes_used = ub_->bytes_used();
  return out;
}

}  // namespace tpu::sim
