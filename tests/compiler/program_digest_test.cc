// The compiler's output pinned: every network in models/ compiled on three chips (TPU v1 at batch
// 1; a 128 x 64 array with smaller memories at batch 4, which tiles differently and splits
// batches; for networks of at most 8 MB of weights, the 8 x 8 test chip with room for the weights
// and tables at batch 3, where larger ones take tens of seconds) gives the program (every byte of its text, memory images,
// tensors and metadata) and compile report recorded in tests/compiler/golden/programs.txt, or the
// same error. A change to the compiler that is meant to change programs updates the file:
//   TPUSIM_UPDATE_GOLDEN=1 build/tests/compiler_tests --gtest_filter='ProgramDigest*'
// and the diff shows which programs moved.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "tests/support/files.h"
#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/report/workload.h"

namespace tpu::test {
namespace {

const std::string kGolden = std::string(TPUSIM_SOURCE_DIR) + "/tests/compiler/golden/programs.txt";

struct Chip {
  const char* name;
  int64_t batch;
  std::vector<std::string> sets;
  const char* config;
  bool small_networks_only = false;
};
constexpr uint64_t kSmallNetworkBytes = 8'000'000;
const std::vector<Chip> kChips = {
    {"tpu_v1", 1, {}, "configs/tpu_v1.yaml"},
    {"narrow", 4,
     {"matrix_unit.rows=128", "matrix_unit.cols=64", "accumulators.entries=1024", "unified_buffer.size_bytes=8MiB",
      "weight_fifo.depth_tiles=2"},
     "configs/tpu_v1.yaml"},
    {"tiny", 3, {"weight_memory.size_bytes=512MiB", "unified_buffer.size_bytes=8MiB"}, "configs/tiny.yaml", true},
};

// "program <digest of the program's bytes and the compile report>", or "error <digest of the message>";
// `weight_bytes` receives the network's weight bytes.
std::string digest(const std::string& model, const Chip& chip, uint64_t* weight_bytes) {
  compiler::CompileOptions options;
  options.batch = chip.batch;
  try {
    const compiler::Compiled c = compiler::compile_model(model, load_params(chip.config, chip.sets), options);
    *weight_bytes = 0;
    for (const compiler::LayerReport& l : c.lowered.report.layers) *weight_bytes += l.weight_bytes;
    const std::vector<uint8_t> bytes = isa::serialize(c.lowered.program);
    const uint64_t h = report::fnv1a(std::string(bytes.begin(), bytes.end()));
    return "program " + report::hex(report::fnv1a(compiler::report_text(c), h));
  } catch (const std::exception& e) {
    return "error " + report::hex(report::fnv1a(e.what()));
  }
}

std::map<std::string, std::string> golden() {
  std::map<std::string, std::string> out;
  std::ifstream in(kGolden);
  for (std::string key, kind, value; in >> key >> kind >> value;) out[key] = kind + " " + value;
  return out;
}

class ProgramDigest : public testing::TestWithParam<std::string> {};

TEST_P(ProgramDigest, IsTheRecordedOneOnEveryChip) {
  const std::string stem = std::filesystem::path(GetParam()).stem().string();
  const bool update = std::getenv("TPUSIM_UPDATE_GOLDEN") != nullptr;
  std::map<std::string, std::string> recorded = golden();
  uint64_t weight_bytes = 0;  // from the first chip
  for (const Chip& chip : kChips) {
    if (chip.small_networks_only && weight_bytes > kSmallNetworkBytes) continue;
    const std::string key = stem + "@" + chip.name;
    uint64_t bytes = 0;
    const std::string got = digest(GetParam(), chip, &bytes);
    if (&chip == &kChips.front()) weight_bytes = bytes;
    if (update) {
      recorded[key] = got;
      continue;
    }
    ASSERT_TRUE(recorded.count(key)) << key << " is not in " << kGolden;
    EXPECT_EQ(got, recorded[key]) << key << ": the program differs from the recorded one";
  }
  if (update) {  // one process at a time under gtest; keys stay sorted
    std::ofstream out(kGolden);
    for (const auto& [key, value] : recorded) out << key << " " << value << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ProgramDigest, testing::ValuesIn(test::zoo_models()),
                         [](const testing::TestParamInfo<std::string>& i) {
                           return std::filesystem::path(i.param).stem().string();
                         });

}  // namespace
}  // namespace tpu::test
