// The compiled program's outputs on the chip equal the int8 reference
// interpreter's, bit for bit, across layer types, shapes that need tiling
// and chunking, and chip configurations.

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"

namespace tpu::test {
namespace {

struct ModelCase {
  const char* name;
  std::string yaml;
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

struct ChipCase {
  const char* name;
  std::vector<std::string> sets;
};

const std::vector<ChipCase> kChips = {
    {"tiny", {}},
    {"tiny_pe", {"fidelity=pe"}},
    // Narrow ports, few accumulators (work split into many chunks), a shallow FIFO, another rounding of shapes.
    {"cramped",
     {"matrix_unit.rows=6", "matrix_unit.cols=5", "accumulators.entries=24", "unified_buffer.row_bytes=4",
      "weight_fifo.depth_tiles=2", "sequencer.unit_queue=2"}},
    {"wide", {"matrix_unit.rows=32", "matrix_unit.cols=16", "accumulators.entries=512"}},
};

// Compiling `yaml` for tiny.yaml with `sets` fails with a ModelError containing `message`.
void expect_compile_error(const std::string& name, const std::string& yaml, const std::vector<std::string>& sets,
                          const std::string& message) {
  const std::string path = testing::TempDir() + name + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << yaml;
  try {
    compiler::compile_model(path, load_params("configs/tiny.yaml", sets));
    ADD_FAILURE() << name << ": compiled";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
}

class CompiledModel : public testing::TestWithParam<std::tuple<ModelCase, int>> {};

TEST_P(CompiledModel, ChipOutputsEqualTheReferenceInterpreter) {
  const ModelCase& m = std::get<0>(GetParam());
  const ChipCase& chip = kChips[static_cast<size_t>(std::get<1>(GetParam()))];
  // One file per test process: ctest runs the cases of a model in parallel.
  const std::string path = testing::TempDir() + m.name + "_" + chip.name + "_" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << m.yaml;
  const sim::ChipParams params = load_params("configs/tiny.yaml", chip.sets);
  const compiler::Compiled c = compiler::compile_model(path, params);
  // A fresh input, not the calibration data.
  const std::vector<float> input = compiler::synthetic_inputs(*c.graph, 3)[2];
  const std::vector<int8_t> q_input = compiler::quantize_input(c.qgraph, input);
  const auto expected = compiler::run_int8(c.qgraph, q_input);

  SimOptions options;
  options.inputs[c.graph->layers[0].name] = std::vector<uint8_t>(q_input.begin(), q_input.end());
  const SimRun run = simulate(params, c.lowered.program, options);
  ASSERT_TRUE(run.halted()) << run.fault_reason() << " at pc " << run.fault_pc();
  for (size_t k = 0; k < c.graph->outputs.size(); ++k) {
    const int o = c.graph->outputs[k];
    const auto& layer = c.graph->layers[static_cast<size_t>(o)];
    const auto& values = run.result["outputs"][c.graph->output_name(k)]["values"];
    const auto& want = expected[static_cast<size_t>(o)];
    ASSERT_EQ(values.size(), want.size()) << layer.name;
    int nonzero = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(values[i].get<int>(), want[i]) << layer.name << "[" << i << "]";
      nonzero += want[i] != 0;
    }
    EXPECT_GT(nonzero, 0) << "an all-zero output would prove little";
  }
}

const std::vector<ModelCase> kModels = {
    {"mlp",
     "name: mlp\nseed: 5\ninput: {name: x, shape: [5, 37]}\nlayers:\n"
     "  - {name: fc1, op: dense, units: 29, activation: relu}\n"
     "  - {name: fc2, op: dense, units: 17, activation: sigmoid}\n"
     "  - {name: fc3, op: dense, units: 11}\n"},
    {"cnn",
     "name: cnn\nseed: 3\ninput: {name: image, shape: [2, 7, 6, 3]}\nlayers:\n"
     "  - {name: conv1, op: conv2d, filters: 10, kernel: 3, padding: same, activation: relu}\n"
     "  - {name: conv2, op: conv2d, filters: 12, kernel: [2, 3], stride: [1, 2], activation: relu6}\n"
     "  - {name: pool, op: maxpool, kernel: 2, stride: 1}\n"
     "  - {name: flat, op: flatten}\n"
     "  - {name: fc, op: dense, units: 9, activation: tanh}\n"},
    {"residual",
     "name: residual\nseed: 7\ninput: {name: image, shape: [1, 6, 6, 4]}\nlayers:\n"
     "  - {name: stem, op: conv2d, filters: 8, kernel: 3, padding: same, activation: relu}\n"
     "  - {name: a, op: conv2d, filters: 8, kernel: 3, padding: same, activation: relu}\n"
     "  - {name: b, op: conv2d, filters: 8, kernel: 3, padding: same, dilation: 2}\n"
     "  - {name: sum, op: add, inputs: [stem, b], activation: relu}\n"
     "  - {name: avg, op: avgpool, kernel: 2}\n"
     "  - {name: gap, op: global_avgpool}\n"
     "  - {name: fc, op: dense, units: 5}\n"
     "outputs: [fc, avg]\n"},
    {"depthwise",
     "name: depthwise\nseed: 11\ninput: {name: image, shape: [1, 5, 5, 6]}\nlayers:\n"
     "  - {name: dw, op: conv2d, filters: 6, groups: 6, kernel: 3, padding: [1, 1], activation: relu6}\n"
     "  - {name: pw, op: conv2d, filters: 9, kernel: 1, activation: relu}\n"
     "  - {name: grouped, op: conv2d, filters: 6, groups: 3, kernel: 2, stride: 2}\n"
     "  - {name: gap, op: global_avgpool}\n"},
    {"lstm",
     "name: lstm\nseed: 13\ninput: {name: x, shape: [3, 10]}\nlayers:\n"
     "  - {name: l1, op: lstm, units: 9}\n"
     "  - {name: l2, op: lstm, units: 7}\n"
     "  - {name: out, op: dense, units: 4}\n"},
    // An LSTM over a sequence of 4 tokens: each step from the state the step before left.
    {"lstm_steps",
     "name: lstm_steps\nseed: 53\ninput: {name: words, shape: [3, 1, 4, 6]}\nlayers:\n"
     "  - {name: enc, op: lstm, units: 5, steps: 4}\n"
     "  - {name: out, op: dense, units: 3}\n"
     "outputs: [out, enc.t1]\n"},
    {"branches",
     "name: branches\nseed: 17\ninput: {name: image, shape: [1, 3, 3, 3]}\nlayers:\n"
     "  - {name: a, op: conv2d, filters: 4, kernel: 1, activation: relu}\n"
     "  - {name: b, op: conv2d, filters: 5, kernel: 3, padding: same, input: image, activation: relu}\n"
     "  - {name: joined, op: concat, inputs: [a, b]}\n"
     "  - {name: gate, op: activation, activation: sigmoid}\n"
     "  - {name: c, op: conv2d, filters: 9, kernel: 1, input: joined}\n"
     "  - {name: gated, op: mul, inputs: [c, gate]}\n"
     "  - {name: gap, op: global_avgpool}\n"},
    // A padded conv2d and a padded average pool of a sigmoid: its border holds the zero point -128, a real 0.
    {"padded_sigmoid",
     "name: padded_sigmoid\nseed: 19\ninput: {name: image, shape: [2, 5, 2, 3]}\nlayers:\n"
     "  - {name: s, op: conv2d, filters: 4, kernel: 3, padding: same, activation: sigmoid}\n"
     "  - {name: c, op: conv2d, filters: 5, kernel: 3, padding: same}\n"
     "  - {name: ap, op: avgpool, kernel: 3, stride: 1, padding: same, count_pad: true, input: s}\n"
     "outputs: [c, ap]\n"},
    // A ResNet stem (small enough for the cramped chip's accumulators): a padded max pool reads a
    // border of -128; then another padded one of a tanh's.
    {"padded_pool",
     "name: padded_pool\nseed: 23\ninput: {name: image, shape: [2, 6, 3, 3]}\nlayers:\n"
     "  - {name: stem, op: conv2d, filters: 6, kernel: 3, stride: 2, padding: same, activation: relu}\n"
     "  - {name: pool, op: maxpool, kernel: 3, stride: 2, padding: [1, 1]}\n"
     "  - {name: t, op: conv2d, filters: 4, kernel: 1, activation: tanh}\n"
     "  - {name: pool2, op: maxpool, kernel: 2, stride: 1, padding: same}\n"},
    // Images wider than half the cramped chip's accumulators: pools and convolutions run in
    // strips of output columns.
    {"wide_rows",
     "name: wide_rows\nseed: 41\ninput: {name: image, shape: [2, 3, 14, 3]}\nlayers:\n"
     "  - {name: mp, op: maxpool, kernel: 3, stride: 1, padding: same}\n"
     "  - {name: ap, op: avgpool, kernel: [2, 3], stride: [1, 2], input: image}\n"
     "  - {name: c, op: conv2d, filters: 4, kernel: 1, input: mp, activation: relu}\n"
     "  - {name: wc, op: conv2d, filters: 5, kernel: 3, padding: same, input: c, activation: relu}\n"
     "  - {name: wc2, op: conv2d, filters: 3, kernel: [1, 3], padding: same}\n"
     // A strided, dilated convolution in strips; then a strip of 3 output columns that covers a
     // whole line of its 7-wide output but not its last column.
     "  - {name: sc, op: conv2d, filters: 3, kernel: 3, stride: 2, dilation: [1, 2], padding: [1, 2], input: c}\n"
     "  - {name: odd, op: maxpool, kernel: 2, stride: 2}\n"
     "outputs: [c, ap, wc2, odd, sc]\n"},
    // Average pools with padding that divide each window by its taps inside the image (ONNX's
    // count_include_pad=0): window sums through the matrix unit, one divisor per run of pixels.
    {"valid_average",
     "name: valid_average\nseed: 47\ninput: {name: image, shape: [2, 5, 6, 3]}\nlayers:\n"
     "  - {name: a1, op: avgpool, kernel: 3, stride: 1, padding: same}\n"
     "  - {name: c, op: conv2d, filters: 4, kernel: 1, activation: relu}\n"
     "  - {name: a2, op: avgpool, kernel: 3, stride: 2, padding: [1, 1]}\n"
     "  - {name: a3, op: avgpool, kernel: [2, 4], stride: [1, 3], padding: [1, 2], input: image}\n"
     // ceil_mode: the last partial windows are kept.
     "  - {name: m4, op: maxpool, kernel: 2, stride: 2, ceil_mode: true, input: a3}\n"
     "  - {name: a5, op: avgpool, kernel: 3, stride: 2, ceil_mode: true, input: c}\n"
     "outputs: [a2, a3, m4, a5]\n"},
    // A transformer encoder layer in miniature: attention through the host (scores, softmax,
    // context), layer normalization on the host, a GELU feed-forward block. 13 tokens: more rows
    // than the cramped chip's half of the accumulators, so the matmuls run in row chunks there.
    {"attention",
     "name: attention\nseed: 29\ninput: {name: x, shape: [2, 1, 13, 12]}\nlayers:\n"
     "  - {name: q, op: dense, units: 12}\n"
     "  - {name: k, op: dense, units: 12, input: x}\n"
     "  - {name: v, op: dense, units: 12, input: x}\n"
     "  - {name: scores, op: matmul, inputs: [q, k], heads: 3, transpose_b: true, alpha: 0.5}\n"
     "  - {name: probs, op: softmax}\n"
     "  - {name: context, op: matmul, inputs: [probs, v], heads: 3}\n"
     "  - {name: o, op: dense, units: 12}\n"
     "  - {name: res1, op: add, inputs: [o, x]}\n"
     "  - {name: ln1, op: layernorm}\n"
     "  - {name: ff1, op: dense, units: 20, activation: gelu}\n"
     "  - {name: ff2, op: dense, units: 12}\n"
     "  - {name: res2, op: add, inputs: [ff2, ln1]}\n"
     "  - {name: ln2, op: layernorm}\n"
     "outputs: [ln2, probs]\n"},
};

// A tensor whose padding two readers need to hold different values.
TEST(Borders, ConflictingPaddingIsRefusedByLayer) {
  expect_compile_error("borders",
                       "name: borders\ninput: {name: x, shape: [1, 6, 6, 3]}\nlayers:\n"
                       "  - {name: c, op: conv2d, filters: 4, kernel: 1}\n"
                       "  - {name: pool, op: maxpool, kernel: 3, stride: 1, padding: same}\n"
                       "  - {name: d, op: conv2d, filters: 4, kernel: 3, padding: same, input: c}\n"
                       "  - {name: s, op: add, inputs: [pool, d]}\n",
                       {},
                       "layer 'd' (line 6): its input's padding would need to hold 0 and, for another reader, -128");
}

TEST(ScaleSim, TopologiesCompileBitExact) {
  const std::vector<std::pair<std::string, std::string>> topologies = {
      {"conv.csv",
       "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
       "c1, 9, 9, 3, 3, 5, 7, 1,\nc2, 7, 7, 3, 3, 7, 6, 2,\nc3, 6, 6, 2, 2, 4, 3, 1,\n"},
      {"gemm.csv", "Layer Name, M, N, K,\nfc1, 6, 20, 13,\nfc2, 6, 9, 20,\nfc3, 3, 4, 11,\n"}};
  for (const auto& [name, text] : topologies) {
    SCOPED_TRACE(name);
    const std::string path = testing::TempDir() + std::to_string(::getpid()) + name;
    std::ofstream(path) << text;
    const sim::ChipParams params = load_params("configs/tiny.yaml");
    const compiler::Compiled c = compiler::compile_model(path, params);
    EXPECT_EQ(c.graph->layers.size(), 5u);  // the input, two chained layers, the third's own input, the third
    const std::vector<int8_t> q_input = compiler::quantize_input(c.qgraph, compiler::synthetic_inputs(*c.graph, 1)[0]);
    const auto expected = compiler::run_int8(c.qgraph, q_input);
    SimOptions options;
    options.inputs["input"] = std::vector<uint8_t>(q_input.begin(), q_input.end());
    const SimRun run = simulate(params, c.lowered.program, options);
    ASSERT_TRUE(run.halted()) << run.fault_reason();
    const auto& last = c.graph->layers.back();
    const auto& values = run.result["outputs"][last.name]["values"];
    ASSERT_EQ(values.size(), expected.back().size());
    for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i].get<int>(), expected.back()[i]) << i;
  }
}

// A batch too large for the unified buffer runs in sub-batches, still bit-exact over the whole batch.
struct PassCase {
  const char* name;
  std::string yaml;  // batch 6; the last layer is the output
  int64_t ub_bytes;
};

void PrintTo(const PassCase& c, std::ostream* os) { *os << c.name; }

class SubBatches : public testing::TestWithParam<PassCase> {};

TEST_P(SubBatches, ALargeBatchRunsInPassesWithTheSameResults) {
  const PassCase& pc = GetParam();
  const std::string path = testing::TempDir() + std::to_string(::getpid()) + pc.name + "_passes.yaml";
  std::ofstream(path) << pc.yaml;
  const sim::ChipParams params =
      load_params("configs/tiny.yaml", {"unified_buffer.size_bytes=" + std::to_string(pc.ub_bytes)});
  const compiler::Compiled c = compiler::compile_model(path, params);
  EXPECT_GT(c.passes, 1);
  const compiler::Graph full = compiler::with_batch(*c.graph, 6);
  compiler::QGraph q = c.qgraph;
  q.graph = &full;
  const std::vector<int8_t> q_input = compiler::quantize_input(q, compiler::synthetic_inputs(full, 1)[0]);
  const auto expected = compiler::run_int8(q, q_input);
  SimOptions options;
  options.inputs[full.layers[0].name] = std::vector<uint8_t>(q_input.begin(), q_input.end());
  const SimRun run = simulate(params, c.lowered.program, options);
  ASSERT_TRUE(run.halted()) << run.fault_reason();
  const auto& values = run.result["outputs"][full.layers.back().name]["values"];
  ASSERT_EQ(values.size(), expected.back().size());
  for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i].get<int>(), expected.back()[i]) << i;
  EXPECT_EQ(run.result["batch"], 6);
  // Each pass's rows add to the same layer: the layers' MACs are the whole batch's.
  uint64_t macs = 0, batch_macs = 0;
  for (const auto& row : run.result["layers"]) macs += row["macs"].get<uint64_t>();
  for (const auto& l : c.lowered.report.layers) batch_macs += l.macs;
  EXPECT_EQ(macs, batch_macs);
  EXPECT_EQ(run.result["throughput"]["macs"].get<uint64_t>(), batch_macs);
  EXPECT_GT(batch_macs, 0u);
}

// A pooling window larger than half the accumulators cannot be split: named with the limit.
TEST(Pooling, AWindowBeyondHalfTheAccumulatorsIsRefused) {
  expect_compile_error(
      "bigpool", "name: bigpool\ninput: {name: x, shape: [1, 4, 4, 2]}\nlayers:\n  - {name: g, op: global_avgpool}\n",
      {"accumulators.entries=24"},
      "layer 'g' (line 4): one 4 x 4 pooling window does not fit half the accumulators (12 rows)");
}

INSTANTIATE_TEST_SUITE_P(
    Models, SubBatches,
    testing::Values(PassCase{"cnn",
                             "name: cnn\nseed: 3\ninput: {name: image, shape: [6, 7, 6, 3]}\nlayers:\n"
                             "  - {name: conv1, op: conv2d, filters: 10, kernel: 3, padding: same, activation: relu}\n"
                             "  - {name: pool, op: maxpool, kernel: 2, stride: 1}\n"
                             "  - {name: flat, op: flatten}\n"
                             "  - {name: fc, op: dense, units: 9, activation: tanh}\n",
                             2048},
                    // Host steps and loaded weight tiles in every pass: the host scratch and parameters are
                    // shared, the loaded tiles are new each time.
                    PassCase{"attention",
                             "name: attention\nseed: 37\ninput: {name: x, shape: [6, 1, 5, 8]}\nlayers:\n"
                             "  - {name: q, op: dense, units: 8}\n"
                             "  - {name: k, op: dense, units: 8, input: x}\n"
                             "  - {name: v, op: dense, units: 8, input: x}\n"
                             "  - {name: scores, op: matmul, inputs: [q, k], heads: 2, transpose_b: true, alpha: 0.5}\n"
                             "  - {name: probs, op: softmax}\n"
                             "  - {name: context, op: matmul, inputs: [probs, v], heads: 2}\n"
                             "  - {name: res, op: add, inputs: [context, x]}\n"
                             "  - {name: norm, op: layernorm}\n",
                             1024}),
    [](const testing::TestParamInfo<PassCase>& i) { return std::string(i.param.name); });

// Every sample's loaded tiles take new weight DRAM; a chip without room says so at compile time.
TEST(LoadedTiles, BeyondWeightDramAreRefused) {
  expect_compile_error("dram",
                       "name: scores\ninput: {name: x, shape: [4, 1, 16, 16]}\nlayers:\n"
                       "  - {name: s, op: matmul, inputs: [x, x], transpose_b: true}\n",
                       {"weight_memory.size_bytes=1000"}, "need 1024 bytes of weight DRAM; the chip has 1000");
}

TEST(ScaleSim, MalformedRowsNameTheLine) {
  const std::string path = testing::TempDir() + std::to_string(::getpid()) + "bad.csv";
  std::ofstream(path) << "Layer Name, M, N, K,\nfc1, 6, x, 13,\n";
  try {
    compiler::load_model(path);
    FAIL();
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2: column 3 ('x') must be a positive integer"), std::string::npos)
        << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, CompiledModel,
                         testing::Combine(testing::ValuesIn(kModels),
                                          testing::Range(0, static_cast<int>(kChips.size()))),
                         [](const testing::TestParamInfo<std::tuple<ModelCase, int>>& i) {
                           return std::string(std::get<0>(i.param).name) + "_" +
                                  kChips[static_cast<size_t>(std::get<1>(i.param))].name;
                         });

}  // namespace
}  // namespace tpu::test
