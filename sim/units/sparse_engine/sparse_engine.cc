#include "sim/units/sparse_engine/sparse_engine.h"

#include <algorithm>
#include <cmath>

#include "isa/arith.h"
#include "isa/program.h"

namespace tpu::sim {

namespace arith = isa::arith;
namespace sp = isa::sparse;

SparseEngine::SparseEngine(sc_core::sc_module_name name, ChipContext& ctx, UnifiedBuffer& ub, WeightMemory& weights)
    : sc_module(name),
      ctx_(ctx),
      ub_(ub),
      weights_(weights),
      params_(ctx.params.sparse_engine),
      array_(make_pe_array(ctx.params.sparse_engine, ctx.params.fidelity)),
      queue_(static_cast<size_t>(ctx.params.sequencer.unit_queue)) {
  for (int64_t p = 0; p < params_.pes; ++p) {
    const std::string pe = "pe" + std::to_string(p) + ".";
    per_pe_.push_back(
        {&stats_.add(pe + "busy_cycles", "engine cycles", "Cycles PE " + std::to_string(p) + " worked on a column"),
         &stats_.add(pe + "idle_cycles", "engine cycles",
                     "Compute cycles PE " + std::to_string(p) + " did not work on a column"),
         &stats_.add(pe + "queue_empty_cycles", "engine cycles",
                     "Cycles PE " + std::to_string(p) + " had no activation to start before its last one")});
  }
  SC_THREAD(run);
}

std::string SparseEngine::prepare(const isa::Word& word, Footprint* footprint) {
  *footprint = isa::footprint(word, {});
  isa::SparseArgs a;
  isa::unpack(word, a);
  if (std::string e = shift_error(a.shift); !e.empty()) return e;
  const char* names[] = {"layer image", "input vector", "output vector"};
  for (size_t i = 0; i < footprint->size(); ++i) {
    const Strided& w = (*footprint)[i].where;
    const bool dram = (*footprint)[i].space == isa::Memory::kWeightDram;
    if (std::string e = range_error(names[i], w.lo(), w.hi(), dram ? weights_.dram().size() : ub_.size(),
                                    dram ? "bytes of weight DRAM" : "bytes of the unified buffer");
        !e.empty())
      return e;
  }
  // What the shape alone says about the PEs' SRAMs; the entries are known once the image is read.
  return sp::sram_problem(a.rows, a.cols, static_cast<uint64_t>(params_.pes), static_cast<uint64_t>(params_.spmat_bytes),
                          static_cast<uint64_t>(params_.pointer_bytes), static_cast<uint64_t>(params_.activation_bytes));
}

std::string SparseEngine::fit_error(const sp::SparseLayer& l) const {
  if (l.pes != static_cast<uint32_t>(params_.pes))
    return "the image is for " + std::to_string(l.pes) + " PEs; this engine has " + std::to_string(params_.pes);
  return sp::sram_problem(l.rows, l.cols, l.pes, static_cast<uint64_t>(params_.spmat_bytes),
                          static_cast<uint64_t>(params_.pointer_bytes), static_cast<uint64_t>(params_.activation_bytes),
                          l);
}

const ResidentLayer* SparseEngine::resident(const Issued& insn, const isa::SparseArgs& a, Cycle* ready) {
  // Images an ldw has written over since they loaded are stale.
  resident_.erase(std::remove_if(resident_.begin(), resident_.end(),
                                 [&](const Resident& r) { return weights_.written_since(r.writes, r.dram, r.dram + r.bytes); }),
                  resident_.end());
  for (Resident& r : resident_) r.writes = weights_.writes();  // checked up to here
  for (const Resident& r : resident_)
    if (r.dram == a.dram && r.bytes == a.bytes) {
      *ready = now();
      return r.layer.get();
    }
  std::vector<uint8_t> image(a.bytes);
  weights_.dram().read(a.dram, image.data(), image.size());
  const std::string where = "the layer image at weight-DRAM " + std::to_string(a.dram);
  std::unique_ptr<ResidentLayer> layer;
  try {
    layer = std::make_unique<ResidentLayer>(sp::parse(image.data(), image.size(), where));
  } catch (const isa::ProgramError& e) {
    ctx_.raise(insn.pc, e.what());
    return nullptr;
  }
  const sp::SparseLayer& l = layer->layer;
  if (l.rows != a.rows || l.cols != a.cols || sp::image_bytes(l) != a.bytes) {
    ctx_.raise(insn.pc, where + " holds a " + std::to_string(l.rows) + " x " + std::to_string(l.cols) + " layer of " +
                            std::to_string(sp::image_bytes(l)) + " bytes; the instruction names " +
                            std::to_string(a.rows) + " x " + std::to_string(a.cols) + " and " + std::to_string(a.bytes));
    return nullptr;
  }
  if (const std::string e = fit_error(l); !e.empty()) {
    ctx_.raise(insn.pc, where + " does not fit the sparse engine: " + e);
    return nullptr;
  }
  // Room beside the resident images, in every PE's SRAMs; the oldest leave first.
  auto fits = [&] {
    for (uint32_t p = 0; p < l.pes; ++p) {
      uint64_t spmat = l.entries(p), pointers = 2 * (uint64_t{l.cols} + 1);
      for (const Resident& r : resident_) {
        spmat += r.layer->layer.entries(p);
        pointers += 2 * (uint64_t{r.layer->layer.cols} + 1);
      }
      if (spmat > static_cast<uint64_t>(params_.spmat_bytes) || pointers > static_cast<uint64_t>(params_.pointer_bytes))
        return false;
    }
    return true;
  };
  while (!fits()) {
    resident_.erase(resident_.begin());
    evictions_.add(1, insn.region, When::at(now()));
  }
  const Cycle start = now();
  *ready = weights_.stream_image(a.bytes, insn.region);
  layer_loads_.add(1, insn.region, When::at(start));
  load_bytes_.add(a.bytes, insn.region, When::over(start, *ready));
  if (ctx_.trace) ctx_.trace_activity("sparse_engine", "load of spmv", insn.pc, start, *ready);
  resident_.push_back({a.dram, a.bytes, weights_.writes(), std::move(layer)});
  return resident_.back().layer.get();
}

Cycle SparseEngine::chip_cycles(Cycle engine_cycles) const {
  if (params_.clock_mhz == 0 || params_.clock_mhz == ctx_.params.clock_mhz) return engine_cycles;
  // In kHz, whole numbers: the conversion is exact integer arithmetic.
  const auto khz = [](double mhz) { return static_cast<uint64_t>(std::llround(mhz * 1000)); };
  const uint64_t chip = khz(ctx_.params.clock_mhz), engine = khz(params_.clock_mhz);
  return (engine_cycles * chip + engine - 1) / engine;
}

std::string SparseEngine::part_error(const isa::SparseArgs& a) const {
  const std::string part = std::string(isa::name_of(a.part));
  if (isa::continues_sums(a.part)) {
    if (!kept_)
      return "part=" + part +
             " adds to the sums an spmv before it kept, but none did (the one before wrote its outputs, or there was "
             "none)";
    if (kept_->rows != a.rows)
      return "part=" + part + " adds to the " + std::to_string(kept_->rows) + " rows' sums the spmv at pc " +
             std::to_string(kept_->pc) + " kept, but has " + std::to_string(a.rows) + " rows";
  } else if (kept_) {
    return "part=" + part + " starts new sums while the spmv at pc " + std::to_string(kept_->pc) +
           " kept its sums for a part=middle or part=last spmv that has not come";
  }
  return "";
}

std::vector<uint32_t> SparseEngine::sums(const isa::SparseArgs& a, const ResidentLayer& r,
                                         const std::vector<uint32_t>& columns, std::vector<uint32_t> carried) const {
  std::vector<uint32_t>& sums = carried;
  const sp::SparseLayer& l = r.layer;
  const uint8_t* x = ub_.data(a.in);
  // int32 sums, wrapping as accumulators do.
  if (sums.empty()) sums.assign(l.rows, 0);
  for (uint32_t i = 0; i < l.rows; ++i) sums[i] += static_cast<uint32_t>(l.bias[i]);
  for (uint32_t j : columns) {
    const int32_t v = static_cast<int8_t>(x[j]) - static_cast<int32_t>(a.zin);
    for (uint32_t p = 0; p < l.pes; ++p) {
      const sp::PeColumns& pc = l.pe[p];
      uint64_t local = 0;
      for (uint32_t e = pc.pointers[j]; e < pc.pointers[j + 1]; ++e) {
        local += sp::entry_zeros(pc.entries[e]);
        const uint32_t product = static_cast<uint32_t>(int32_t{l.codebook[sp::entry_index(pc.entries[e])]} * v);
        sums[local * l.pes + p] += product;
        ++local;
      }
    }
  }
  return sums;
}

void SparseEngine::write_outputs(const isa::SparseArgs& a, const std::vector<uint32_t>& sums,
                                 isa::Rounding rounding) {
  const arith::Lut lut = arith::function_table(a.func, static_cast<int>(a.zp), static_cast<int>(a.frac));
  uint8_t* out = ub_.data(a.out);
  for (uint32_t i = 0; i < a.rows; ++i)
    out[i] = static_cast<uint8_t>(arith::lookup(
        lut, arith::requant8(static_cast<int32_t>(sums[i]), static_cast<int32_t>(a.mult), static_cast<int>(a.shift),
                             static_cast<int>(a.zp), rounding)));
}

void SparseEngine::run() {
  Cycle next_free = 0;
  for (;;) {
    const Issued insn = queue_.take_when_ready(next_free);
    if (!ctx_.check_hazards(insn)) return;
    const Cycle start = now();
    const size_t region = insn.region;
    active_pc_ = insn.pc;
    isa::SparseArgs a;
    isa::unpack(insn.word, a);
    if (const std::string e = part_error(a); !e.empty()) {
      ctx_.raise(insn.pc, e);
      return;
    }
    Cycle loaded = start;
    const ResidentLayer* r = resident(insn, a, &loaded);
    if (r == nullptr) return;
    const std::vector<PortPart> input{{PortKind::read, PortRuns::back_to_back(1, ub_.port_cycles(a.cols), start)}};
    const Cycle read = ub_.acquire(PortUser::sparse_engine, insn.seq, region, input)[0].end();
    ub_.note_read(a.cols, region, When::over(start, read));
    // The non-zero activations in column order; without values, every one counts (a dense input's bound).
    std::vector<uint32_t> columns;
    const uint8_t* x = ub_.data(a.in);
    for (uint32_t j = 0; j < a.cols; ++j)
      if (!ctx_.compute_values || static_cast<int8_t>(x[j]) != static_cast<int32_t>(a.zin)) columns.push_back(j);
    const PeArrayRun run = array_->run(*r, columns);
    const bool writes = isa::writes_outputs(a.part);
    std::vector<uint32_t> carried;
    if (kept_) carried = std::move(kept_->sums);
    kept_.reset();
    if (ctx_.compute_values) carried = sums(a, *r, columns, std::move(carried));
    if (writes && ctx_.compute_values) write_outputs(a, carried, insn.rounding);
    if (!writes) kept_ = Kept{a.rows, insn.pc, std::move(carried)};
    const Cycle from = std::max(loaded, read), to = from + chip_cycles(run.cycles);
    Cycle done = to;
    if (writes) {
      const std::vector<PortPart> output{{PortKind::write, PortRuns::back_to_back(1, ub_.port_cycles(a.rows), to)}};
      const PortGrant written = ub_.acquire(PortUser::sparse_engine, insn.seq, region, output)[0];
      ub_.note_write(Strided{a.out, a.rows, 1, 0}, region, When::over(written.first(), written.end()));
      outputs_.add(a.rows, region, When::over(written.first(), written.end()));
      done = written.end();
    }
    ctx_.set_done(insn.seq, done);
    // The work, spread over the compute cycles.
    const When computing = When::over(from, to);
    busy_cycles_.add(done - start, region, When::over(start, done));
    compute_cycles_.add(to - from, region, computing);
    array_cycles_.add(run.cycles, region, computing);
    if (loaded > read) load_wait_cycles_.add(loaded - read, region, When::over(read, loaded));
    activations_.add(columns.size(), region, computing);
    zero_activations_.add(a.cols - columns.size(), region, computing);
    broadcast_stalls_.add(run.broadcast_stalls, region, computing);
    uint64_t busy = 0, waiting = 0, busiest = 0;
    for (size_t p = 0; p < run.busy.size(); ++p) {
      busy += run.busy[p];
      waiting += run.waiting[p];
      busiest = std::max(busiest, run.busy[p]);
      per_pe_[p].busy->add(run.busy[p], region, computing);
      per_pe_[p].idle->add(run.cycles - run.busy[p], region, computing);
      per_pe_[p].queue_empty->add(run.waiting[p], region, computing);
    }
    pe_busy_.add(busy, region, computing);
    pe_waiting_.add(waiting, region, computing);
    pe_idle_.add(run.cycles * run.busy.size() - busy, region, computing);
    busiest_pe_.add(busiest, region, computing);
    entries_.add(run.entries, region, computing);
    fillers_.add(run.fillers, region, computing);
    macs_.add(run.macs, region, computing);
    dense_macs_.add(a.rows * a.cols, region, computing);
    spmat_reads_.add(run.spmat_reads, region, computing);
    pointer_reads_.add(run.pointer_reads, region, computing);
    spmat_read_bytes_.add(run.spmat_reads * static_cast<uint64_t>(params_.spmat_width_bits / 8), region, computing);
    pointer_read_bytes_.add(2 * run.pointer_reads, region, computing);
    accumulator_read_bytes_.add(4 * (run.macs + a.rows), region, computing);  // fillers add nothing
    accumulator_write_bytes_.add(4 * (run.macs + a.rows), region, computing);
    queue_bits_.add(24 * columns.size() * static_cast<uint64_t>(params_.pes), region, computing);
    ctx_.trace_slice("sparse_engine", insn, start, done);
    next_free = done;
    wait_until(next_free);
    active_pc_ = -1;
  }
}

}  // namespace tpu::sim
