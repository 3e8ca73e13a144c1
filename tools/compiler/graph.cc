#include "tools/compiler/graph.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include <filesystem>

#include "isa/text.h"
#include "tools/compiler/onnx_import.h"
#include "tools/tensor_io/npy.h"

namespace tpu::compiler {

const char* op_name(Op op) {
  switch (op) {
    case Op::kInput: return "input";
    case Op::kDense: return "dense";
    case Op::kConv2d: return "conv2d";
    case Op::kMaxPool: return "maxpool";
    case Op::kAvgPool: return "avgpool";
    case Op::kGlobalAvgPool: return "global_avgpool";
    case Op::kAdd: return "add";
    case Op::kMul: return "mul";
    case Op::kConcat: return "concat";
    case Op::kActivation: return "activation";
    case Op::kZeros: return "zeros";
    case Op::kConstant: return "constant";
    case Op::kFlatten: return "flatten";
    case Op::kMatMul: return "matmul";
    case Op::kSoftmax: return "softmax";
    case Op::kLayerNorm: return "layernorm";
    case Op::kToken: return "token";
  }
  return "?";
}

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int Graph::find(const std::string& layer) const {
  for (size_t i = 0; i < layers.size(); ++i)
    if (layers[i].name == layer) return static_cast<int>(i);
  return -1;
}

std::string Graph::where(const Layer& l) const {
  return file + ": layer '" + l.name + "'" + (l.line ? " (line " + std::to_string(l.line) + ")" : "") + ": ";
}

namespace {

// Tensors up to 2^32 elements (shapes beyond are mistakes, and their product could overflow).
void check_size(const std::vector<int64_t>& shape, const std::string& where, const char* what) {
  constexpr int64_t kLimit = int64_t{1} << 32;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > kLimit / d))
      throw ModelError(where + what +
                       " would hold more than 2^32 elements; the compiler takes tensors up to that size");
    n *= d;
  }
}

const std::vector<std::pair<std::string, Op>> kOps = {{"dense", Op::kDense},
                                                      {"conv2d", Op::kConv2d},
                                                      {"maxpool", Op::kMaxPool},
                                                      {"avgpool", Op::kAvgPool},
                                                      {"global_avgpool", Op::kGlobalAvgPool},
                                                      {"add", Op::kAdd},
                                                      {"flatten", Op::kFlatten},
                                                      {"mul", Op::kMul},
                                                      {"concat", Op::kConcat},
                                                      {"activation", Op::kActivation},
                                                      {"zeros", Op::kZeros},
                                                      {"lstm", Op::kInput},
                                                      {"matmul", Op::kMatMul},
                                                      {"softmax", Op::kSoftmax},
                                                      {"layernorm", Op::kLayerNorm},
                                                      {"token", Op::kToken}};

const std::vector<std::pair<std::string, isa::ActFunc>> kActs = {
    {"identity", isa::ActFunc::identity}, {"relu", isa::ActFunc::relu}, {"relu6", isa::ActFunc::relu6},
    {"sigmoid", isa::ActFunc::sigmoid},   {"tanh", isa::ActFunc::tanh}, {"gelu", isa::ActFunc::gelu}};

template <class T>
const T* lookup(const std::vector<std::pair<std::string, T>>& table, const std::string& key) {
  for (const auto& [k, v] : table)
    if (k == key) return &v;
  return nullptr;
}

template <class T>
std::string choices(const std::vector<std::pair<std::string, T>>& table, const std::string& word) {
  std::vector<std::string_view> names;
  std::string list;
  for (const auto& [k, v] : table) {
    names.push_back(k);
    list += (list.empty() ? "" : ", ") + k;
  }
  return isa::did_you_mean(word, names) + " (one of " + list + ")";
}

// One or two integers: `3` or `[3, 2]`.
std::pair<int64_t, int64_t> pair_of(const YAML::Node& n, const std::string& where, const char* key) {
  try {
    if (n.IsScalar()) return {n.as<int64_t>(), n.as<int64_t>()};
    if (n.IsSequence() && n.size() == 2) return {n[0].as<int64_t>(), n[1].as<int64_t>()};
  } catch (const YAML::Exception&) {
  }
  throw ModelError(where + key + ": expected an integer or a pair [h, w]");
}

}  // namespace

namespace {

// Where a dense layer (or an lstm's gates) runs: `engine`, and on the sparse engine `density`,
// `bits` and `slices`.
void read_engine(const YAML::Node& node, const std::string& where, Layer* l) {
  if (node["engine"]) {
    const std::string e = node["engine"].as<std::string>();
    if (e != "sparse" && e != "matrix") throw ModelError(where + "engine '" + e + "' is not matrix or sparse");
    l->sparse = e == "sparse";
  }
  if ((node["density"] || node["bits"] || node["slices"]) && !l->sparse)
    throw ModelError(where + "`density`, `bits` and `slices` go with `engine: sparse`");
  if (node["slices"]) l->slices = node["slices"].as<bool>();
  if (node["density"]) {
    l->density = node["density"].as<double>();
    if (!(l->density > 0 && l->density <= 1)) throw ModelError(where + "density must lie in (0, 1]");
  }
  if (node["bits"]) {
    l->bits = node["bits"].as<int>();
    if (l->bits < 1 || l->bits > 4) throw ModelError(where + "bits must lie in [1, 4] (the sparse engine's 4-bit indices)");
  }
}

// The `lstm` op: one cell step (add_lstm_cell) on a vector input, or with
// `steps: T` one step per token of a sequence [N, 1, T, F], each from the
// state the step before left and with the same weights; the last layer
// carries the cell's name (the final h), so later layers can read it.
void expand_lstm(Graph& g, const YAML::Node& node, Layer proto) {
  const std::string where = g.where(proto);
  static const std::vector<std::string_view> known = {"name",   "op",      "input", "units", "steps",
                                                      "engine", "density", "bits",  "slices"};
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw ModelError(where + "unknown attribute '" + key + "' of lstm" + isa::did_you_mean(key, known));
  }
  if (!node["units"]) throw ModelError(where + "lstm needs `units`");
  read_engine(node, where, &proto);  // for its four gates
  const int64_t units = node["units"].as<int64_t>();
  const std::string x = node["input"] ? node["input"].as<std::string>() : g.layers.back().name;
  const int xi = g.find(x);
  if (xi < 0) throw ModelError(where + "input '" + x + "' is not an earlier layer");
  if (!node["steps"]) {
    add_lstm_cell(g, proto, xi, units);
    return;
  }
  const int64_t steps = node["steps"].as<int64_t>();
  if (steps <= 0 || steps > 4096) throw ModelError(where + "steps must lie in [1, 4096]");
  int h = -1, c = -1, first = -1;
  for (int64_t t = 0; t < steps; ++t) {
    Layer token;
    token.name = proto.name + ".x" + std::to_string(t);
    if (g.find(token.name) >= 0)
      throw ModelError(where + "the lstm's layer '" + token.name + "' would take the name of an earlier layer");
    token.op = Op::kToken;
    token.inputs = {xi};
    token.line = proto.line;
    token.index = t;
    g.layers.push_back(token);
    Layer step = proto;
    if (t + 1 < steps) step.name = proto.name + ".t" + std::to_string(t);
    const int gates = add_lstm_cell(g, step, static_cast<int>(g.layers.size()) - 1, units, h, c, first);
    if (first < 0) first = gates;
    h = static_cast<int>(g.layers.size()) - 1;
    c = g.find(step.name + ".c");
  }
}

}  // namespace

int add_lstm_cell(Graph& g, const Layer& proto, int xi, int64_t units, int h_prev, int c_prev, int shares) {
  auto add = [&](const std::string& suffix, Op op, std::vector<int> inputs, isa::ActFunc act = isa::ActFunc::identity) {
    Layer l;
    l.name = suffix.empty() ? proto.name : proto.name + "." + suffix;
    if (!suffix.empty() && g.find(l.name) >= 0)
      throw ModelError(g.where(proto) + "the lstm's layer '" + l.name + "' would take the name of an earlier layer");
    l.op = op;
    l.inputs = std::move(inputs);
    l.line = proto.line;
    l.units = units;
    l.act = act;
    if (op == Op::kDense) {  // a gate: where the lstm says
      l.sparse = proto.sparse;
      l.density = proto.density;
      l.bits = proto.bits;
      l.slices = proto.slices;
    }
    g.layers.push_back(l);
    return static_cast<int>(g.layers.size()) - 1;
  };
  const int h0 = h_prev >= 0 ? h_prev : add("h0", Op::kZeros, {xi});
  const int c0 = c_prev >= 0 ? c_prev : add("c0", Op::kZeros, {xi});
  const int xh = add("xh", Op::kConcat, {xi, h0});
  const int i = add("i", Op::kDense, {xh}, isa::ActFunc::sigmoid);
  const int f = add("f", Op::kDense, {xh}, isa::ActFunc::sigmoid);
  const int gg = add("g", Op::kDense, {xh}, isa::ActFunc::tanh);
  const int o = add("o", Op::kDense, {xh}, isa::ActFunc::sigmoid);
  if (shares >= 0)
    for (int k = 0; k < 4; ++k) g.layers[static_cast<size_t>(i + k)].shares = shares + k;
  const int fc = add("fc", Op::kMul, {f, c0});
  const int ig = add("ig", Op::kMul, {i, gg});
  const int c = add("c", Op::kAdd, {fc, ig});
  const int tc = add("tanh_c", Op::kActivation, {c}, isa::ActFunc::tanh);
  add("", Op::kMul, {o, tc});
  return i;
}

namespace {

// A layer's weights and bias from .npy files (float32): dense [K, N], conv2d
// [kh, kw, Cin / groups, Cout], layernorm gamma [C]; bias [N, Cout or C].
// Without a bias file the bias is zero.
void load_weights(Graph& g, Layer& l, const std::pair<std::string, std::string>& files) {
  const std::string where = g.where(l);
  const int64_t in = g.layers[static_cast<size_t>(l.inputs[0])].shape.back(), out = l.shape.back();
  const std::vector<int64_t> want_w = l.op == Op::kDense    ? std::vector<int64_t>{in, out}
                                      : l.op == Op::kConv2d ? std::vector<int64_t>{l.kh, l.kw, in / l.groups, out}
                                                            : std::vector<int64_t>{out};
  auto read = [&](const std::string& file, const std::vector<int64_t>& want) {
    tensor_io::Array a;
    g.files_read.push_back(file);
    try {
      a = tensor_io::read_npy(file);
    } catch (const tensor_io::TensorFileError& e) {
      throw ModelError(where + e.what());
    }
    auto text = [](const std::vector<int64_t>& s) {
      std::string t;
      for (int64_t d : s) t += (t.empty() ? "" : ", ") + std::to_string(d);
      return "[" + t + "]";
    };
    if (a.dtype != isa::DType::kF32)
      throw ModelError(where + file + ": weights must be float32, not " + std::string(isa::to_string(a.dtype)));
    if (a.shape != want)
      throw ModelError(where + file + ": shape " + text(a.shape) + ", the layer needs " + text(want));
    std::vector<float> v(a.bytes.size() / 4);
    std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
    for (float x : v)
      if (!std::isfinite(x)) throw ModelError(where + file + ": holds a value that is not a finite number");
    return v;
  };
  if (l.op == Op::kLayerNorm && (files.first.empty() || files.second.empty()))
    throw ModelError(where + "layernorm takes both `weights` (gamma) and `bias` (beta), or neither");
  if (files.first.empty()) throw ModelError(where + "`bias` needs `weights` too");
  l.weights = read(files.first, want_w);
  l.bias = files.second.empty() ? std::vector<float>(static_cast<size_t>(out), 0.0f) : read(files.second, {out});
}

}  // namespace

Graph load_model(const std::string& path, int64_t batch_override, bool generate) {
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".csv") == 0)
    return load_scalesim(path, batch_override, generate);
  if (path.size() > 5 && path.compare(path.size() - 5, 5, ".onnx") == 0) return load_onnx(path, batch_override);
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw ModelError(path + ": cannot open the model");
  } catch (const YAML::ParserException& e) {
    throw ModelError(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  Graph g;
  g.file = path;
  g.files_read.push_back(path);
  auto text = [&](const char* key) { return root[key] ? root[key].as<std::string>() : std::string(); };
  g.name = text("name");
  g.note = text("note");
  if (root["seed"]) g.seed = root["seed"].as<uint64_t>();
  const YAML::Node input = root["input"];
  if (!input || !input["shape"] || !input["shape"].IsSequence())
    throw ModelError(path + ": the model needs `input: {name: ..., shape: [batch, ...]}`");
  Layer in;
  in.name = input["name"] ? input["name"].as<std::string>() : "input";
  in.line = input.Mark().line + 1;
  for (const auto& d : input["shape"]) in.shape.push_back(d.as<int64_t>());
  if (batch_override > 0) in.shape[0] = batch_override;
  if (in.shape.size() != 2 && in.shape.size() != 4)
    throw ModelError(g.where(in) + "input shape must be [N, features] or [N, H, W, C]");
  for (int64_t d : in.shape)
    if (d <= 0) throw ModelError(g.where(in) + "input dimensions must be positive");
  check_size(in.shape, g.where(in), "the input");
  g.layers.push_back(in);

  std::map<std::string, std::pair<std::string, std::string>> weight_files;  // layer -> weights, bias .npy
  const YAML::Node layers = root["layers"];
  if (!layers || !layers.IsSequence() || layers.size() == 0) throw ModelError(path + ": the model has no `layers`");
  for (const auto& node : layers) {
    Layer l;
    l.line = node.Mark().line + 1;
    l.name = node["name"] ? node["name"].as<std::string>() : "layer" + std::to_string(g.layers.size());
    const std::string where = g.where(l);
    if (g.find(l.name) >= 0) throw ModelError(where + "the name is used twice");
    if (!node["op"]) throw ModelError(where + "missing `op`");
    const std::string op = node["op"].as<std::string>();
    if (op == "lstm") {
      expand_lstm(g, node, l);
      continue;
    }
    const Op* o = lookup(kOps, op);
    if (!o) throw ModelError(where + "unknown op '" + op + "'" + choices(kOps, op));
    l.op = *o;
    // Inputs by name; by default the previous layer.
    std::vector<std::string> names;
    if (node["inputs"])
      for (const auto& n : node["inputs"]) names.push_back(n.as<std::string>());
    else if (node["input"])
      names.push_back(node["input"].as<std::string>());
    else
      names.push_back(g.layers.back().name);
    for (const auto& n : names) {
      const int i = g.find(n);
      if (i < 0) {
        std::vector<std::string_view> known;
        for (const auto& prev : g.layers) known.push_back(prev.name);
        throw ModelError(where + "input '" + n + "' is not an earlier layer" + isa::did_you_mean(n, known));
      }
      l.inputs.push_back(i);
    }
    if (node["units"]) l.units = node["units"].as<int64_t>();
    if (node["filters"]) l.units = node["filters"].as<int64_t>();
    if (node["kernel"]) std::tie(l.kh, l.kw) = pair_of(node["kernel"], where, "kernel");
    if (node["stride"])
      std::tie(l.sh, l.sw) = pair_of(node["stride"], where, "stride");
    else if (l.op == Op::kMaxPool || l.op == Op::kAvgPool)
      std::tie(l.sh, l.sw) = std::pair{l.kh, l.kw};
    if (node["dilation"]) std::tie(l.dh, l.dw) = pair_of(node["dilation"], where, "dilation");
    if (node["groups"]) l.groups = node["groups"].as<int64_t>();
    if (node["count_pad"]) l.count_pad = node["count_pad"].as<bool>();
    if (node["weights"] || node["bias"]) {  // .npy files next to the model
      if (l.op != Op::kDense && l.op != Op::kConv2d && l.op != Op::kLayerNorm)
        throw ModelError(where + "`weights` and `bias` apply to dense, conv2d and layernorm only, not to " + op);
      auto& files = weight_files[l.name];
      const std::filesystem::path dir = std::filesystem::path(path).parent_path();
      if (node["weights"]) files.first = (dir / node["weights"].as<std::string>()).string();
      if (node["bias"]) files.second = (dir / node["bias"].as<std::string>()).string();
    }
    if (node["ceil_mode"]) l.ceil_mode = node["ceil_mode"].as<bool>();
    // Attributes of some ops only.
    static const std::vector<std::pair<const char*, std::vector<Op>>> kOwners = {
        {"heads", {Op::kMatMul}},  {"transpose_b", {Op::kMatMul}}, {"alpha", {Op::kMatMul}},
        {"eps", {Op::kLayerNorm}}, {"index", {Op::kToken}},        {"dilation", {Op::kConv2d}},
        {"groups", {Op::kConv2d}}, {"count_pad", {Op::kAvgPool}},  {"ceil_mode", {Op::kMaxPool, Op::kAvgPool}},
        {"engine", {Op::kDense}},  {"density", {Op::kDense}},      {"bits", {Op::kDense}},
        {"slices", {Op::kDense}}};
    for (const auto& [key, owners] : kOwners)
      if (node[key] && std::find(owners.begin(), owners.end(), l.op) == owners.end()) {
        std::string names;
        for (Op o : owners) names += std::string(names.empty() ? "" : " and ") + op_name(o);
        throw ModelError(where + "`" + key + "` applies to " + names + " only, not to " + op);
      }
    if (node["heads"]) l.heads = node["heads"].as<int64_t>();
    if (node["transpose_b"]) l.transpose_b = node["transpose_b"].as<bool>();
    if (node["alpha"]) l.alpha = node["alpha"].as<double>();
    if (node["eps"]) l.eps = node["eps"].as<double>();
    if (node["index"]) l.index = node["index"].as<int64_t>();
    read_engine(node, where, &l);
    if (node["padding"]) {
      const YAML::Node p = node["padding"];
      if (p.IsScalar() && p.as<std::string>() == "same") {
        l.pad_top = l.pad_left = -1;  // resolved by shape inference
      } else if (p.IsScalar() && p.as<std::string>() == "valid") {
      } else {
        std::tie(l.pad_top, l.pad_left) = pair_of(p, where, "padding");
        l.pad_bottom = l.pad_top;
        l.pad_right = l.pad_left;
      }
    }
    if (node["activation"]) {
      const std::string a = node["activation"].as<std::string>();
      const isa::ActFunc* f = lookup(kActs, a);
      if (!f) throw ModelError(where + "unknown activation '" + a + "'" + choices(kActs, a));
      l.act = *f;
    }
    for (const auto& kv : node) {
      static const std::vector<std::string> known = {
          "name",    "op",      "inputs",   "input",       "units",      "filters",   "kernel",
          "stride",  "padding", "dilation", "groups",      "activation", "count_pad", "ceil_mode",
          "weights", "bias",    "heads",    "transpose_b", "alpha",      "eps",       "index",
          "engine",  "density", "bits",        "slices"};
      const std::string key = kv.first.as<std::string>();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::vector<std::string_view> views(known.begin(), known.end());
        throw ModelError(where + "unknown attribute '" + key + "'" + isa::did_you_mean(key, views));
      }
    }
    g.layers.push_back(std::move(l));
  }
  if (root["outputs"]) {
    for (const auto& n : root["outputs"]) {
      const int i = g.find(n.as<std::string>());
      if (i < 0) throw ModelError(path + ": output '" + n.as<std::string>() + "' is not a layer");
      g.outputs.push_back(i);
    }
  } else {
    g.outputs.push_back(static_cast<int>(g.layers.size()) - 1);
  }
  infer_shapes(g);
  for (const auto& [name, files] : weight_files) load_weights(g, g.layers[static_cast<size_t>(g.find(name))], files);
  if (generate) generate_weights(g);
  return g;
}

namespace {

std::string shape_text(const std::vector<int64_t>& s) {
  std::string t = "[";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// Output height and width of a windowed layer (conv2d, pooling) over `in`
// [N, H, W, C] with effective kernel ekh x ekw; resolves "same" padding.
std::pair<int64_t, int64_t> windows(Layer& l, const std::vector<int64_t>& in, int64_t ekh, int64_t ekw,
                                    const std::string& where) {
  if (l.pad_top < 0) {  // same: output = ceil(input / stride)
    const int64_t oh = (in[1] + l.sh - 1) / l.sh, ow = (in[2] + l.sw - 1) / l.sw;
    const int64_t ph = std::max<int64_t>(0, (oh - 1) * l.sh + ekh - in[1]);
    const int64_t pw = std::max<int64_t>(0, (ow - 1) * l.sw + ekw - in[2]);
    l.pad_top = l.same_lower ? ph - ph / 2 : ph / 2;
    l.pad_bottom = ph - l.pad_top;
    l.pad_left = l.same_lower ? pw - pw / 2 : pw / 2;
    l.pad_right = pw - l.pad_left;
  }
  int64_t hp = in[1] + l.pad_top + l.pad_bottom, wp = in[2] + l.pad_left + l.pad_right;
  if (hp < ekh || wp < ekw)
    throw ModelError(where + "the kernel is larger than the padded " + std::to_string(hp) + "x" + std::to_string(wp) +
                     " input");
  if (l.ceil_mode) {  // a last window that starts inside the input or its leading padding is kept
    auto extra = [](int64_t size, int64_t lead, int64_t padded, int64_t k, int64_t s) {
      int64_t out = (padded - k + s - 1) / s + 1;
      if ((out - 1) * s >= size + lead) --out;
      return std::max<int64_t>(0, (out - 1) * s + k - padded);
    };
    const int64_t below = extra(in[1], l.pad_top, hp, ekh, l.sh), right = extra(in[2], l.pad_left, wp, ekw, l.sw);
    if ((below || right) && l.op == Op::kAvgPool && l.count_pad)
      throw ModelError(where +
                       "ceil_mode with count_pad: true does not run on the chip (the extra windows' "
                       "divisors would count padding that is not there)");
    l.pad_bottom += below;
    l.pad_right += right;
    hp = in[1] + l.pad_top + l.pad_bottom, wp = in[2] + l.pad_left + l.pad_right;
  }
  return {(hp - ekh) / l.sh + 1, (wp - ekw) / l.sw + 1};
}

}  // namespace

void infer_shapes(Graph& g) {
  for (size_t i = 1; i < g.layers.size(); ++i) {
    Layer& l = g.layers[i];
    const std::string where = g.where(l);
    const std::vector<int64_t>& in = g.layers[l.inputs[0]].shape;
    const size_t arity = (l.op == Op::kAdd || l.op == Op::kMul || l.op == Op::kMatMul) ? 2 : 1;
    if (l.op != Op::kConcat && l.inputs.size() != arity)
      throw ModelError(where + op_name(l.op) + " takes " + std::to_string(arity) + " input" + (arity > 1 ? "s" : ""));
    switch (l.op) {
      case Op::kInput: break;
      case Op::kDense:  // on the last axis: vectors, or every pixel (token) of an image (sequence)
        if (in.size() != 2 && in.size() != 4)
          throw ModelError(where + "dense needs a [N, features] or [N, H, W, C] input");
        if (l.units <= 0) throw ModelError(where + "dense needs `units` > 0");
        l.shape = in;
        l.shape.back() = l.units;
        break;
      case Op::kMatMul: {
        const std::vector<int64_t>& b = g.layers[l.inputs[1]].shape;
        const std::string names = "'" + g.layers[l.inputs[0]].name + "' " + shape_text(in) + " and '" +
                                  g.layers[l.inputs[1]].name + "' " + shape_text(b);
        if (in.size() != 4 || b.size() != 4 || in[0] != b[0] || b[1] != 1)
          throw ModelError(where +
                           "matmul needs two [N, H, rows, features] inputs of one batch, the second with H = 1; got " +
                           names);
        if (l.heads <= 0 || b[3] % l.heads)
          throw ModelError(where + "heads=" + std::to_string(l.heads) + " must divide the " + std::to_string(b[3]) +
                           " features of '" + g.layers[l.inputs[1]].name + "'");
        if (!(l.alpha > 0) || !std::isfinite(l.alpha)) throw ModelError(where + "alpha must be a positive number");
        if (l.transpose_b) {
          if (in[1] != 1 || in[3] != b[3])
            throw ModelError(where + "matmul with transpose_b needs a [N, 1, S, F] and b [N, 1, T, F]; got " + names);
          l.shape = {in[0], l.heads, in[2], b[2]};
        } else {
          if (in[1] != l.heads || in[3] != b[2])
            throw ModelError(where + "matmul needs a [N, heads, S, T] and b [N, 1, T, F]; got " + names);
          l.shape = {in[0], 1, in[2], b[3]};
        }
        break;
      }
      case Op::kToken:
        if (in.size() != 4 || in[1] != 1)
          throw ModelError(where + "token needs a sequence [N, 1, T, F] input, not " + shape_text(in));
        if (l.index < 0 || l.index >= in[2])
          throw ModelError(where + "token index " + std::to_string(l.index) + " is outside the sequence's " +
                           std::to_string(in[2]) + " tokens");
        if (l.act != isa::ActFunc::identity) throw ModelError(where + "token takes no activation");
        l.shape = {in[0], in[3]};
        break;
      case Op::kSoftmax:
      case Op::kLayerNorm:
        if (l.act != isa::ActFunc::identity) throw ModelError(where + op_name(l.op) + " takes no activation");
        if (l.op == Op::kLayerNorm && !(l.eps > 0 && std::isfinite(l.eps)))
          throw ModelError(where + "eps must be a positive number");
        l.shape = in;
        break;
      case Op::kConv2d: {
        if (in.size() != 4) throw ModelError(where + "conv2d needs an [N, H, W, C] input");
        if (l.units <= 0) throw ModelError(where + "conv2d needs `filters` > 0");
        if (l.groups <= 0 || in[3] % l.groups || l.units % l.groups)
          throw ModelError(where + "groups=" + std::to_string(l.groups) + " must divide the " + std::to_string(in[3]) +
                           " input and " + std::to_string(l.units) + " output channels");
        if (l.kh <= 0 || l.kw <= 0 || l.sh <= 0 || l.sw <= 0 || l.dh <= 0 || l.dw <= 0)
          throw ModelError(where + "kernel, stride and dilation must be positive");
        const auto [oh, ow] = windows(l, in, (l.kh - 1) * l.dh + 1, (l.kw - 1) * l.dw + 1, where);
        l.shape = {in[0], oh, ow, l.units};
        break;
      }
      case Op::kMaxPool:
      case Op::kAvgPool:
        if (in.size() != 4) throw ModelError(where + "pooling needs an [N, H, W, C] input");
        if (l.kh <= 0 || l.kw <= 0 || l.sh <= 0 || l.sw <= 0)
          throw ModelError(where + "kernel and stride must be positive");
        if (l.pad_top >= l.kh || l.pad_bottom >= l.kh || l.pad_left >= l.kw || l.pad_right >= l.kw)
          throw ModelError(where +
                           "pooling padding must be smaller than the window (a window would hold padding only)");
        {
          const auto [oh, ow] = windows(l, in, l.kh, l.kw, where);
          l.shape = {in[0], oh, ow, in[3]};
          l.ceil_mode = false;  // resolved into the padding
        }
        break;
      case Op::kGlobalAvgPool:
        if (in.size() != 4) throw ModelError(where + "global_avgpool needs an [N, H, W, C] input");
        l.shape = {in[0], in[3]};
        break;
      case Op::kAdd:
        if (g.layers[l.inputs[1]].shape != in)
          throw ModelError(where + "add needs inputs of one shape; '" + g.layers[l.inputs[0]].name + "' and '" +
                           g.layers[l.inputs[1]].name + "' differ");
        l.shape = in;
        break;
      case Op::kFlatten: l.shape = {in[0], elements(in) / in[0]}; break;
      case Op::kMul:
        if (g.layers[l.inputs[1]].shape != in) throw ModelError(where + "mul needs inputs of one shape");
        l.shape = in;
        break;
      case Op::kActivation: l.shape = in; break;
      case Op::kZeros:
        if (l.units <= 0) throw ModelError(where + "zeros needs `units` > 0");
        l.shape = {in[0], l.units};
        break;
      case Op::kConstant: break;  // its shape is its own
      case Op::kConcat: {
        if (l.inputs.size() < 2) throw ModelError(where + "concat takes two or more inputs");
        l.shape = in;
        l.shape.back() = 0;
        for (int input : l.inputs) {
          const auto& s = g.layers[input].shape;
          if (s.size() != in.size() || !std::equal(s.begin(), s.end() - 1, in.begin()))
            throw ModelError(where + "concat inputs must agree in all but the last dimension; '" +
                             g.layers[input].name + "' does not");
          l.shape.back() += s.back();
        }
        break;
      }
    }
    check_size(l.shape, where, "its output");
    if (l.op == Op::kDense || l.op == Op::kConv2d)
      check_size({l.kh, l.kw, in.back() / l.groups, l.units}, where, "its weights");
  }
}

Graph with_batch(const Graph& g, int64_t batch) {
  Graph copy = g;
  const int64_t old = copy.layers[0].shape[0];
  copy.layers[0].shape[0] = batch;
  // Constants follow the batch when every sample holds the same values (a broadcast).
  for (Layer& l : copy.layers) {
    if (l.op != Op::kConstant || l.shape[0] != old || batch == old) continue;
    if (!l.weights.empty()) {
      const size_t per = l.weights.size() / static_cast<size_t>(old);
      for (size_t i = per; i < l.weights.size(); ++i)
        if (l.weights[i] != l.weights[i % per])
          throw ModelError(g.where(l) + "a constant with different values per sample cannot follow a batch of " +
                           std::to_string(batch));
      l.weights.resize(per * static_cast<size_t>(batch));
      for (size_t i = per; i < l.weights.size(); ++i) l.weights[i] = l.weights[i % per];
    }
    l.shape[0] = batch;
  }
  infer_shapes(copy);
  return copy;
}

int64_t weight_elements(const Graph& g, const Layer& l) {
  const std::vector<int64_t>& in = g.layers[l.inputs[0]].shape;
  const int64_t fan_in = l.op == Op::kDense ? in.back() : l.kh * l.kw * in[3] / l.groups;
  return fan_in * l.units;
}

void generate_weights(Graph& g) {
  // splitmix64: a fast generator whose stream is fixed by the seed alone.
  uint64_t state = g.seed;
  auto rng = [&state]() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  // A sum of four uniforms (Irwin-Hall), centred and scaled to unit variance:
  // close to normal, cheap, and the same on every machine.
  auto normal = [&rng]() {
    const uint64_t r = rng();
    const double sum = static_cast<double>((r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48));
    return (sum / 65536.0 - 2.0) * 1.7320508075688772;  // sd of the sum is sqrt(4/12)
  };
  for (Layer& l : g.layers) {
    if (l.op == Op::kConstant && l.weights.empty()) {
      l.weights.resize(static_cast<size_t>(elements(l.shape)));
      for (float& v : l.weights) v = static_cast<float>(normal() * 0.5);
      continue;
    }
    if (l.op == Op::kLayerNorm && l.weights.empty()) {  // gamma near 1, beta near 0
      const int64_t c = l.shape.back();
      l.weights.resize(static_cast<size_t>(c));
      l.bias.resize(static_cast<size_t>(c));
      for (float& v : l.weights) v = static_cast<float>(1.0 + 0.1 * normal());
      for (float& v : l.bias) v = static_cast<float>(0.1 * normal());
      continue;
    }
    if (l.shares >= 0 && l.weights.empty()) {  // the same gate at an earlier time step
      l.weights = g.layers[static_cast<size_t>(l.shares)].weights;
      l.bias = g.layers[static_cast<size_t>(l.shares)].bias;
      continue;
    }
    if (!l.weights.empty() || (l.op != Op::kDense && l.op != Op::kConv2d)) continue;
    const int64_t count = weight_elements(g, l);
    const int64_t fan_in = count / l.units;
    const double std_dev = std::sqrt(2.0 / static_cast<double>(fan_in));
    l.weights.resize(static_cast<size_t>(count));
    for (float& w : l.weights) w = static_cast<float>(normal() * std_dev);
    l.bias.resize(static_cast<size_t>(l.units));
    for (float& b : l.bias) b = static_cast<float>(normal() * 0.05);
  }
}

}  // namespace tpu::compiler
