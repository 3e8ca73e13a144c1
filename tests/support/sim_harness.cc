#include "tests/support/sim_harness.h"

#include <algorithm>
#include <stdexcept>

#include "isa/assembler.h"
#include "sim/base/config.h"
#include "sim/top/isolated_run.h"

namespace tpu::test {

std::vector<sim::TraceSlice> SimRun::slices(const std::string& track) const {
  std::vector<sim::TraceSlice> out;
  for (const auto& s : trace)
    if (s.track == track) out.push_back(s);
  return out;
}

std::vector<uint64_t> SimRun::rises(const std::string& track) const {
  std::vector<uint64_t> out;
  for (const auto& c : trace_counters)
    if (c.track == track)
      for (int64_t i = 0; i < c.delta; ++i) out.push_back(c.at);
  std::sort(out.begin(), out.end());
  return out;
}

SimRun simulate(const sim::ChipParams& params, const isa::Program& program, const SimOptions& options) {
  sim::IsolatedOptions o;
  o.compute_values = options.compute_values;
  o.trace = options.trace;
  o.inputs = options.inputs;
  sim::IsolatedRun r = sim::run_isolated(params, program, o);
  SimRun run;
  run.result = std::move(r.result);
  run.ub = std::move(r.ub);
  run.acc = std::move(r.acc);
  run.trace = std::move(r.trace);
  run.trace_counters = std::move(r.trace_counters);
  return run;
}

sim::ChipParams load_params(const std::string& config, const std::vector<std::string>& sets) {
  sim::Config c = sim::Config::load(std::string(TPUSIM_SOURCE_DIR) + "/" + config);
  for (const auto& s : sets) c.set(s);
  return sim::read_chip_params(c);
}

isa::Program assemble_or_throw(const std::string& source) {
  const isa::AssembleResult r = isa::assemble(source, "test.s");
  if (!r.ok()) {
    std::string msg;
    for (const auto& d : r.errors) msg += isa::format_diagnostic(d);
    throw std::runtime_error(msg);
  }
  return r.program;
}

}  // namespace tpu::test
