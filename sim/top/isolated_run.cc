#include "sim/top/isolated_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include "sim/top/chip.h"
#include "sim/top/energy.h"
#include "sim/top/results.h"

namespace tpu::sim {

namespace {

nlohmann::json run_here(const ChipParams& params, const isa::Program& program, const IsolatedOptions& options) {
  RunOptions run_options;
  run_options.compute_values = options.compute_values;
  run_options.trace = options.trace;
  Chip chip(params, program, run_options);
  for (const auto& [name, bytes] : options.inputs) chip.set_input(name, bytes);
  const auto t0 = std::chrono::steady_clock::now();
  const RunOutcome outcome = chip.run();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const EnergyModel model = load_energy_model(params);
  const EnergyReport energy = price(model, params, outcome.stats, outcome.cycles);
  RunRecord record{outcome, params, program, energy, {}, &model};
  nlohmann::json outputs = nlohmann::json::object();
  for (const isa::TensorDesc& t : program.tensors)
    if (t.role == isa::TensorRole::kOutput) {
      record.outputs[t.name] = chip.tensor_bytes(t);
      outputs[t.name] = nlohmann::json::binary(record.outputs[t.name]);
    }
  nlohmann::json j;
  j["result"] = to_json(record);
  j["wall_seconds"] = wall;
  j["pe_steps"] = chip.pe_steps();
  j["outputs"] = outputs;
  if (options.memories) {
    j["ub"] = nlohmann::json::binary(chip.unified_buffer_bytes());
    const std::vector<int32_t> acc = chip.accumulator_values();
    std::vector<uint8_t> bytes(acc.size() * 4);
    std::memcpy(bytes.data(), acc.data(), bytes.size());
    j["acc"] = nlohmann::json::binary(bytes);
  }
  nlohmann::json host = nlohmann::json::array();
  for (const auto& [addr, n] : options.host_ranges) host.push_back(nlohmann::json::binary(chip.host_bytes(addr, n)));
  j["host"] = host;
  nlohmann::json trace = nlohmann::json::array();
  for (const auto& s : outcome.trace) trace.push_back({s.track, s.name, s.pc, s.start, s.end});
  j["trace"] = trace;
  nlohmann::json counters = nlohmann::json::array();
  for (const auto& c : outcome.trace_counters) counters.push_back({c.track, c.at, c.delta});
  j["trace_counters"] = counters;
  return j;
}

void write_all(int fd, const std::vector<uint8_t>& bytes) {
  for (size_t off = 0; off < bytes.size();) {
    const ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) _exit(2);
    off += static_cast<size_t>(n);
  }
}

}  // namespace

IsolatedRun run_isolated(const ChipParams& params, const isa::Program& program, const IsolatedOptions& options) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("cannot create a pipe to a simulation process");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("cannot start a simulation process");
  if (pid == 0) {
    close(fds[0]);
    int status = 0;
    std::vector<uint8_t> bytes;
    try {
      bytes = nlohmann::json::to_msgpack(run_here(params, program, options));
    } catch (const std::exception& e) {
      bytes = nlohmann::json::to_msgpack(nlohmann::json{{"error", e.what()}});
      status = 1;
    }
    write_all(fds[1], bytes);
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
  if (!WIFEXITED(status))
    throw std::runtime_error("the simulation process died (signal " + std::to_string(WTERMSIG(status)) + ")");
  const nlohmann::json j = nlohmann::json::from_msgpack(bytes);
  if (j.contains("error")) throw std::runtime_error(j["error"].get<std::string>());
  IsolatedRun run;
  run.result = j["result"];
  run.wall_seconds = j["wall_seconds"].get<double>();
  run.pe_steps = j["pe_steps"].get<uint64_t>();
  for (const auto& [name, value] : j["outputs"].items()) run.outputs[name] = value.get_binary();
  if (j.contains("ub")) run.ub = j["ub"].get_binary();
  if (j.contains("acc")) {
    const auto& acc = j["acc"].get_binary();
    run.acc.resize(acc.size() / 4);
    std::memcpy(run.acc.data(), acc.data(), acc.size());
  }
  for (const auto& h : j["host"]) run.host_ranges.push_back(h.get_binary());
  for (const auto& s : j["trace"])
    run.trace.push_back({s[0].get<std::string>(), s[1].get<std::string>(), s[2].get<int64_t>(), s[3].get<uint64_t>(),
                         s[4].get<uint64_t>()});
  for (const auto& c : j["trace_counters"])
    run.trace_counters.push_back({c[0].get<std::string>(), c[1].get<uint64_t>(), c[2].get<int64_t>()});
  return run;
}

}  // namespace tpu::sim
