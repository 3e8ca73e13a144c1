#include "tools/continual/deploy.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "isa/encoding.h"
#include "sim/top/isolated_run.h"
#include "tools/compiler/compiler.h"
#include "tools/continual/metrics.h"
#include "tools/report/workload.h"
#include "tools/train/chip_accuracy.h"
#include "tools/train/export.h"
#include "tools/train/trainer.h"

namespace tpu::continual {

namespace {

// Re-sending a few unchanged bytes costs less than another instruction word and its latency.
constexpr uint64_t kMergeGap = 64;

uint64_t run_bytes(const std::vector<std::pair<uint64_t, uint64_t>>& runs) {
  uint64_t n = 0;
  for (const auto& r : runs) n += r.second;
  return n;
}

std::vector<std::pair<uint64_t, uint64_t>> whole(const isa::MemoryImage& image) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (const auto& [start, bytes] : image.segments()) runs.push_back({start, bytes.size()});
  return runs;
}

isa::Word word(isa::Opcode op, std::initializer_list<std::pair<const char*, int64_t>> fields) {
  isa::Instruction insn = isa::make_instruction(isa::spec_of(op));
  for (const auto& [name, value] : fields) insn.set(name, value);
  return isa::encode(insn);
}

// The chip's classification of `test` by the deployment's program: accuracy (overall and per output),
// latency and energy, read from `cache_dir` when this program, these images and this chip were
// measured before (the key hashes all three), else measured and kept there.
void measure(Deployment& d, const compiler::Compiled& compiled, const sim::ChipParams& chip, const train::Dataset& test,
             bool check, const std::string& cache_dir) {
  const std::vector<uint8_t> program = isa::serialize(d.program);
  nlohmann::json chip_json;
  sim::to_json(chip_json, chip);
  uint64_t key = report::fnv1a(std::string(program.begin(), program.end()));
  key = report::fnv1a(std::string(test.pixels.begin(), test.pixels.end()) + std::string(test.labels.begin(), test.labels.end()), key);
  key = report::fnv1a(chip_json.dump() + (check ? "check" : ""), key);
  const std::string file = cache_dir.empty() ? "" : cache_dir + "/" + report::hex(key) + ".json";
  if (!file.empty() && std::filesystem::exists(file)) {
    const nlohmann::json m = nlohmann::json::parse(isa::read_file(file), nullptr, false);
    try {  // an entry that does not read whole is measured again
      d.accuracy = m.at("accuracy"), d.images = m.at("images"), d.agree = m.at("agree");
      d.per_class = m.at("per_class").get<std::vector<double>>();
      d.latency_us = m.at("latency_us"), d.energy_uj = m.at("energy_uj"), d.dynamic_uj = m.at("dynamic_uj");
      return;
    } catch (const nlohmann::json::exception&) {
    }
  }
  const train::ChipAccuracy a = train::chip_accuracy(d.program, chip, test);
  d.accuracy = a.accuracy();
  d.images = a.images;
  const int64_t classes = compiled.qgraph.graph->layers.back().shape[1];
  if (check) {
    const std::vector<int8_t> want = train::interpreter_outputs(compiled.qgraph, test, 0);
    const auto n = static_cast<size_t>(classes);
    d.agree = 0;
    for (size_t i = 0; i < static_cast<size_t>(a.images); ++i)
      d.agree += std::equal(want.begin() + static_cast<long>(i * n), want.begin() + static_cast<long>((i + 1) * n),
                            a.outputs.begin() + static_cast<long>(i * n));
  }
  d.per_class = per_class_accuracy(test.labels, a.predictions, classes);
  d.latency_us = a.latency_us;
  d.energy_uj = a.energy_uj;
  d.dynamic_uj = a.dynamic_uj;
  if (!file.empty()) {
    std::filesystem::create_directories(cache_dir);
    isa::write_file_atomically(file, nlohmann::json{{"accuracy", d.accuracy}, {"images", d.images}, {"agree", d.agree},
                                                    {"per_class", d.per_class}, {"latency_us", d.latency_us},
                                                    {"energy_uj", d.energy_uj}, {"dynamic_uj", d.dynamic_uj}}
                                         .dump() + "\n");
  }
}

}  // namespace

std::vector<std::pair<uint64_t, uint64_t>> changed_runs(const isa::MemoryImage& before, const isa::MemoryImage& now,
                                                       uint64_t gap) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (const auto& [start, bytes] : now.segments())
    for (uint64_t i = 0; i < bytes.size(); ++i) {
      const uint64_t addr = start + i;
      if (before.read(addr) == bytes[i]) continue;  // what the memory holds already (0 where never written)
      if (!runs.empty() && addr - (runs.back().first + runs.back().second) < gap)
        runs.back().second = addr + 1 - runs.back().first;
      else
        runs.push_back({addr, 1});
    }
  return runs;
}

isa::Program upload_program(const isa::MemoryImage& image, const std::vector<std::pair<uint64_t, uint64_t>>& runs) {
  constexpr uint64_t kMaxLen = (uint64_t{1} << 24) - 1;  // ldw's len field
  isa::Program p;
  uint64_t host = 0;
  for (const auto& [addr, bytes] : runs)
    for (uint64_t done = 0; done < bytes; done += kMaxLen) {
      const uint64_t len = std::min(kMaxLen, bytes - done);
      std::vector<uint8_t> data(len);
      for (uint64_t i = 0; i < len; ++i) data[i] = image.read(addr + done + i);
      p.host.write(host, data);
      p.text.push_back(word(isa::Opcode::ldw, {{"host", int64_t(host)}, {"dram", int64_t(addr + done)}, {"len", int64_t(len)}}));
      host += len;
    }
  p.text.push_back(word(isa::Opcode::halt, {}));
  return p;
}

Deployment deploy(const train::Network& net, const StudySpec& spec, const sim::ChipParams& chip,
                  const train::Dataset& calibration, const train::Dataset& test, const Deployment* previous,
                  const std::string& work_dir, const std::string& cache_dir, train::LayerKeys keys) {
  const auto start = std::chrono::steady_clock::now();
  // The model file with the network's weights, its last layer as wide as the classes it knows.
  keys[net.trained().back().layer]["units"] = std::to_string(net.classes());
  const std::string model = train::write_trained_model(spec.model, net, "a continual study's update", work_dir, keys);
  compiler::CompileOptions options;
  options.batch = spec.deploy.batch;
  options.calibration = train::first_images(net, calibration, spec.deploy.calibration_images).v;
  const compiler::Compiled compiled = compiler::compile_model(model, chip, options);
  Deployment d;
  d.compile_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  d.program = compiled.lowered.program;

  const auto chip_start = std::chrono::steady_clock::now();
  measure(d, compiled, chip, test, spec.deploy.check, cache_dir);
  d.chip_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - chip_start).count();

  d.weight_image_bytes = d.program.dram.total_bytes();
  const auto weights = previous ? changed_runs(previous->program.dram, d.program.dram, kMergeGap) : whole(d.program.dram);
  d.changed_weight_bytes =
      previous ? run_bytes(changed_runs(previous->program.dram, d.program.dram, 1)) : d.weight_image_bytes;
  d.uploaded_bytes = run_bytes(weights);
  d.changed_host_bytes = run_bytes(previous ? changed_runs(previous->program.host, d.program.host, 1) : whole(d.program.host));
  if (!weights.empty()) {
    sim::IsolatedOptions o;
    o.memories = false;
    const isa::Program program = upload_program(d.program.dram, weights);
    d.upload_transfers = program.text.size() - 1;  // all but the halt
    const sim::IsolatedRun upload = sim::run_isolated(chip, program, o);
    if (!upload.halted()) throw std::runtime_error("the upload program did not halt: " + upload.result.value("fault", std::string("?")));
    d.upload_us = upload.result["latency_us"].get<double>();
  }
  d.deploy_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return d;
}

}  // namespace tpu::continual
