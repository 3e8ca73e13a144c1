// ONNX import. Integer operators (QLinearConv, QLinearMatMul) carry their own
// scales and zero points; the chip's outputs equal the operators as the ONNX
// spec defines them, y = saturate(round_half_even(acc * x_scale * w_scale / y_scale) + y_zp),
// computed here in plain loops over NCHW tensors. Batch normalization folds
// into the convolution before it.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <random>

#include "tests/compiler/bit_exact.h"
#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"
#include "tools/compiler/onnx_import.h"

namespace tpu::test {
namespace {

using onnx::TensorProto;

void add_tensor(onnx::GraphProto* g, const std::string& name, int type, const std::vector<int64_t>& dims,
                const std::vector<double>& values) {
  TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  for (double v : values) {
    if (type == TensorProto::FLOAT)
      t->add_float_data(static_cast<float>(v));
    else
      t->add_int32_data(static_cast<int32_t>(v));
  }
}

void add_value(onnx::ValueInfoProto* v, const std::string& name, int type, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(type);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

// pads = [1, 1, 1, 1]
void pad_by_one(onnx::NodeProto* n) {
  auto* pads = n->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int p : {1, 1, 1, 1}) pads->add_ints(p);
}

std::string save(onnx::ModelProto& m, const std::string& name) {
  m.set_ir_version(8);
  auto* opset = m.add_opset_import();
  opset->set_version(13);
  const std::string path = testing::TempDir() + name + "_" + std::to_string(::getpid()) + ".onnx";
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path;
}

std::vector<double> uniform(std::mt19937& rng, size_t n, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<double> v(n);
  for (double& x : v) x = d(rng);
  return v;
}

int requant(int64_t acc, double m, int zp, int lo, int hi) {
  const double y = std::nearbyint(static_cast<double>(acc) * m) + zp;  // the default mode rounds half to even
  return static_cast<int>(std::clamp(y, static_cast<double>(lo), static_cast<double>(hi)));
}

// Runs the model on the chip with the raw integer input (uint8 shifted to
// int8); returns its output plus `output_shift`.
std::vector<int> run_on_chip(const std::string& path, const std::vector<int>& input_nhwc, int input_shift,
                             int output_shift) {
  auto graph = std::make_unique<compiler::Graph>(compiler::load_onnx(path));
  const auto& given = graph->layers[0].given;
  EXPECT_TRUE(given.has_value());
  std::vector<float> calibration;
  std::vector<uint8_t> raw;
  for (int v : input_nhwc) {
    const int q = v - input_shift;
    raw.push_back(static_cast<uint8_t>(static_cast<int8_t>(q)));
    calibration.push_back(static_cast<float>(given->scale * (q - given->zp)));
  }
  compiler::CompileOptions options;
  options.calibration = calibration;
  const sim::ChipParams params = load_params("configs/tiny.yaml");
  const compiler::Compiled c = compiler::compile_graph(std::move(graph), params, options);
  SimOptions sim_options;
  sim_options.inputs[c.graph->layers[0].name] = raw;
  const SimRun run = simulate(params, c.lowered.program, sim_options);
  EXPECT_TRUE(run.halted()) << run.fault_reason();
  std::vector<int> out;
  for (const auto& v : run.result["outputs"][c.graph->output_name(0)]["values"]) out.push_back(v.get<int>() + output_shift);
  return out;
}

TEST(OnnxInteger, QLinearConvEqualsTheSpecElementForElement) {
  const int64_t N = 2, C = 3, H = 6, W = 5, O = 4, K = 3;
  const int x_zp = 131, y_zp = 120;  // uint8
  const double x_scale = 0.0213;
  const double y_scale = 0.371;
  const std::vector<double> w_scale = {0.0117, 0.0093, 0.0151, 0.0201};
  std::mt19937 rng(7);
  const std::vector<double> x = uniform(rng, N * C * H * W, 0, 255);
  const std::vector<double> w = uniform(rng, O * C * K * K, -127, 127);
  const std::vector<double> b = uniform(rng, O, -3000, 3000);

  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("qconv");
  add_value(g->add_input(), "x", TensorProto::UINT8, {N, C, H, W});
  add_value(g->add_output(), "y", TensorProto::UINT8, {N, O, H, W});
  add_tensor(g, "x_scale", TensorProto::FLOAT, {}, {x_scale});
  add_tensor(g, "x_zp", TensorProto::UINT8, {}, {double(x_zp)});
  add_tensor(g, "w", TensorProto::INT8, {O, C, K, K}, w);
  add_tensor(g, "w_scale", TensorProto::FLOAT, {O}, w_scale);
  add_tensor(g, "w_zp", TensorProto::INT8, {}, {0});
  add_tensor(g, "y_scale", TensorProto::FLOAT, {}, {y_scale});
  add_tensor(g, "y_zp", TensorProto::UINT8, {}, {double(y_zp)});
  add_tensor(g, "b", TensorProto::INT32, {O}, b);
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("QLinearConv");
  n->set_name("qconv1");
  for (const char* in : {"x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp", "b"}) n->add_input(in);
  n->add_output("y");
  pad_by_one(n);
  const std::string path = save(m, "qconv");

  std::vector<int> x_nhwc(x.size()), want(static_cast<size_t>(N * H * W * O));
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t xx = 0; xx < W; ++xx)
          x_nhwc[((i * H + y) * W + xx) * C + c] = static_cast<int>(x[((i * C + c) * H + y) * W + xx]);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t y = 0; y < H; ++y)
        for (int64_t xx = 0; xx < W; ++xx) {
          int64_t acc = static_cast<int64_t>(b[o]);
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < K; ++ky)
              for (int64_t kx = 0; kx < K; ++kx) {
                const int64_t sy = y + ky - 1, sx = xx + kx - 1;
                if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
                acc += (static_cast<int64_t>(x[((i * C + c) * H + sy) * W + sx]) - x_zp) *
                       static_cast<int64_t>(w[((o * C + c) * K + ky) * K + kx]);
              }
          want[((i * H + y) * W + xx) * O + o] = requant(acc, x_scale * w_scale[o] / y_scale, y_zp, 0, 255);
        }
  const std::vector<int> got = run_on_chip(path, x_nhwc, 128, 128);
  ASSERT_EQ(got.size(), want.size());
  int distinct = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i], want[i]) << "y[" << i << "] (NHWC)";
    distinct += want[i] != want[0];
  }
  EXPECT_GT(distinct, 0) << "a constant output would prove little";
}

onnx::ModelProto qmatmul(const std::vector<double>& w, double w_zp, int64_t M, int64_t K, int64_t N) {
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("qmatmul");
  add_value(g->add_input(), "a", TensorProto::INT8, {M, K});
  add_value(g->add_output(), "y", TensorProto::INT8, {M, N});
  add_tensor(g, "a_scale", TensorProto::FLOAT, {}, {0.05});
  add_tensor(g, "a_zp", TensorProto::INT8, {}, {-7});
  add_tensor(g, "b", TensorProto::INT8, {K, N}, w);
  add_tensor(g, "b_scale", TensorProto::FLOAT, {}, {0.0131});
  add_tensor(g, "b_zp", TensorProto::INT8, {}, {w_zp});
  add_tensor(g, "y_scale", TensorProto::FLOAT, {}, {0.097});
  add_tensor(g, "y_zp", TensorProto::INT8, {}, {3});
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("QLinearMatMul");
  n->set_name("qmm1");
  for (const char* in : {"a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"}) n->add_input(in);
  n->add_output("y");
  return m;
}

// w - w_zp leaves int8 for some weights: the chip sums two weight planes.
TEST(OnnxInteger, QLinearMatMulWithAWeightZeroPointEqualsTheSpec) {
  const int64_t M = 3, K = 40, N = 9;
  const int w_zp = 5;
  std::mt19937 rng(11);
  const std::vector<double> a = uniform(rng, M * K, -128, 127);
  const std::vector<double> w = uniform(rng, K * N, -128, 127);
  onnx::ModelProto m = qmatmul(w, w_zp, M, K, N);
  const std::string path = save(m, "qmatmul");
  std::vector<int> want;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += (static_cast<int64_t>(a[i * K + k]) + 7) * (static_cast<int64_t>(w[k * N + j]) - w_zp);
      want.push_back(requant(acc, 0.05 * 0.0131 / 0.097, 3, -128, 127));
    }
  const compiler::Graph graph = compiler::load_onnx(path);
  ASSERT_EQ(graph.layers.size(), 3u);
  EXPECT_EQ(graph.layers[1].name, "qmm1.planes");
  EXPECT_EQ(graph.layers[2].given->weights.size(), static_cast<size_t>(2 * K * N));
  const std::vector<int> got = run_on_chip(path, std::vector<int>(a.begin(), a.end()), 0, 0);
  ASSERT_EQ(got, want);
  // Two planes run on the array, but the network's work is one M x K x N product.
  const compiler::Compiled c = compiler::compile_model(path, load_params("configs/tiny.yaml"));
  EXPECT_EQ(c.lowered.report.layers[2].macs, static_cast<uint64_t>(M * K * N));
}

TEST(OnnxInteger, GroupedWeightsThatLeaveInt8WithTheirZeroPointAreRefusedByNode) {
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("qgroups");
  add_value(g->add_input(), "x", TensorProto::UINT8, {1, 4, 3, 3});
  add_value(g->add_output(), "y", TensorProto::UINT8, {1, 2, 3, 3});
  std::vector<double> w(2 * 2, 100);
  w[3] = 0;  // 0 - 200 = -200
  add_tensor(g, "s", TensorProto::FLOAT, {}, {0.1});
  add_tensor(g, "zp", TensorProto::UINT8, {}, {128});
  add_tensor(g, "w", TensorProto::UINT8, {2, 2, 1, 1}, w);
  add_tensor(g, "w_zp", TensorProto::UINT8, {}, {200});
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("QLinearConv");
  n->set_name("grouped1");
  for (const char* in : {"x", "s", "zp", "w", "s", "w_zp", "s", "zp"}) n->add_input(in);
  n->add_output("y");
  auto* group = n->add_attribute();
  group->set_name("group");
  group->set_type(onnx::AttributeProto::INT);
  group->set_i(2);
  const std::string path = save(m, "qgroups");
  try {
    compiler::load_onnx(path);
    FAIL() << "accepted";
  } catch (const compiler::ModelError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("grouped1"), std::string::npos) << what;
    EXPECT_NE(what.find("grouped weights minus their zero point must fit int8"), std::string::npos) << what;
  }
}

// ConvInteger's int32 sums leave the chip whole (act raw), uint8 input with
// its zero point in the padding, uint8 weights with theirs in two planes.
TEST(OnnxInteger, ConvIntegerSumsEqualTheSpecAndTheInterpreter) {
  const int64_t C = 3, H = 5, W = 4, O = 5;
  const int x_zp = 100, w_zp = 90;
  std::mt19937 rng(3);
  const std::vector<double> x = uniform(rng, C * H * W, 0, 255), w = uniform(rng, O * C * 9, 0, 255);
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("convinteger");
  add_value(g->add_input(), "x", TensorProto::UINT8, {1, C, H, W});
  add_value(g->add_output(), "y", TensorProto::INT32, {1, O, H, W});
  add_tensor(g, "w", TensorProto::UINT8, {O, C, 3, 3}, w);
  add_tensor(g, "x_zp", TensorProto::UINT8, {}, {double(x_zp)});
  add_tensor(g, "w_zp", TensorProto::UINT8, {}, {double(w_zp)});
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("ConvInteger");
  n->set_name("ci");
  for (const char* in : {"x", "w", "x_zp", "w_zp"}) n->add_input(in);
  n->add_output("y");
  pad_by_one(n);
  const std::string path = save(m, "convinteger");

  std::vector<int> x_nhwc(x.size());
  std::vector<int32_t> want(static_cast<size_t>(H * W * O));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t xx = 0; xx < W; ++xx) x_nhwc[(y * W + xx) * C + c] = static_cast<int>(x[(c * H + y) * W + xx]);
  for (int64_t o = 0; o < O; ++o)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t xx = 0; xx < W; ++xx) {
        int64_t acc = 0;
        for (int64_t c = 0; c < C; ++c)
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t sy = y + ky - 1, sx = xx + kx - 1;
              if (sy < 0 || sy >= H || sx < 0 || sx >= W) continue;
              acc += (static_cast<int64_t>(x[(c * H + sy) * W + sx]) - x_zp) *
                     (static_cast<int64_t>(w[((o * C + c) * 3 + ky) * 3 + kx]) - w_zp);
            }
        want[static_cast<size_t>((y * W + xx) * O + o)] = static_cast<int32_t>(acc);
      }
  const std::vector<int> got = run_on_chip(path, x_nhwc, 128, 0);
  ASSERT_EQ(got, std::vector<int>(want.begin(), want.end()));

  // The int8 interpreter's sums agree too.
  auto graph = std::make_unique<compiler::Graph>(compiler::load_onnx(path));
  const compiler::Compiled c = compiler::compile_graph(std::move(graph), load_params("configs/tiny.yaml"));
  std::vector<int8_t> q;
  for (int v : x_nhwc) q.push_back(static_cast<int8_t>(v - 128));
  std::vector<std::vector<int32_t>> wide;
  compiler::run_int8(c.qgraph, q, &wide);
  EXPECT_EQ(wide.back(), want);
  EXPECT_THROW(compiler::run_int8(c.qgraph, q), compiler::ModelError);

  // Every whm writes inside the output tensor's host range, 4 bytes per element.
  const isa::TensorDesc& out = c.lowered.program.tensors.back();
  ASSERT_EQ(out.dtype, isa::DType::kI32);
  const uint64_t end = out.addr + static_cast<uint64_t>(out.elements()) * 4;
  int writes = 0;
  for (const isa::Word& word : c.lowered.program.text) {
    if (static_cast<isa::Opcode>(word.get(0, isa::kOpcodeBits)) != isa::Opcode::whm) continue;
    isa::HostDmaArgs d;
    isa::unpack(word, d);
    ++writes;
    EXPECT_GE(d.host, out.addr);
    EXPECT_LE(d.host + (d.repeat - 1) * d.host_stride + d.len, end);
  }
  EXPECT_GT(writes, 0);
  // ... and nothing else in the host image (per-lane tables, constants) lies there.
  for (const auto& [at, bytes] : c.lowered.program.host.segments())
    EXPECT_TRUE(at >= end || at + bytes.size() <= out.addr) << "host segment at " << at << " overlaps the output";
}

TEST(OnnxInteger, AnInt32ResultReadByAnotherNodeIsRefusedByLayer) {
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("chained");
  add_value(g->add_input(), "a", TensorProto::INT8, {2, 4});
  add_value(g->add_output(), "y", TensorProto::INT8, {2, 3});
  add_tensor(g, "b", TensorProto::INT8, {4, 3}, std::vector<double>(12, 1));
  add_tensor(g, "one", TensorProto::FLOAT, {}, {1});
  add_tensor(g, "zero", TensorProto::INT8, {}, {0});
  add_tensor(g, "b2", TensorProto::INT8, {3, 3}, std::vector<double>(9, 1));
  onnx::NodeProto* mi = g->add_node();
  mi->set_op_type("MatMulInteger");
  mi->set_name("mi");
  for (const char* in : {"a", "b", "zero"}) mi->add_input(in);
  mi->add_output("s");
  onnx::NodeProto* qm = g->add_node();
  qm->set_op_type("QLinearMatMul");
  qm->set_name("qm");
  for (const char* in : {"s", "one", "zero", "b2", "one", "zero", "one", "zero"}) qm->add_input(in);
  qm->add_output("y");
  auto graph = std::make_unique<compiler::Graph>(compiler::load_onnx(save(m, "chained")));
  try {
    compiler::compile_graph(std::move(graph), load_params("configs/tiny.yaml"));
    FAIL() << "accepted";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'qm'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("reads the int32 output of 'mi'"), std::string::npos) << e.what();
  }
}

// A constant operand of Add is broadcast in ONNX's NCHW order, then held in the chip's NHWC.
TEST(OnnxImport, AConstantOperandIsBroadcastPerChannel) {
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("add_channels");
  add_value(g->add_input(), "x", TensorProto::FLOAT, {1, 2, 2, 3});
  add_value(g->add_output(), "y", TensorProto::FLOAT, {1, 2, 2, 3});
  add_tensor(g, "c", TensorProto::FLOAT, {1, 2, 1, 1}, {10, 20});
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("Add");
  n->set_name("add");
  for (const char* in : {"c", "x"}) n->add_input(in);
  n->add_output("y");
  const compiler::Graph graph = compiler::load_onnx(save(m, "add_channels"));
  ASSERT_EQ(graph.layers.size(), 3u);
  EXPECT_EQ(graph.layers[1].op, compiler::Op::kConstant);
  EXPECT_EQ(graph.layers[1].shape, (std::vector<int64_t>{1, 2, 3, 2}));
  std::vector<float> want;
  for (int p = 0; p < 6; ++p) want.insert(want.end(), {10, 20});
  EXPECT_EQ(graph.layers[1].weights, want);
  EXPECT_EQ(graph.layers[2].inputs, (std::vector<int>{0, 1}));
  EXPECT_EQ(compiler::load_onnx(save(m, "add_channels"), 3).layers[1].weights.size(), 36u) << "a --batch of 3";

  // The same for every sample, it follows a new batch (sub-batch passes, --batch).
  const compiler::Graph three = compiler::with_batch(graph, 3);
  EXPECT_EQ(three.layers[1].shape, (std::vector<int64_t>{3, 2, 3, 2}));
  std::vector<float> thrice;
  for (int i = 0; i < 3; ++i) thrice.insert(thrice.end(), want.begin(), want.end());
  EXPECT_EQ(three.layers[1].weights, thrice);
  EXPECT_EQ(compiler::with_batch(three, 2).layers[1].weights.size(), 24u);
  compiler::Graph differing = three;
  differing.layers[1].weights[13] = 5;
  EXPECT_THROW(compiler::with_batch(differing, 2), compiler::ModelError);
}

// An initializer with fewer values than its dims is refused by name (it was read past its end).
TEST(OnnxImport, AShortInitializerIsRefusedByName) {
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("short");
  add_value(g->add_input(), "x", TensorProto::FLOAT, {1, 2, 2, 3});
  add_value(g->add_output(), "y", TensorProto::FLOAT, {1, 2, 2, 3});
  add_tensor(g, "c", TensorProto::FLOAT, {1, 2, 1, 1}, {10});
  onnx::NodeProto* n = g->add_node();
  n->set_op_type("Add");
  n->set_name("add");
  for (const char* in : {"c", "x"}) n->add_input(in);
  n->add_output("y");
  try {
    compiler::load_onnx(save(m, "short"));
    FAIL() << "accepted";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("initializer 'c': 1 values for 2 elements"), std::string::npos) << e.what();
  }
}

// Flatten, then a function, then Gemm: the Gemm's weight rows still follow ONNX's C, H, W feature order.
TEST(OnnxImport, AFunctionBetweenFlattenAndGemmKeepsTheFeatureOrder) {
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("flatten_relu_gemm");
  add_value(g->add_input(), "x", TensorProto::FLOAT, {1, 2, 2, 2});
  add_value(g->add_output(), "y", TensorProto::FLOAT, {1, 3});
  std::vector<double> w(24);
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(1.1 * static_cast<double>(i));
  add_tensor(g, "w", TensorProto::FLOAT, {8, 3}, w);
  const char* chain[][3] = {{"Flatten", "x", "f"}, {"Relu", "f", "r"}, {"MatMul", "r", "y"}};
  for (const auto& [op, in, out] : chain) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->add_input(in);
    if (std::string(op) == "MatMul") n->add_input("w");
    n->add_output(out);
  }
  const compiler::Graph graph = compiler::load_onnx(save(m, "flatten_relu_gemm"));
  std::vector<float> x(8);  // NCHW
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 3) - 0.5f;
  const std::vector<float> got = compiler::run_float(graph, compiler::to_nhwc(x, {1, 2, 2, 2})).post.back();
  for (int j = 0; j < 3; ++j) {
    double want = 0;
    for (int f = 0; f < 8; ++f) want += std::max(0.0f, x[static_cast<size_t>(f)]) * w[static_cast<size_t>(f * 3 + j)];
    EXPECT_NEAR(got[static_cast<size_t>(j)], want, 1e-5) << j;
  }
}

// A program's output tensor has the graph's name for it, not the node's (PyTorch names nodes
// "/fc/Gemm"): it is what a user asks for. A node of that name computing another tensor is refused.
TEST(OnnxImport, OutputsAreNamedAsTheGraphNamesThem) {
  const auto model = [](const std::string& first_node) {
    onnx::ModelProto m;
    onnx::GraphProto* g = m.mutable_graph();
    g->set_name("named_output");
    add_value(g->add_input(), "input", TensorProto::FLOAT, {1, 4});
    add_value(g->add_output(), "output", TensorProto::FLOAT, {1, 3});
    add_tensor(g, "w1", TensorProto::FLOAT, {4, 4}, std::vector<double>(16, 0.25));
    add_tensor(g, "w2", TensorProto::FLOAT, {4, 3}, std::vector<double>(12, -0.5));
    const char* chain[][4] = {{first_node.c_str(), "input", "w1", "h"}, {"/fc/Gemm", "h", "w2", "output"}};
    for (const auto& [name, in, w, out] : chain) {
      onnx::NodeProto* n = g->add_node();
      n->set_name(name);
      n->set_op_type("MatMul");
      n->add_input(in);
      n->add_input(w);
      n->add_output(out);
    }
    return save(m, "named_output");
  };
  const compiler::Graph graph = compiler::load_onnx(model("/fc1/MatMul"));
  ASSERT_EQ(graph.outputs.size(), 1u);
  EXPECT_EQ(graph.output_name(0), "output");
  EXPECT_EQ(graph.layers[static_cast<size_t>(graph.outputs[0])].name, "/fc/Gemm") << "messages name the node";
  const compiler::Compiled c = compiler::compile_model(model("/fc1/MatMul"), load_params("configs/tiny.yaml"));
  size_t outputs = 0;
  for (const isa::TensorDesc& t : c.lowered.program.tensors)
    if (t.role == isa::TensorRole::kOutput) {
      ++outputs;
      EXPECT_EQ(t.name, "output");
    }
  EXPECT_EQ(outputs, 1u);
  try {
    compiler::load_onnx(model("output"));
    ADD_FAILURE() << "a node named as the output, computing another tensor, was accepted";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("output 'output' is also the name of node 'output'"), std::string::npos)
        << e.what();
  }
}

// An ONNX model's float Gemm and MatMul layers go to the sparse engine as a YAML model's dense
// layers do (`--sparse all`), compressed, bit-exact against the interpreter.
TEST(OnnxImport, FloatMatMulsRunOnTheSparseEngine) {
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("two_matmuls");
  add_value(g->add_input(), "x", TensorProto::FLOAT, {1, 64});
  add_value(g->add_output(), "y", TensorProto::FLOAT, {1, 10});
  std::mt19937 rng(9);
  add_tensor(g, "w1", TensorProto::FLOAT, {64, 48}, uniform(rng, 64 * 48, -50, 50));
  add_tensor(g, "w2", TensorProto::FLOAT, {48, 10}, uniform(rng, 48 * 10, -50, 50));
  const char* chain[][4] = {{"MatMul", "x", "w1", "h"}, {"Relu", "h", "", "r"}, {"MatMul", "r", "w2", "y"}};
  for (const auto& [op, a, b, out] : chain) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->add_input(a);
    if (*b) n->add_input(b);
    n->add_output(out);
  }
  const sim::ChipParams params = load_params("configs/eie.yaml");
  compiler::CompileOptions o;
  o.sparse = compiler::CompileOptions::Sparse::kAll;
  o.density = 0.2;
  const compiler::Compiled c = compiler::compile_model(save(m, "two_matmuls"), params, o);
  int sparse = 0;
  for (const compiler::LayerReport& l : c.lowered.report.layers) sparse += l.sparse;
  EXPECT_EQ(sparse, 2);
  EXPECT_GT(expect_bit_exact(c, params, "onnx on the sparse engine").stat("sparse_engine", "macs"), 0u);
}

// Malformed or unsupported nodes are refused by node, never read out of range.
TEST(OnnxImport, InconsistentNodesAreRefusedByName) {
  struct Case {
    const char* what;
    std::vector<int64_t> w_dims;
    std::vector<double> bias;
    std::vector<int64_t> strides;
    const char* message;
  };
  const Case cases[] = {
      {"channels", {2, 5, 3, 3}, {}, {}, "the weights take 5 x group=1 input channels; the input has 3"},
      {"bias", {2, 3, 3, 3}, {1, 2, 3}, {}, "the bias needs one value per output channel"},
      {"strides", {2, 3, 3, 3}, {}, {2}, "strides and dilations need one value per spatial axis"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    onnx::ModelProto m;
    onnx::GraphProto* g = m.mutable_graph();
    g->set_name("bad_conv");
    add_value(g->add_input(), "x", TensorProto::FLOAT, {1, 3, 5, 5});
    add_value(g->add_output(), "y", TensorProto::FLOAT, {1, 2, 3, 3});
    add_tensor(g, "w", TensorProto::FLOAT, c.w_dims,
               std::vector<double>(static_cast<size_t>(compiler::elements(c.w_dims)), 0.5));
    onnx::NodeProto* n = g->add_node();
    n->set_op_type("Conv");
    n->set_name("conv9");
    n->add_input("x");
    n->add_input("w");
    if (!c.bias.empty()) {
      add_tensor(g, "b", TensorProto::FLOAT, {static_cast<int64_t>(c.bias.size())}, c.bias);
      n->add_input("b");
    }
    if (!c.strides.empty()) {
      auto* st = n->add_attribute();
      st->set_name("strides");
      st->set_type(onnx::AttributeProto::INTS);
      for (int64_t v : c.strides) st->add_ints(v);
    }
    n->add_output("y");
    try {
      compiler::load_onnx(save(m, std::string("bad_conv_") + c.what));
      ADD_FAILURE() << "accepted";
    } catch (const compiler::ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("node 'conv9' (Conv): "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

// ONNX applies a function to an integer tensor's raw values; the chip's output range does the clipping.
TEST(OnnxInteger, AFunctionOfAnIntegerOutputIsRefusedByNode) {
  onnx::ModelProto m = qmatmul(std::vector<double>(4 * 2, 1), 0, 1, 4, 2);
  onnx::GraphProto* g = m.mutable_graph();
  g->mutable_node(0)->set_output(0, "q");
  onnx::NodeProto* r = g->add_node();
  r->set_op_type("Relu");
  r->set_name("relu1");
  r->add_input("q");
  r->add_output("y");
  try {
    compiler::load_onnx(save(m, "qmatmul_relu"));
    FAIL() << "accepted";
  } catch (const compiler::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'relu1' (Relu): a function of an integer operator's output"),
              std::string::npos)
        << e.what();
  }
}

TEST(OnnxImport, BatchNormalizationFoldsIntoTheConvBefore) {
  const int64_t C = 2, H = 4, W = 3, O = 3;
  onnx::ModelProto m;
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("conv_bn");
  add_value(g->add_input(), "x", TensorProto::FLOAT, {1, C, H, W});
  add_value(g->add_output(), "y", TensorProto::FLOAT, {1, O, H, W});
  std::vector<double> w(static_cast<size_t>(O * C * 9));
  for (size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.7 * static_cast<double>(i));
  const std::vector<double> bias = {0.1, -0.2, 0.3}, gamma = {1.5, 0.5, -2}, beta = {0.25, 0, -1},
                            mean = {0.2, -0.1, 0.4}, var = {0.5, 2, 1.25};
  add_tensor(g, "w", TensorProto::FLOAT, {O, C, 3, 3}, w);
  add_tensor(g, "b", TensorProto::FLOAT, {O}, bias);
  add_tensor(g, "gamma", TensorProto::FLOAT, {O}, gamma);
  add_tensor(g, "beta", TensorProto::FLOAT, {O}, beta);
  add_tensor(g, "mean", TensorProto::FLOAT, {O}, mean);
  add_tensor(g, "var", TensorProto::FLOAT, {O}, var);
  onnx::NodeProto* conv = g->add_node();
  conv->set_op_type("Conv");
  conv->set_name("conv");
  for (const char* in : {"x", "w", "b"}) conv->add_input(in);
  conv->add_output("c");
  pad_by_one(conv);
  onnx::NodeProto* bn = g->add_node();
  bn->set_op_type("BatchNormalization");
  bn->set_name("bn");
  for (const char* in : {"c", "gamma", "beta", "mean", "var"}) bn->add_input(in);
  bn->add_output("y");
  const compiler::Graph graph = compiler::load_onnx(save(m, "conv_bn"));
  ASSERT_EQ(graph.layers.size(), 2u) << "the batch norm did not fold";

  std::vector<float> x(static_cast<size_t>(C * H * W));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::cos(1.3 * static_cast<double>(i)));
  const std::vector<float> got = compiler::run_float(graph, compiler::to_nhwc(x, {1, C, H, W})).post[1];
  for (int64_t o = 0; o < O; ++o)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t xx = 0; xx < W; ++xx) {
        double acc = bias[o];
        for (int64_t c = 0; c < C; ++c)
          for (int64_t ky = 0; ky < 3; ++ky)
            for (int64_t kx = 0; kx < 3; ++kx) {
              const int64_t sy = y + ky - 1, sx = xx + kx - 1;
              if (sy >= 0 && sy < H && sx >= 0 && sx < W)
                acc += x[static_cast<size_t>((c * H + sy) * W + sx)] *
                       w[static_cast<size_t>(((o * C + c) * 3 + ky) * 3 + kx)];
            }
        const double want = gamma[o] * (acc - mean[o]) / std::sqrt(var[o] + 1e-5) + beta[o];
        EXPECT_NEAR(got[static_cast<size_t>((y * W + xx) * O + o)], want, 1e-4) << o << " " << y << " " << xx;
      }
}

}  // namespace
}  // namespace tpu::test
