// A program depends on the chip only through its compiler target (CompileTarget):
// changing any other configuration key leaves the compiled program byte for
// byte the same, which is what lets a compile cache keyed on the target share
// programs across clock, bandwidth, latency, port and energy settings.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "isa/program.h"
#include "sim/base/config.h"
#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"

namespace tpu::test {
namespace {

// The programs of networks that take every path of the compiler: dense layers with values, and
// (timing only, for speed) convolutions and pooling, LSTM cells, attention with its loaded tiles
// and host steps.
std::vector<uint8_t> program_for(const sim::ChipParams& chip) {
  const std::string models = std::string(TPUSIM_SOURCE_DIR) + "/models/";
  std::vector<uint8_t> all = isa::serialize(compiler::compile_model(models + "lenet_300_100.yaml", chip).lowered.program);
  compiler::CompileOptions timing;
  timing.timing_only = true;
  timing.batch = 1;
  for (const char* m : {"resnet50.yaml", "lstm0.yaml", "bert_base_encoder.yaml"}) {
    const std::vector<uint8_t> p = isa::serialize(compiler::compile_model(models + m, chip, timing).lowered.program);
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

std::string number_text(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// The key's value in the chip's JSON (dotted path).
const nlohmann::json& at(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json* node = &j;
  for (size_t from = 0;;) {
    const size_t dot = path.find('.', from);
    node = &node->at(path.substr(from, dot == std::string::npos ? std::string::npos : dot - from));
    if (dot == std::string::npos) return *node;
    from = dot + 1;
  }
}

TEST(CompileTarget, NoOtherKeyChangesTheProgram) {
  const sim::ChipParams base = load_params("configs/tpu_v1.yaml");
  const std::vector<uint8_t> expected = program_for(base);
  const std::string target = compiler::CompileTarget::of(base).key();
  nlohmann::json values;
  sim::to_json(values, base);
  size_t tried = 0, read = 0, files = 0;
  for (const sim::ParamKey& k : sim::param_keys()) {
    if (k.kind == sim::ParamKey::Kind::text && k.choices.empty()) {  // a table file: priced after the program
      ++files;
      continue;
    }
    // Another valid value: the other end of the key's range side, or another choice.
    std::vector<std::string> others;
    if (k.kind == sim::ParamKey::Kind::text) {
      for (const std::string& c : k.choices)
        if (c != at(values, k.path).get<std::string>()) others.push_back(c);
    } else {
      const double v = at(values, k.path).get<double>();
      for (const double w : {v * 2, v / 2, v + 1, k.min}) {
        if (w < k.min || w > k.max || w == v) continue;
        others.push_back(k.kind == sim::ParamKey::Kind::integer ? std::to_string(static_cast<int64_t>(w))
                                                                 : number_text(w));
      }
    }
    for (const std::string& other : others) {
      sim::ChipParams chip;
      try {
        chip = load_params("configs/tpu_v1.yaml", {k.path + "=" + other});
      } catch (const std::exception&) {
        continue;  // not valid with the rest of TPU v1: try the next value
      }
      if (compiler::CompileTarget::of(chip).key() != target) {  // a key the compiler reads
        ++read;
        break;
      }
      ++tried;
      EXPECT_TRUE(program_for(chip) == expected) << k.path << "=" << other << " changed the program";
      break;
    }
  }
  // Every key was changed once: the seven of the target (rows, cols, accumulator entries, buffer,
  // FIFO and DRAM sizes, the sparse engine's PEs; its SRAM sizes join the target only on a chip
  // that has one) and all the others.
  EXPECT_EQ(read, 7u);
  EXPECT_EQ(files, 2u) << "energy.table and energy.area_table";
  EXPECT_EQ(tried + read + files, sim::param_keys().size()) << "a key with no other valid value";
  // And a key it reads does change it.
  EXPECT_FALSE(program_for(load_params("configs/tpu_v1.yaml", {"accumulators.entries=1024"})) == expected);
}

}  // namespace
}  // namespace tpu::test
