// Dense layers on the sparse engine: zoo networks compiled with their dense
// layers compressed (pruned to 10% and shared 15 ways) give on the chip
// exactly the int8 interpreter's outputs; a model can mix both engines; a
// timing-only compile of a sparse model runs in the same cycles; a chip
// without an engine, or a layer too large for its SRAMs, is an error by name.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "tests/compiler/bit_exact.h"
#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/compress.h"
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
  options.sparse_slices = true;  // AlexNet's fc6 at 10% holds more entries per PE than 16-bit pointers reach
  const compiler::Compiled c = compiler::compile_model(kSrc + "/models/" + GetParam() + ".yaml", params, options);
  EXPECT_GT(expect_bit_exact(c, params, GetParam()).stat("sparse_engine", "macs"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Models, SparseZoo, testing::Values("lenet_300_100", "mlp0", "mlp1", "neuraltalk_lstm", "lstm0", "lstm1", "lenet5", "alexnet", "vgg16"));

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
  EXPECT_LE(c.qgraph.layers[3].codebook.size(), 8u) << "3 bits: at most 7 shared values and the zero";
  EXPECT_GE(c.qgraph.layers[3].codebook.size(), 5u);
  // fc1 keeps round(0.08 x 784 x 300) weights.
  EXPECT_EQ(c.lowered.report.layers[1].nonzeros, 18816u);
  EXPECT_GT(expect_bit_exact(c, params, "mixed").stat("sparse_engine", "macs"), 0u);
}

// The README's mixed model: fc1 and fc3 on the engine, fc2 on the matrix unit, bit-exact.
TEST(SparseExample, TheMixedLeNetRunsOnBothEnginesBitExactly) {
  const sim::ChipParams params = load_params("configs/eie.yaml");
  const compiler::Compiled c = compiler::compile_model(kSrc + "/models/eie/lenet_mixed.yaml", params, {});
  const std::vector<bool> sparse = {c.lowered.report.layers[1].sparse, c.lowered.report.layers[2].sparse,
                                    c.lowered.report.layers[3].sparse};
  EXPECT_EQ(sparse, (std::vector<bool>{true, false, true}));
  const SimRun run = expect_bit_exact(c, params, "lenet_mixed");
  EXPECT_GT(run.stat("sparse_engine", "macs"), 0u);
  EXPECT_GT(run.stat("matrix_unit", "useful_macs"), 0u);
}

// An LSTM over a sequence: every step's gates share the first step's weights, each with the
// biases of its own input's scale.
TEST_F(SparseModel, ASequenceLstmIsBitExact) {
  const std::string path = testing::TempDir() + "sparse_lstm_" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << "name: seq\nseed: 53\ninput: {name: words, shape: [3, 1, 6, 40]}\nlayers:\n"
                      << "  - {name: enc, op: lstm, units: 48, steps: 6}\n";
  compiler::CompileOptions options;
  options.sparse = compiler::CompileOptions::Sparse::kAll;
  options.density = 0.3;
  const sim::ChipParams params = load_params("configs/eie.yaml");
  const compiler::Compiled c = compiler::compile_model(path, params, options);
  EXPECT_GT(expect_bit_exact(c, params, "lstm steps").stat("sparse_engine", "macs"), 0u);
}

// An lstm that says `engine: sparse` puts its four gates there, at its density; the rest stays.
TEST_F(SparseModel, AnLstmPutsItsGatesOnTheEngine) {
  const std::string path = testing::TempDir() + "sparse_gates_" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << "name: gates\nseed: 54\ninput: {name: x, shape: [2, 64]}\nlayers:\n"
                      << "  - {name: cell, op: lstm, units: 40, engine: sparse, density: 0.25, bits: 3}\n"
                      << "  - {name: out, op: dense, units: 10}\n";
  const sim::ChipParams params = load_params("configs/eie.yaml");
  const compiler::Compiled c = compiler::compile_model(path, params, {});
  int gates = 0;
  for (size_t i = 0; i < c.graph->layers.size(); ++i) {
    const compiler::Layer& l = c.graph->layers[i];
    if (l.op != compiler::Op::kDense) continue;
    EXPECT_EQ(c.lowered.report.layers[i].sparse, l.name != "out") << l.name;
    if (l.name == "out") continue;
    ++gates;
    EXPECT_EQ(c.lowered.report.layers[i].nonzeros, 1040u) << l.name << ": round(0.25 x 104 x 40)";
    EXPECT_LE(c.qgraph.layers[i].codebook.size(), 8u) << l.name;
  }
  EXPECT_EQ(gates, 4);
  EXPECT_GT(expect_bit_exact(c, params, "lstm gates").stat("sparse_engine", "macs"), 0u);
}

// The compressed network's outputs, dequantized, follow the float run of the same compressed
// network (calibrated on it): not all zero or saturated.
TEST_F(SparseModel, FollowsTheFloatNetworkItCompresses) {
  const sim::ChipParams params = load_params("configs/eie.yaml");
  compiler::CompileOptions options;
  options.sparse = compiler::CompileOptions::Sparse::kAll;
  const std::string m = kSrc + "/models/lenet_300_100.yaml";
  const compiler::Compiled c = compiler::compile_model(m, params, options);
  compiler::Graph g = compiler::load_model(m, 1);
  for (compiler::Layer& l : g.layers)
    if (l.op == compiler::Op::kDense) l.weights = compiler::compressed(l.weights, 0.1, 15);
  const std::vector<float> x = compiler::synthetic_inputs(g, 2, 1)[1];
  const std::vector<float> want = compiler::run_float(g, x).post.back();
  const std::vector<int8_t> got = compiler::run_int8(c.qgraph, compiler::quantize_input(c.qgraph, x)).back();
  const compiler::QLayer& out = c.qgraph.layers.back();
  double err = 0, range = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::fabs(out.scale * (got[i] - out.zp) - want[i]));
    range = std::max(range, double(std::fabs(want[i])));
  }
  ASSERT_GT(range, 0);
  EXPECT_LT(err, 0.05 * range) << "largest error " << err << " of outputs up to " << range;
}

// With 1 KB of pointers a PE holds 511 columns: fc1's 784 (1570 bytes of pointers) is an error
// naming the option, or with `slices: true` two slices, of 511 and 273 columns (1024 and 548 bytes
// of pointers), which cannot both stay: each sample loads both again. Bit-exact all the same.
TEST_F(SparseModel, ALayerTooLargeRunsInColumnSlicesReloadedPerSample) {
  sim::ChipParams params = load_params("configs/eie.yaml");
  params.sparse_engine.pointer_bytes = 1024;
  try {
    compiler::compile_model(model(", engine: sparse, density: 0.08"), params, {});
    ADD_FAILURE() << "fc1 fits 1 KB of pointers";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'fc1'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("give the layer `slices: true` (or compile with --sparse-slices)"),
              std::string::npos)
        << e.what();
  }
  const compiler::Compiled c = compiler::compile_model(model(", engine: sparse, density: 0.08, slices: true"), params, {});
  const compiler::LayerReport& fc1 = c.lowered.report.layers[1];
  EXPECT_EQ(fc1.slices, 2u);
  EXPECT_EQ(fc1.nonzeros, 18816u) << "the slices hold the layer's weights between them";
  EXPECT_EQ(fc1.pointer_bytes, 64u * 2 * (511 + 1 + 273 + 1));
  const SimRun run = expect_bit_exact(c, params, "slices");
  // The interpreter runs the layer whole, and so does the chip whose SRAMs hold it: the slices (the
  // bias in the first, each its own columns of the input) give the same bytes.
  const sim::ChipParams roomy = load_params("configs/eie.yaml");
  const compiler::Compiled whole = compiler::compile_model(model(", engine: sparse, density: 0.08"), roomy, {});
  EXPECT_EQ(whole.lowered.report.layers[1].slices, 1u);
  EXPECT_EQ(expect_bit_exact(whole, roomy, "whole").result["outputs"], run.result["outputs"]);
  const uint64_t fc3 = c.lowered.report.layers[3].image_bytes;
  EXPECT_EQ(run.stat("sparse_engine", "layer_loads"), 2u * 2 + 1) << "both slices for each of 2 samples, and fc3";
  EXPECT_EQ(run.stat("sparse_engine", "load_bytes"), 2 * fc1.image_bytes + fc3);
  compiler::CompileOptions all;
  all.sparse_slices = true;
  EXPECT_EQ(compiler::compile_model(model(", engine: sparse, density: 0.08"), params, all).lowered.program.text,
            c.lowered.program.text)
      << "--sparse-slices does for every sparse layer what `slices: true` does for one";
  params.sparse_engine.activation_bytes = 16;  // 300 rows need 5 accumulators a PE: no slicing helps
  try {
    compiler::compile_model(model(", engine: sparse, density: 0.08, slices: true"), params, {});
    ADD_FAILURE() << "fc1 fits 16 bytes of accumulators";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("even one column at a time: column 0: 300 rows need 5 accumulators in a PE"),
              std::string::npos)
        << e.what();
  }
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

// --sparse auto's cost model against the simulator: for one 784 x 300 layer at density 0.1 on
// EIE's chip, at a few samples and at many, it picks the engine that runs the layer in fewer
// cycles (timing only: every activation non-zero, as the model assumes). It never picks the
// engine on a chip without one, or for a layer whose pointers overflow a PE's SRAM.
TEST_F(SparseModel, AutoPicksTheEngineThatRunsALayerFaster) {
  const sim::ChipParams eie = load_params("configs/eie.yaml");
  const std::string path = testing::TempDir() + "one_layer_" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << "name: one\nseed: 4\ninput: {name: x, shape: [1, 784]}\nlayers:\n"
                      << "  - {name: fc, op: dense, units: 300}\n";
  SimOptions no_values;
  no_values.compute_values = false;
  std::vector<bool> engine_faster;
  for (int64_t n : {2, 60}) {
    uint64_t cycles[2];
    for (int sparse = 0; sparse < 2; ++sparse) {
      compiler::CompileOptions o;
      o.batch = n;
      o.timing_only = true;
      o.sparse = sparse ? compiler::CompileOptions::Sparse::kAll : compiler::CompileOptions::Sparse::kNone;
      const SimRun run = simulate(eie, compiler::compile_model(path, eie, o).lowered.program, no_values);
      ASSERT_TRUE(run.halted()) << run.fault_reason();
      cycles[sparse] = run.cycles();
    }
    engine_faster.push_back(cycles[1] < cycles[0]);
    EXPECT_EQ(compiler::sparse_is_faster(eie, 784, 300, n, 0.1), cycles[1] < cycles[0])
        << n << " samples: " << cycles[1] << " cycles on the engine, " << cycles[0] << " on the matrix unit";
    compiler::CompileOptions o;
    o.batch = n;
    o.sparse = compiler::CompileOptions::Sparse::kAuto;
    EXPECT_EQ(compiler::compile_model(path, eie, o).lowered.report.layers[1].sparse, cycles[1] < cycles[0]) << n;
  }
  EXPECT_EQ(engine_faster, (std::vector<bool>{true, false})) << "both regimes are tried";
  EXPECT_FALSE(compiler::sparse_is_faster(load_params("configs/tpu_v1.yaml"), 784, 300, 1, 0.1));
  EXPECT_FALSE(compiler::sparse_is_faster(eie, 25088, 4096, 1, 0.04)) << "50 KB of pointers in a 32 KB SRAM";
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
