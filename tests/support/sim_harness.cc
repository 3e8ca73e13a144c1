#include "tests/support/sim_harness.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "isa/assembler.h"
#include "sim/base/config.h"
#include "sim/top/chip.h"
#include "sim/top/energy.h"
#include "sim/top/results.h"

namespace tpu::test {

namespace {

nlohmann::json run_in_child(const sim::ChipParams& params, const isa::Program& program, const SimOptions& options) {
  sim::RunOptions run_options;
  run_options.compute_values = options.compute_values;
  run_options.trace = options.trace;
  sim::Chip chip(params, program, run_options);
  for (const auto& [name, bytes] : options.inputs) chip.set_input(name, bytes);
  const sim::RunOutcome outcome = chip.run();
  const sim::EnergyReport energy =
      sim::price(sim::load_energy_table(params.energy.table), params, outcome.stats, outcome.cycles);
  sim::RunRecord record{outcome, params, program, energy, {}};
  for (const isa::TensorDesc& t : program.tensors)
    if (t.role == isa::TensorRole::kOutput) record.outputs[t.name] = chip.tensor_bytes(t);
  nlohmann::json j;
  j["result"] = sim::to_json(record);
  j["ub"] = nlohmann::json::binary(chip.unified_buffer_bytes());
  const std::vector<int32_t> acc = chip.accumulator_values();
  j["acc"] = nlohmann::json::binary(std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(acc.data()),
                                                         reinterpret_cast<const uint8_t*>(acc.data() + acc.size())));
  nlohmann::json trace = nlohmann::json::array();
  for (const auto& s : outcome.trace) trace.push_back({s.track, s.name, s.pc, s.start, s.end});
  j["trace"] = trace;
  return j;
}

}  // namespace

std::vector<sim::TraceSlice> SimRun::slices(const std::string& track) const {
  std::vector<sim::TraceSlice> out;
  for (const auto& s : trace)
    if (s.track == track) out.push_back(s);
  return out;
}

SimRun simulate(const sim::ChipParams& params, const isa::Program& program, const SimOptions& options) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    int status = 0;
    std::vector<uint8_t> bytes;
    try {
      bytes = nlohmann::json::to_msgpack(run_in_child(params, program, options));
    } catch (const std::exception& e) {
      bytes = nlohmann::json::to_msgpack(nlohmann::json{{"error", e.what()}});
      status = 1;
    }
    for (size_t off = 0; off < bytes.size();) {
      const ssize_t n = write(fds[1], bytes.data() + off, bytes.size() - off);
      if (n <= 0) _exit(2);
      off += static_cast<size_t>(n);
    }
    close(fds[1]);
    _exit(status);
  }
  close(fds[1]);
  std::vector<uint8_t> bytes;
  uint8_t buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) bytes.insert(bytes.end(), buf, buf + n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) throw std::runtime_error("the simulation process died (signal " + std::to_string(WTERMSIG(status)) + ")");
  const nlohmann::json j = nlohmann::json::from_msgpack(bytes);
  if (j.contains("error")) throw std::runtime_error("simulation failed: " + j["error"].get<std::string>());
  SimRun run;
  run.result = j["result"];
  run.ub = j["ub"].get_binary();
  const auto& acc = j["acc"].get_binary();
  run.acc.resize(acc.size() / 4);
  std::memcpy(run.acc.data(), acc.data(), acc.size());
  for (const auto& s : j["trace"])
    run.trace.push_back({s[0].get<std::string>(), s[1].get<std::string>(), s[2].get<int64_t>(), s[3].get<uint64_t>(),
                         s[4].get<uint64_t>()});
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
