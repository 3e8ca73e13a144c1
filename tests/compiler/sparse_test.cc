// Dense layers on the sparse engine: zoo networks compiled with their dense
// layers compressed (pruned to 10% and shared 15 ways) give on the chip
// exactly the int8 interpreter's outputs; a model can mix both engines; a
// timing-only compile of a sparse model runs in the same cycles; a chip
// without an engine, or a layer too large for its SRAMs, is an error by name.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/compiler/bit_exact.h"
#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"

namespace tpu::test {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

class SparseZoo : public testing::TestWithParam<const char*> {};

TEST_P(SparseZoo, IsBitExactWithEveryDenseLayerCompressed) {
  const sim::ChipParams params = load_params("configs/eie.yaml");
  compiler::CompileOptions options;
  options.batch = 1;
  options.sparse = compiler::CompileOptions::Sparse::kAll;
  const compiler::Compiled c = compiler::compile_model(kSrc + "/models/" + GetParam() + ".yaml", params, options);
  EXPECT_GT(expect_bit_exact(c, params, GetParam()).stat("sparse_engine", "macs"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Models, SparseZoo, testing::Values("lenet_300_100", "mlp1", "neuraltalk_lstm", "lstm1"));

class SparseModel : public testing::Test {
 protected:
  std::string model(const std::string& fc1) {
    const std::string path = testing::TempDir() + "sparse_" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(path) << "name: mixed\nseed: 3\ninput: {name: x, shape: [2, 784]}\nlayers:\n"
                        << "  - {name: fc1, op: dense, units: 300, activation: relu" << fc1 << "}\n"
                        << "  - {name: fc2, op: dense, units: 100, activation: relu}\n"
                        << "  - {name: fc3, op: dense, units: 10, engine: sparse, density: 0.3, bits: 3}\n";
    return path;
  }
};

TEST_F(SparseModel, MixesBothEnginesBitExactly) {
  const sim::ChipParams params = load_params("configs/eie.yaml");
  const compiler::Compiled c = compiler::compile_model(model(", engine: sparse, density: 0.08"), params, {});
  EXPECT_TRUE(c.lowered.report.layers[1].sparse);
  EXPECT_FALSE(c.lowered.report.layers[2].sparse);
  EXPECT_EQ(c.qgraph.layers[3].codebook.size(), 8u) << "3 bits: 7 shared values and the zero";
  // fc1 keeps round(0.08 x 784 x 300) weights.
  EXPECT_EQ(c.lowered.report.layers[1].nonzeros, 18816u);
  EXPECT_GT(expect_bit_exact(c, params, "mixed").stat("sparse_engine", "macs"), 0u);
}

TEST_F(SparseModel, ATimingOnlyCompileRunsInTheSameCycles) {
  const sim::ChipParams params = load_params("configs/eie.yaml");
  compiler::CompileOptions timing;
  timing.timing_only = true;
  const std::string m = model(", engine: sparse, density: 0.08");
  const compiler::Compiled t = compiler::compile_model(m, params, timing);
  const compiler::Compiled v = compiler::compile_model(m, params, {});
  SimOptions no_values;
  no_values.compute_values = false;
  const SimRun a = simulate(params, t.lowered.program, no_values), b = simulate(params, v.lowered.program, no_values);
  ASSERT_TRUE(a.halted()) << a.fault_reason();
  EXPECT_EQ(a.cycles(), b.cycles());
  EXPECT_EQ(a.stat("sparse_engine", "entries"), b.stat("sparse_engine", "entries"));
}

TEST_F(SparseModel, NamesAChipWithoutAnEngineAndALayerTooLarge) {
  const std::string m = model(", engine: sparse, density: 0.5");
  try {
    compiler::compile_model(m, load_params("configs/tpu_v1.yaml"), {});
    FAIL() << "compiled";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'fc1' (line 5): is placed on the sparse engine"), std::string::npos)
        << e.what();
  }
  try {
    compiler::compile_model(m, load_params("configs/eie.yaml", {"sparse_engine.spmat_bytes=1000"}), {});
    FAIL() << "compiled";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit the sparse engine: PE 0 needs"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tpu::test
