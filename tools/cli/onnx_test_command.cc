// tpusim onnx-test: ONNX backend conformance cases on the chip. A case is a
// folder with model.onnx and test_data_set_N/{input,output}_K.pb. The first
// graph input is the data; any further inputs (weights, in operator tests)
// are bound as constants. The model is compiled for the chip, calibrated on
// the case's own input, run, and its outputs dequantized and compared:
// within 3 output quantization steps plus 2% of the largest expected value
// (int8 quantization of float operators). Where the int8 input itself loses
// what the output depends on (softmax of [0, 1, 2, 3, 10000, ...]), a case
// still passes when both halves of the difference are accounted for: the
// float interpreter on the exact input matches ONNX's output (the semantics),
// and the chip matches the float interpreter on the input as the chip holds
// it (the quantized execution); the input's int8 rounding is all that
// remains. Integer operators (QLinearConv,
// QLinearMatMul, ConvInteger, MatMulInteger) carry their own quantization and
// must match exactly. Operators outside the chip are
// reported as unsupported and skipped.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/isolated_run.h"
#include "tools/cli/commands.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"
#include "tools/compiler/onnx_import.h"

namespace tpu::cli {

namespace {

namespace fs = std::filesystem;

struct OnnxTestArgs {
  std::vector<std::string> cases;
  std::string config = "configs/tpu_v1.yaml";
};

bool is_integer(const compiler::OnnxTensor& t) {
  return t.data_type == 2 || t.data_type == 3 || t.data_type == 6;
}  // UINT8, INT8, INT32

// uint8 tensors are held shifted by -128 as int8.
int int8_offset(const compiler::OnnxTensor& t) { return t.data_type == 2 ? 128 : 0; }

enum class Verdict { kPass, kFail, kUnsupported };

Verdict run_case(const fs::path& dir, const sim::ChipParams& chip, std::string* why) {
  const std::string model = (dir / "model.onnx").string();
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (!fs::exists(model) || sets.empty()) {
    *why = "no model.onnx or test_data_set_* in " + dir.string();
    return Verdict::kFail;
  }
  for (const fs::path& set : sets) {
    std::vector<std::string> names;
    try {
      names = compiler::onnx_inputs(model);
    } catch (const compiler::ModelError& e) {
      *why = e.what();
      return Verdict::kUnsupported;
    }
    std::map<std::string, compiler::OnnxTensor> bound;
    compiler::OnnxTensor x, expected;
    compiler::Compiled c;
    std::vector<float> input;
    std::vector<int8_t> q;
    try {
      for (size_t i = 1; i < names.size(); ++i)
        bound[names[i]] = compiler::read_onnx_tensor((set / ("input_" + std::to_string(i) + ".pb")).string());
      x = compiler::read_onnx_tensor((set / "input_0.pb").string());
      expected = compiler::read_onnx_tensor((set / "output_0.pb").string());
      auto graph = std::make_unique<compiler::Graph>(compiler::load_onnx(model, 0, bound));
      input = graph->layers[0].is_image() ? compiler::to_nhwc(x.values, x.dims) : x.values;
      if (x.data_type == 6) throw compiler::ModelError(model + ": an int32 input does not enter the chip");
      if (is_integer(x)) {
        // The model quantizes its input itself: the chip takes it as it is.
        const auto& given = graph->layers[0].given;
        if (!given) throw compiler::ModelError(model + ": an integer input needs an integer operator to read it");
        for (float& v : input) {
          q.push_back(static_cast<int8_t>(v - int8_offset(x)));
          v = static_cast<float>(given->scale * (q.back() - given->zp));
        }
      }
      compiler::CompileOptions options;
      options.calibration = input;
      c = compiler::compile_graph(std::move(graph), chip, options);
    } catch (const compiler::ModelError& e) {
      *why = e.what();
      return Verdict::kUnsupported;
    }
    if (q.empty()) q = compiler::quantize_input(c.qgraph, input);
    sim::IsolatedOptions options;
    options.compute_values = true;
    options.memories = false;
    options.inputs[c.graph->layers[0].name] = std::vector<uint8_t>(q.begin(), q.end());
    const sim::IsolatedRun run = sim::run_isolated(chip, c.lowered.program, options);
    if (!run.halted()) {
      *why = "the chip faulted: " + run.result["fault"]["reason"].get<std::string>();
      return Verdict::kFail;
    }
    const int out = c.graph->outputs[0];
    const auto& desc = run.result["outputs"][c.graph->output_name(0)];
    const compiler::Layer& last = c.graph->layers[static_cast<size_t>(out)];
    auto onnx_order = [&](std::vector<float> v) {
      if (last.is_image()) return compiler::to_nchw(v, expected.dims);
      if (last.op != compiler::Op::kFlatten) return v;
      // A flattened image: the chip orders its features H, W, C; ONNX C, H, W.
      const auto& in = c.graph->layers[static_cast<size_t>(last.inputs[0])].shape;
      return compiler::to_nchw(v, {in[0], in[3], in[1], in[2]});
    };
    std::vector<float> got;
    // Integer outputs compare exactly, float ones once dequantized.
    const bool exact = is_integer(expected);
    for (const auto& v : desc["values"])
      got.push_back(
          exact ? static_cast<float>(v.get<int>() + int8_offset(expected))
                : static_cast<float>(desc["scale"].get<double>() * (v.get<int>() - desc["zero_point"].get<int>())));
    got = onnx_order(got);
    if (got.size() != expected.values.size()) {
      *why = "the chip's output has " + std::to_string(got.size()) + " values, the expected " +
             std::to_string(expected.values.size());
      return Verdict::kFail;
    }
    const double step = exact ? 0 : desc["scale"].get<double>();
    // "" if `a` is within 3 steps plus 2% of the largest value of `want`, else the first difference.
    auto differs = [&](const std::vector<float>& a, const std::vector<float>& want, const char* what) -> std::string {
      float largest = 0;
      for (float e : want) largest = std::max(largest, std::fabs(e));
      const double tolerance = 3 * step + 0.02 * largest;
      for (size_t i = 0; i < a.size(); ++i)
        if (std::fabs(a[i] - want[i]) > (exact ? 0 : tolerance)) {
          char buf[240];
          std::snprintf(buf, sizeof buf, "%s: value %zu is %.6g, %s %.6g (tolerance %.3g)",
                        set.filename().string().c_str(), i, a[i], what, want[i], tolerance);
          return buf;
        }
      return "";
    };
    *why = differs(got, expected.values, "expected");
    if (why->empty()) continue;
    if (exact) return Verdict::kFail;
    std::vector<float> held(q.size());  // the input as the chip holds it
    for (size_t i = 0; i < q.size(); ++i)
      held[i] = static_cast<float>(c.qgraph.layers[0].scale * (q[i] - c.qgraph.layers[0].zp));
    // The float model again, with its weights (compiling dropped them); only a case that needs it pays.
    const compiler::Graph float_graph = compiler::load_onnx(model, 0, bound);
    const std::string semantics =
        differs(onnx_order(compiler::run_float(float_graph, input).post[static_cast<size_t>(out)]), expected.values,
                "the float interpreter's vs ONNX's");
    const std::string execution =
        differs(got, onnx_order(compiler::run_float(float_graph, held).post[static_cast<size_t>(out)]),
                "on the int8 input the float interpreter gives");
    if (!semantics.empty() || !execution.empty()) {
      *why += "; " + (semantics.empty() ? execution : semantics);
      return Verdict::kFail;
    }
    why->clear();
  }
  return Verdict::kPass;
}

}  // namespace

void add_onnx_test_command(CLI::App& app) {
  auto args = std::make_shared<OnnxTestArgs>();
  CLI::App* cmd =
      app.add_subcommand("onnx-test", "Run ONNX backend test cases (model.onnx + test_data_set_N) on the chip");
  cmd->add_option("cases", args->cases, "Case folders")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("-c,--config", args->config, "Chip configuration")->check(CLI::ExistingFile);
  cmd->callback([args] {
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(args->config));
    int passed = 0, failed = 0, skipped = 0;
    for (const std::string& dir : args->cases) {
      std::string why;
      const Verdict v = run_case(dir, chip, &why);
      fs::path folder(dir);
      if (folder.filename().empty()) folder = folder.parent_path();  // "case/" names the case too
      const std::string name = folder.filename().string();
      if (v == Verdict::kPass) {
        ++passed;
        std::cout << "PASS " << name << "\n";
      } else if (v == Verdict::kFail) {
        ++failed;
        std::cout << "FAIL " << name << ": " << why << "\n";
      } else {
        ++skipped;
        std::cout << "UNSUPPORTED " << name << ": " << why << "\n";
      }
    }
    std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
    if (failed) throw CommandExit{1};
  });
}

}  // namespace tpu::cli
