#include "tools/compiler/onnx_import.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "tools/tensor_io/layout.h"
#include "tools/tensor_io/onnx_pb.h"

namespace tpu::compiler {

namespace {

template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian, as ONNX stores raw data
  return v;
}

OnnxTensor from_proto(const onnx::TensorProto& t, const std::string& where) {
  tensor_io::ProtoValues v;
  try {
    v = tensor_io::decode_tensor_proto(t, where);
  } catch (const tensor_io::TensorFileError& e) {
    throw ModelError(e.what());
  }
  OnnxTensor out;
  out.data_type = v.data_type;
  out.dims = v.dims;
  out.values.resize(v.bytes.size() / v.element_bytes);
  for (size_t i = 0; i < out.values.size(); ++i) {
    const uint8_t* p = &v.bytes[i * v.element_bytes];
    switch (v.data_type) {
      case onnx::TensorProto::INT8: out.values[i] = static_cast<float>(static_cast<int8_t>(*p)); break;
      case onnx::TensorProto::UINT8: out.values[i] = static_cast<float>(*p); break;
      case onnx::TensorProto::INT16: out.values[i] = static_cast<float>(load<int16_t>(p)); break;
      case onnx::TensorProto::INT32: out.values[i] = static_cast<float>(load<int32_t>(p)); break;
      case onnx::TensorProto::INT64: out.values[i] = static_cast<float>(load<int64_t>(p)); break;
      default: out.values[i] = load<float>(p); break;  // FLOAT, the only other kind decode_tensor_proto returns
    }
  }
  return out;
}

struct Attrs {
  std::map<std::string, const onnx::AttributeProto*> by_name;
  bool one_d = false;  // a 1-D convolution or pooling, run as 2-D with a height of 1
  std::vector<int64_t> ints(const std::string& n, std::vector<int64_t> dflt) const {
    const auto it = by_name.find(n);
    if (it == by_name.end()) return dflt;
    std::vector<int64_t> v(it->second->ints().begin(), it->second->ints().end());
    if (one_d && n == "pads" && v.size() == 2) return {0, v[0], 0, v[1]};
    if (one_d && n != "pads" && v.size() == 1) return {1, v[0]};
    return v;
  }
  int64_t i(const std::string& n, int64_t dflt) const {
    const auto it = by_name.find(n);
    return it == by_name.end() ? dflt : it->second->i();
  }
  float f(const std::string& n, float dflt) const {
    const auto it = by_name.find(n);
    return it == by_name.end() ? dflt : it->second->f();
  }
  std::string s(const std::string& n, std::string dflt) const {
    const auto it = by_name.find(n);
    return it == by_name.end() ? dflt : it->second->s();
  }
};

// A convolution's geometry from its attributes and OIHW weight dims, over an
// input of `channels` channels.
void conv_geometry(Layer& l, const Attrs& a, const std::vector<int64_t>& oihw, int64_t channels,
                   const std::string& where) {
  l.op = Op::kConv2d;
  l.units = oihw[0];
  l.kh = oihw[2];
  l.kw = oihw[3];
  l.groups = a.i("group", 1);
  if (l.groups <= 0 || oihw[1] * l.groups != channels)
    throw ModelError(where + "the weights take " + std::to_string(oihw[1]) + " x group=" + std::to_string(l.groups) +
                     " input channels; the input has " + std::to_string(channels));
  const auto strides = a.ints("strides", {1, 1}), dil = a.ints("dilations", {1, 1});
  if (strides.size() != 2 || dil.size() != 2)
    throw ModelError(where + "strides and dilations need one value per spatial axis");
  l.sh = strides[0], l.sw = strides[1], l.dh = dil[0], l.dw = dil[1];
  const std::string auto_pad = a.s("auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    l.pad_top = l.pad_left = -1;
    l.same_lower = auto_pad == "SAME_LOWER";
  } else {
    const auto pads = a.ints("pads", {0, 0, 0, 0});
    if (pads.size() != 4) throw ModelError(where + "pads need a start and an end per spatial axis");
    l.pad_top = pads[0], l.pad_left = pads[1], l.pad_bottom = pads[2], l.pad_right = pads[3];
  }
}

// Where each OIHW weight goes in the compiler's [kh][kw][I][O] layout.
std::vector<size_t> oihw_to_chip(const std::vector<int64_t>& d) {
  const int64_t O = d[0], I = d[1], kh = d[2], kw = d[3];
  std::vector<size_t> to(static_cast<size_t>(O * I * kh * kw));
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < I; ++i)
      for (int64_t y = 0; y < kh; ++y)
        for (int64_t x = 0; x < kw; ++x)
          to[static_cast<size_t>(((o * I + i) * kh + y) * kw + x)] =
              static_cast<size_t>(((y * kw + x) * I + i) * O + o);
  return to;
}

// t's values broadcast (NumPy rules) to `dims`, in row-major order.
std::vector<float> broadcast(const OnnxTensor& t, const std::vector<int64_t>& dims, const std::string& where) {
  if (t.dims.size() > dims.size()) throw ModelError(where + "the constant operand has more dimensions than the other");
  const size_t lead = dims.size() - t.dims.size();
  for (size_t i = 0; i < t.dims.size(); ++i)
    if (t.dims[i] != 1 && t.dims[i] != dims[lead + i])
      throw ModelError(where + "the constant operand does not broadcast to the other's shape");
  std::vector<float> out(static_cast<size_t>(elements(dims)));
  for (size_t o = 0; o < out.size(); ++o) {
    int64_t rest = static_cast<int64_t>(o), from = 0, stride = 1;
    for (size_t d = dims.size(); d-- > 0;) {
      const int64_t idx = rest % dims[d];
      rest /= dims[d];
      if (d >= lead) {
        const int64_t td = t.dims[d - lead];
        from += (td == 1 ? 0 : idx) * stride;
        stride *= td;
      }
    }
    out[o] = t.values[static_cast<size_t>(from)];
  }
  return out;
}

// A zero point as the chip holds it: uint8 tensors are shifted by -128 to int8.
int int8_domain(const OnnxTensor& zp, const std::string& where) {
  if (zp.values.size() != 1) throw ModelError(where + "must be a scalar");
  if (zp.data_type == onnx::TensorProto::UINT8) return static_cast<int>(zp.values[0]) - 128;
  if (zp.data_type == onnx::TensorProto::INT8) return static_cast<int>(zp.values[0]);
  throw ModelError(where + "must be int8 or uint8");
}

}  // namespace

OnnxTensor read_onnx_tensor(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ModelError(path + ": cannot open");
  onnx::TensorProto t;
  if (!t.ParseFromIstream(&f)) throw ModelError(path + ": not an ONNX TensorProto");
  return from_proto(t, path + ": ");
}

void write_onnx_tensor(const std::string& path, const OnnxTensor& t) {
  onnx::TensorProto p;
  for (int64_t d : t.dims) p.add_dims(d);
  p.set_data_type(onnx::TensorProto::FLOAT);
  p.set_raw_data(std::string(reinterpret_cast<const char*>(t.values.data()), t.values.size() * sizeof(float)));
  std::ofstream f(path, std::ios::binary);
  if (!f || !p.SerializeToOstream(&f)) throw ModelError(path + ": cannot write");
}

namespace {

// Between N, C, H, W and N, H, W, C order (`to_nhwc` says which way).
std::vector<float> reorder(const std::vector<float>& v, const std::vector<int64_t>& dims, bool to_nhwc) {
  const std::vector<int64_t> d = tensor_io::as_nchw(dims);
  if (d.size() != 4 || static_cast<int64_t>(v.size()) != elements(d)) return v;
  std::vector<float> out(v.size());
  tensor_io::for_each_nchw_nhwc(d, [&](size_t nchw, size_t nhwc) {
    if (to_nhwc)
      out[nhwc] = v[nchw];
    else
      out[nchw] = v[nhwc];
  });
  return out;
}

}  // namespace

std::vector<float> to_nhwc(const std::vector<float>& v, const std::vector<int64_t>& d) { return reorder(v, d, true); }
std::vector<float> to_nchw(const std::vector<float>& v, const std::vector<int64_t>& d) { return reorder(v, d, false); }

namespace {

onnx::ModelProto parse_model(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ModelError(path + ": cannot open the model");
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&f)) throw ModelError(path + ": not an ONNX model");
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    throw ModelError(path + ": fails the ONNX checker: " + e.what());
  }
  return model;
}

}  // namespace

std::vector<std::string> onnx_inputs(const std::string& path) {
  const onnx::ModelProto model = parse_model(path);
  std::set<std::string> init;
  for (const auto& t : model.graph().initializer()) init.insert(t.name());
  std::vector<std::string> names;
  for (const auto& in : model.graph().input()) {
    if (init.count(in.name())) continue;
    if (!in.type().has_tensor_type())
      throw ModelError(path + ": input '" + in.name() +
                       "' is not a tensor (sequences and optionals do not run on the chip)");
    names.push_back(in.name());
  }
  for (const auto& out : model.graph().output())
    if (!out.type().has_tensor_type()) throw ModelError(path + ": output '" + out.name() + "' is not a tensor");
  return names;
}

namespace {

// Builds a compiler graph from an ONNX graph, node by node. Each operator's
// method fills the layer it becomes and returns true, or folds the node into
// an earlier layer and returns false.
struct OnnxImport {
  const std::string& path;
  int64_t batch_override;
  Graph g;
  std::map<std::string, OnnxTensor> constants;  // initializers and bound inputs
  std::vector<int64_t> input_dims;              // the data input's, as ONNX gives them
  int input_type = onnx::TensorProto::FLOAT;
  std::map<std::string, int> layer_of;         // ONNX value -> layer producing it
  std::map<int, std::vector<int64_t>> chw_of;  // flattened layers: the [C, H, W] they came from
  std::map<std::string, int> consumers;        // readers of each ONNX value (a model output is read too)
  std::set<int> one_d;                         // layers holding an [N, C, L] tensor as an image one pixel high

  OnnxImport(const std::string& file, const onnx::GraphProto& graph, int64_t batch,
             const std::map<std::string, OnnxTensor>& bound)
      : path(file), batch_override(batch), constants(bound) {
    g.file = path;
    g.files_read.push_back(path);
    g.name = graph.name().empty() ? path : graph.name();
    g.note = "imported from ONNX";
    for (const auto& t : graph.initializer())
      constants[t.name()] = from_proto(t, path + ": initializer '" + t.name() + "': ");
    for (const auto& node : graph.node())
      for (const auto& in : node.input()) ++consumers[in];
    for (const auto& o : graph.output()) ++consumers[o.name()];
    add_input(graph);
  }

  void add_input(const onnx::GraphProto& graph) {
    for (const auto& in : graph.input()) {
      if (constants.count(in.name())) continue;
      if (!in.type().has_tensor_type()) throw ModelError(path + ": input '" + in.name() + "' is not a tensor");
      if (!g.layers.empty()) throw ModelError(path + ": input '" + in.name() + "': the chip takes one data input");
      Layer l;
      l.name = in.name();
      std::vector<int64_t> dims;
      for (const auto& d : in.type().tensor_type().shape().dim()) {
        if (!d.has_dim_value() || d.dim_value() <= 0)
          throw ModelError(path + ": input '" + in.name() + "' needs a fixed shape");
        dims.push_back(d.dim_value());
      }
      if (dims.size() == 4) {
        l.shape = {dims[0], dims[2], dims[3], dims[1]};
      } else if (dims.size() == 3) {  // [N, C, L]: an image one pixel high
        l.shape = {dims[0], 1, dims[2], dims[1]};
      } else if (dims.size() >= 2) {
        l.shape = {dims[0], elements(dims) / dims[0]};
      } else {
        l.shape = {1, dims.empty() ? 1 : dims[0]};
      }
      if (batch_override > 0) l.shape[0] = batch_override;
      input_dims = dims;
      if (dims.size() == 3) one_d.insert(0);
      input_type = in.type().tensor_type().elem_type();
      layer_of[in.name()] = 0;
      g.layers.push_back(l);
    }
    if (g.layers.empty()) throw ModelError(path + ": the model has no data input");
  }

  int input_layer(const onnx::NodeProto& node, int i) const {
    const std::string& name = node.input(i);
    const auto it = layer_of.find(name);
    if (it == layer_of.end())
      throw ModelError(path + ": node '" + node.name() + "' (" + node.op_type() + "): input '" + name +
                       "' is a constant; the chip needs it computed by an earlier node");
    return it->second;
  }

  const OnnxTensor& constant(const onnx::NodeProto& node, int i) const {
    const auto it = constants.find(node.input(i));
    if (it == constants.end())
      throw ModelError(path + ": node '" + node.name() + "' (" + node.op_type() + "): input '" + node.input(i) +
                       "' must be a constant (an initializer)");
    return it->second;
  }

  double scalar(const onnx::NodeProto& node, int i) const {
    const OnnxTensor& t = constant(node, i);
    if (t.values.size() != 1)
      throw ModelError(path + ": node '" + node.name() + "' (" + node.op_type() + "): input '" + node.input(i) +
                       "' must be a scalar");
    return t.values[0];
  }

  void import_node(const onnx::NodeProto& node) {
    const std::string where = path + ": node '" + node.name() + "' (" + node.op_type() + "): ";
    Attrs a;
    for (const auto& attr : node.attribute()) a.by_name[attr.name()] = &attr;
    const std::string& op = node.op_type();
    const std::string& out = node.output(0);
    Layer l;
    l.name = node.name().empty() ? out : node.name();
    bool add = false;
    if (op == "QLinearConv" || op == "QLinearMatMul" || op == "ConvInteger" || op == "MatMulInteger")
      add = integer_op(node, a, where, l);
    else if (op == "LSTM")
      add = lstm(node, a, where, l);
    else if (op == "BatchNormalization")
      add = batch_norm(node, a, where, l);
    else if (op == "Conv")
      add = conv(node, a, where, l);
    else if (op == "Gemm" || op == "MatMul")
      add = gemm(node, a, where, l);
    else if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "Clip")
      add = activation(node, a, where, l);
    else if (op == "MaxPool" || op == "AveragePool")
      add = pool(node, a, where, l);
    else if (op == "GlobalMaxPool")
      add = global_max_pool(node, a, where, l);
    else if (op == "GlobalAveragePool")
      add = global_average_pool(node, a, where, l);
    else if (op == "Add" || op == "Mul")
      add = elementwise(node, a, where, l);
    else if (op == "Concat")
      add = concat(node, a, where, l);
    else if (op == "Flatten" || op == "Reshape")
      add = flatten(node, a, where, l);
    else if (op == "Softmax")
      add = softmax(node, a, where, l);
    else
      throw ModelError(where + "this operator does not run on the chip");
    if (!add) return;
    l.line = 0;
    const int index = static_cast<int>(g.layers.size());
    layer_of[out] = index;
    // Elementwise layers keep their input's feature order (a flattened image's) and form.
    const bool keeps_order = l.op == Op::kActivation || l.op == Op::kAdd || l.op == Op::kMul || l.op == Op::kSoftmax;
    if (keeps_order && chw_of.count(l.inputs[0])) chw_of[index] = chw_of[l.inputs[0]];
    const bool from_one_d = !l.inputs.empty() && one_d.count(l.inputs[0]) > 0;
    g.layers.push_back(std::move(l));
    infer_shapes(g);
    if (from_one_d && g.layers.back().is_image()) one_d.insert(index);
  }

  bool integer_op(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    const std::string& op = node.op_type();
    // Integer operators. QLinear*: x, x_scale, x_zp, w, w_scale, w_zp, y_scale,
    // y_zp[, bias], an int8 result. *Integer: x, w[, x_zp[, w_zp]], the int32
    // sums themselves (act raw), at unit scales.
    const bool qlinear = op.rfind("QLinear", 0) == 0, conv = op == "QLinearConv" || op == "ConvInteger";
    const int src = input_layer(node, 0);
    auto given = [&](int i) { return node.input_size() > i && !node.input(i).empty(); };
    const OnnxTensor unit_scale{{}, {1.0f}, onnx::TensorProto::FLOAT};
    const OnnxTensor& w = constant(node, qlinear ? 3 : 1);
    const OnnxTensor no_w_zp{{}, {0.0f}, w.data_type};
    const OnnxTensor& w_scale = qlinear ? constant(node, 4) : unit_scale;
    const OnnxTensor& w_zp = qlinear ? constant(node, 5) : given(3) ? constant(node, 3) : no_w_zp;
    const double x_scale = qlinear ? scalar(node, 1) : 1, y_scale = qlinear ? scalar(node, 6) : 1;
    if (!qlinear && !given(2) && src != 0) throw ModelError(where + "needs x_zero_point when it reads another node");
    const int x_zp = given(2) ? int8_domain(constant(node, 2), where + "x_zero_point: ")
                              : int8_domain(OnnxTensor{{}, {0.0f}, input_type}, where + "the input: ");
    const int y_zp = qlinear ? int8_domain(constant(node, 7), where + "y_zero_point: ") : 0;
    Layer& in = g.layers[static_cast<size_t>(src)];
    if (src == 0 && !in.given) {
      in.given = GivenQuant{};
      in.given->scale = x_scale;
      in.given->zp = x_zp;
    } else if (!in.given || in.given->scale != x_scale || in.given->zp != x_zp) {
      throw ModelError(where + "the input's scale and zero point must be those its producer gives it");
    }
    if (conv) {
      if (w.dims.size() != 4) throw ModelError(where + "only 2-D convolutions run on the chip");
      conv_geometry(l, a, w.dims, in.channels(), where);
    } else {
      if (w.dims.size() != 2) throw ModelError(where + "the weights must be a 2-D constant");
      if (in.shape.size() != 2 || in.shape[1] != w.dims[0])
        throw ModelError(where + "the weights take " + std::to_string(w.dims[0]) + " features; the input is not [N, " +
                         std::to_string(w.dims[0]) + "]");
      if (chw_of.count(src))
        throw ModelError(where + "a flattened image as the input of an integer MatMul does not run on the chip");
      l.op = Op::kDense;
      l.units = w.dims[1];
    }
    if (w.data_type != onnx::TensorProto::INT8 && w.data_type != onnx::TensorProto::UINT8)
      throw ModelError(where + "the weights must be int8 or uint8");
    const int64_t O = conv ? w.dims[0] : w.dims[1];
    auto per_channel = [&](const OnnxTensor& t, const char* what) {
      if (t.values.size() != 1 && static_cast<int64_t>(t.values.size()) != O)
        throw ModelError(where + what + " must be a scalar or one value per output channel");
      return [&t](int64_t o) { return t.values[t.values.size() == 1 ? 0 : static_cast<size_t>(o)]; };
    };
    const auto ws = per_channel(w_scale, "w_scale");
    const auto wz = per_channel(w_zp, "w_zero_point");
    auto channel = [&](size_t i) {  // the output channel of OIHW or [K][N] weight i
      return conv ? static_cast<int64_t>(i) / (elements(w.dims) / O) : static_cast<int64_t>(i) % O;
    };
    // The chip's weights carry no zero point: w - w_zp, which may need up to
    // three int8 planes summed. The planes read copies of the input side by
    // side (a concat), so the contraction is P times as long.
    int planes = 1;
    for (size_t i = 0; i < w.values.size(); ++i) {
      const int v = static_cast<int>(w.values[i] - wz(channel(i)));
      planes = std::max({planes, (v + 126) / 127, (-v + 127) / 128});
    }
    l.inputs = {src};
    if (planes > 1) {
      if (conv && l.groups != 1)
        throw ModelError(
            where + "grouped weights minus their zero point must fit int8 (the chip's weights carry no zero point)");
      Layer cat;
      cat.name = l.name + ".planes";
      cat.op = Op::kConcat;
      cat.inputs.assign(static_cast<size_t>(planes), src);
      cat.given = GivenQuant{};
      cat.given->scale = x_scale;
      cat.given->zp = x_zp;
      l.inputs = {static_cast<int>(g.layers.size())};
      g.layers.push_back(std::move(cat));
      infer_shapes(g);
    }
    // Rows (dense) or input channels (conv) per plane, and the weights' dims with all planes.
    const int64_t rows = conv ? w.dims[1] : w.dims[0];
    std::vector<int64_t> dims = w.dims;
    dims[conv ? 1 : 0] *= planes;
    const std::vector<size_t> order = conv ? oihw_to_chip(dims) : std::vector<size_t>{};
    GivenQuant gq;
    gq.scale = y_scale;
    gq.zp = y_zp;
    gq.int32_out = !qlinear;
    gq.planes = planes;
    gq.weights.resize(w.values.size() * static_cast<size_t>(planes));
    l.weights.resize(gq.weights.size());
    for (size_t i = 0; i < w.values.size(); ++i) {
      const int64_t o = channel(i);
      int rest = static_cast<int>(w.values[i] - wz(o));
      for (int p = 0; p < planes; ++p) {
        const int v = p + 1 == planes ? rest : std::clamp(rest, -128, 127);
        rest -= v;
        // OIHW: plane p's input channels follow plane p-1's; [K][N]: its rows.
        const int64_t inner = conv ? elements(w.dims) / O / rows : w.dims[1];  // kh*kw, or N
        const int64_t outer = static_cast<int64_t>(i) / (rows * inner), row = static_cast<int64_t>(i) / inner % rows;
        const size_t at =
            static_cast<size_t>((outer * rows * planes + p * rows + row) * inner + static_cast<int64_t>(i) % inner);
        const size_t to = conv ? order[at] : at;
        gq.weights[to] = static_cast<int8_t>(v);
        l.weights[to] = static_cast<float>(v * ws(o));
      }
    }
    for (int64_t o = 0; o < O; ++o) gq.weight_scales.push_back(ws(o));
    l.bias.assign(static_cast<size_t>(O), 0.0f);
    if (qlinear && conv && given(8)) {
      const OnnxTensor& b = constant(node, 8);
      if (static_cast<int64_t>(b.values.size()) != O)
        throw ModelError(where + "the bias needs one value per output channel");
      for (int64_t o = 0; o < O; ++o) {
        gq.bias.push_back(static_cast<int32_t>(b.values[static_cast<size_t>(o)]));
        l.bias[static_cast<size_t>(o)] = static_cast<float>(b.values[static_cast<size_t>(o)] * x_scale * ws(o));
      }
    }
    l.given = std::move(gq);
    return true;
  }

  bool lstm(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    // One step from a zero state: the chip's LSTM cell, with ONNX's weights.
    const int src = input_layer(node, 0);
    if (src != 0) throw ModelError(where + "the LSTM must read the model's input (its [seq, batch, features] tensor)");
    auto absent = [&](int i) { return node.input_size() <= i || node.input(i).empty(); };
    if (!absent(4) || !absent(5) || !absent(6) || !absent(7))
      throw ModelError(
          where + "sequence_lens, initial_h, initial_c and peepholes do not run on the chip (it starts from zero)");
    if (a.s("direction", "forward") != "forward" || a.by_name.count("clip") || a.i("input_forget", 0) != 0 ||
        a.by_name.count("activations"))
      throw ModelError(
          where + "only a forward LSTM with the default activations, no clip and no input_forget runs on the chip");
    const bool batch_first = a.i("layout", 0) == 1;
    if (input_dims.size() != 3 || input_dims[batch_first ? 1 : 0] != 1)
      throw ModelError(where + "only a sequence of length 1 runs on the chip (unroll longer ones into steps)");
    const int64_t I = input_dims[2], H = a.i("hidden_size", 0);
    const OnnxTensor& W = constant(node, 1);
    const OnnxTensor& R = constant(node, 2);
    if (H <= 0 || W.dims != std::vector<int64_t>{1, 4 * H, I} || R.dims != std::vector<int64_t>{1, 4 * H, H})
      throw ModelError(where + "W must be [1, 4*hidden_size, input] and R [1, 4*hidden_size, hidden_size]");
    std::vector<float> B(static_cast<size_t>(8 * H), 0.0f);
    if (!absent(3)) {
      B = constant(node, 3).values;
      if (static_cast<int64_t>(B.size()) != 8 * H) throw ModelError(where + "B must have 8*hidden_size values");
    }
    Layer& in = g.layers[0];
    in.shape = {batch_override > 0 ? batch_override : input_dims[batch_first ? 0 : 1], I};
    l.line = 0;
    const int first = add_lstm_cell(g, l, 0, H);
    // ONNX stacks the gates i, o, f, c; the cell's dense layers are i, f, g (= c), o.
    const int64_t onnx_gate[4] = {0, 2, 3, 1};
    for (int k = 0; k < 4; ++k) {
      Layer& gate = g.layers[static_cast<size_t>(first + k)];
      gate.weights.assign(static_cast<size_t>((I + H) * H), 0.0f);
      gate.bias.assign(static_cast<size_t>(H), 0.0f);
      for (int64_t j = 0; j < H; ++j) {
        const int64_t row = onnx_gate[k] * H + j;
        for (int64_t x = 0; x < I; ++x)
          gate.weights[static_cast<size_t>(x * H + j)] = W.values[static_cast<size_t>(row * I + x)];
        // The h rows meet h0 = 0, yet they are the cell's real weights.
        for (int64_t x = 0; x < H; ++x)
          gate.weights[static_cast<size_t>((I + x) * H + j)] = R.values[static_cast<size_t>(row * H + x)];
        gate.bias[static_cast<size_t>(j)] = B[static_cast<size_t>(row)] + B[static_cast<size_t>(4 * H + row)];
      }
    }
    const int h = static_cast<int>(g.layers.size()) - 1;
    for (int k = 0; k < node.output_size(); ++k)
      if (!node.output(k).empty()) layer_of[node.output(k)] = k == 2 ? g.find(l.name + ".c") : h;
    infer_shapes(g);
    return false;  // the cell's layers are in the graph already
  }

  bool batch_norm(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    const std::string& out = node.output(0);
    const int previous = static_cast<int>(g.layers.size()) - 1;
    // Inference batch norm is y = a*x + b per channel: folded into the conv2d
    // or dense layer before when nothing else reads that, else a depthwise 1x1
    // conv2d (or a diagonal dense layer).
    if (a.i("training_mode", 0) != 0) throw ModelError(where + "only inference batch normalization runs on the chip");
    const int src = input_layer(node, 0);
    if (chw_of.count(src))
      throw ModelError(where + "batch normalization of a flattened image does not run on the chip");
    const std::vector<float>& gamma = constant(node, 1).values;
    const std::vector<float>& beta = constant(node, 2).values;
    const std::vector<float>& mean = constant(node, 3).values;
    const std::vector<float>& var = constant(node, 4).values;
    const int64_t C = g.layers[static_cast<size_t>(src)].channels();
    for (const auto* v : {&gamma, &beta, &mean, &var})
      if (static_cast<int64_t>(v->size()) != C)
        throw ModelError(where + "scale, B, mean and var need one value per channel");
    const double eps = a.f("epsilon", 1e-5f);
    std::vector<float> mul(static_cast<size_t>(C)), add(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) {
      mul[c] = static_cast<float>(gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps));
      add[c] = static_cast<float>(beta[c] - mean[c] * static_cast<double>(mul[c]));
    }
    Layer& s = g.layers[static_cast<size_t>(src)];
    if (src == previous && src > 0 && !s.given && s.act == isa::ActFunc::identity && consumers[node.input(0)] == 1 &&
        (s.op == Op::kConv2d || s.op == Op::kDense)) {
      for (size_t i = 0; i < s.weights.size(); ++i) s.weights[i] *= mul[i % static_cast<size_t>(C)];
      for (int64_t c = 0; c < C; ++c) s.bias[c] = s.bias[c] * mul[c] + add[c];
      layer_of[out] = src;
      return false;
    }
    l.inputs = {src};
    l.units = C;
    l.bias = add;
    if (s.is_image()) {
      l.op = Op::kConv2d;
      l.groups = C;
      l.weights = mul;  // [1][1][1][C]
    } else {
      l.op = Op::kDense;
      l.weights.assign(static_cast<size_t>(C * C), 0.0f);
      for (int64_t c = 0; c < C; ++c) l.weights[static_cast<size_t>(c * C + c)] = mul[c];
    }
    return true;
  }

  bool conv(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    l.inputs = {input_layer(node, 0)};
    const OnnxTensor& w = constant(node, 1);
    a.one_d = w.dims.size() == 3;
    const std::vector<int64_t> oihw = a.one_d ? std::vector<int64_t>{w.dims[0], w.dims[1], 1, w.dims[2]} : w.dims;
    if (oihw.size() != 4) throw ModelError(where + "only 1-D and 2-D convolutions run on the chip");
    conv_geometry(l, a, oihw, g.layers[static_cast<size_t>(l.inputs[0])].channels(), where);
    const int64_t O = w.dims[0];
    const std::vector<size_t> order = oihw_to_chip(oihw);
    l.weights.resize(w.values.size());
    for (size_t i = 0; i < w.values.size(); ++i) l.weights[order[i]] = w.values[i];
    l.bias.assign(static_cast<size_t>(O), 0.0f);
    if (node.input_size() > 2 && !node.input(2).empty()) {
      l.bias = constant(node, 2).values;
      if (static_cast<int64_t>(l.bias.size()) != O)
        throw ModelError(where + "the bias needs one value per output channel");
    }
    return true;
  }

  bool gemm(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    const std::string& op = node.op_type();
    l.op = Op::kDense;
    l.inputs = {input_layer(node, 0)};
    if (op == "Gemm" && a.i("transA", 0) != 0) throw ModelError(where + "only transA=0 runs on the chip");
    // Y = alpha * A B + beta * C: alpha scales the weights, beta the bias.
    const float alpha = op == "Gemm" ? a.f("alpha", 1) : 1, beta = op == "Gemm" ? a.f("beta", 1) : 1;
    const OnnxTensor& w = constant(node, 1);
    if (w.dims.size() != 2) throw ModelError(where + "the weights must be a 2-D constant");
    const bool trans = op == "Gemm" && a.i("transB", 0) != 0;
    const int64_t K = trans ? w.dims[1] : w.dims[0], N = trans ? w.dims[0] : w.dims[1];
    const auto& in = g.layers[static_cast<size_t>(l.inputs[0])].shape;
    if (in.size() != 2 || in[1] != K)
      throw ModelError(where + "the weights take " + std::to_string(K) + " features; the input is not [N, " +
                       std::to_string(K) + "] (flatten it first)");
    l.units = N;
    l.weights.resize(static_cast<size_t>(K * N));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n)
        l.weights[static_cast<size_t>(k * N + n)] =
            alpha * w.values[static_cast<size_t>(trans ? n * K + k : k * N + n)];
    // A flatten of an image: ONNX orders its features C, H, W; the chip H, W, C.
    if (const auto it = chw_of.find(l.inputs[0]); it != chw_of.end()) {
      const int64_t C = it->second[0], H = it->second[1], W = it->second[2];
      std::vector<float> permuted(l.weights.size());
      for (int64_t c = 0; c < C; ++c)
        for (int64_t p = 0; p < H * W; ++p)
          for (int64_t n = 0; n < N; ++n)
            permuted[static_cast<size_t>((p * C + c) * N + n)] =
                l.weights[static_cast<size_t>((c * H * W + p) * N + n)];
      l.weights.swap(permuted);
    }
    l.bias.assign(static_cast<size_t>(N), 0.0f);
    if (op == "Gemm" && node.input_size() > 2 && !node.input(2).empty()) {
      const OnnxTensor& c = constant(node, 2);
      if (c.values.size() == 1)
        l.bias.assign(static_cast<size_t>(N), c.values[0]);
      else if (static_cast<int64_t>(c.values.size()) == N)
        l.bias = c.values;
      else
        throw ModelError(where + "the bias must be a scalar or one value per output");
      for (float& v : l.bias) v *= beta;
    }
    return true;
  }

  bool activation(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    const std::string& op = node.op_type();
    isa::ActFunc f = op == "Relu" ? isa::ActFunc::relu : op == "Sigmoid" ? isa::ActFunc::sigmoid : isa::ActFunc::tanh;
    if (op == "Clip") {
      const float lo =
          node.input_size() > 1 && !node.input(1).empty() ? constant(node, 1).values.at(0) : a.f("min", -3.4e38f);
      const float hi =
          node.input_size() > 2 && !node.input(2).empty() ? constant(node, 2).values.at(0) : a.f("max", 3.4e38f);
      if (lo == 0 && hi == 6)
        f = isa::ActFunc::relu6;
      else if (lo == 0 && hi > 1e30f)
        f = isa::ActFunc::relu;
      else
        throw ModelError(where + "only Clip(0, 6) and Clip(0, inf) run on the chip");
    }
    // A function right after the layer producing its input, which nothing else reads, is folded into it.
    const int previous = static_cast<int>(g.layers.size()) - 1;
    const int src = input_layer(node, 0);
    Layer& s = g.layers[static_cast<size_t>(src)];
    if (s.given)
      throw ModelError(where +
                       "a function of an integer operator's output does not run on the chip (its output range "
                       "already clips it)");
    const bool fusable = src == previous && src > 0 && s.act == isa::ActFunc::identity &&
                         consumers[node.input(0)] == 1 &&
                         (s.op == Op::kDense || s.op == Op::kConv2d || s.op == Op::kAdd);
    if (fusable) {
      s.act = f;
      layer_of[node.output(0)] = src;
      return false;
    }
    l.op = Op::kActivation;
    l.inputs = {src};
    l.act = f;
    return true;
  }

  bool pool(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    const std::string& op = node.op_type();
    l.op = op == "MaxPool" ? Op::kMaxPool : Op::kAvgPool;
    l.inputs = {input_layer(node, 0)};
    a.one_d = a.by_name.count("kernel_shape") && a.by_name.at("kernel_shape")->ints_size() == 1;
    const auto k = a.ints("kernel_shape", {});
    const auto s = a.ints("strides", {1, 1});
    const auto pads = a.ints("pads", {0, 0, 0, 0});
    const std::string auto_pad = a.s("auto_pad", "NOTSET");
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      l.pad_top = l.pad_left = -1;
      l.same_lower = auto_pad == "SAME_LOWER";
    } else if (auto_pad != "VALID" && pads.size() == 4) {
      l.pad_top = pads[0], l.pad_left = pads[1], l.pad_bottom = pads[2], l.pad_right = pads[3];
    } else if (auto_pad != "VALID") {
      throw ModelError(where + "only 2-D pads run on the chip");
    }
    l.count_pad = a.i("count_include_pad", 0) != 0;
    l.ceil_mode = a.i("ceil_mode", 0) != 0;
    if (k.size() != 2 || s.size() != 2 || a.ints("dilations", {1, 1}) != std::vector<int64_t>{1, 1})
      throw ModelError(where + "only 1-D and 2-D pooling without dilation runs on the chip");
    l.kh = k[0], l.kw = k[1], l.sh = s[0], l.sw = s[1];
    return true;
  }

  bool global_max_pool(const onnx::NodeProto& node, Attrs& /*a*/, const std::string& where, Layer& l) {
    // One max pool window over the whole image: [N, 1, 1, C].
    l.op = Op::kMaxPool;
    l.inputs = {input_layer(node, 0)};
    const auto& in = g.layers[static_cast<size_t>(l.inputs[0])].shape;
    if (in.size() != 4) throw ModelError(where + "needs an [N, C, H, W] input");
    l.kh = in[1], l.kw = in[2];
    return true;
  }

  bool global_average_pool(const onnx::NodeProto& node, Attrs& /*a*/, const std::string& /*where*/, Layer& l) {
    l.op = Op::kGlobalAvgPool;
    l.inputs = {input_layer(node, 0)};
    return true;
  }

  bool elementwise(const onnx::NodeProto& node, Attrs& /*a*/, const std::string& where, Layer& l) {
    const std::string& op = node.op_type();
    l.op = op == "Add" ? Op::kAdd : Op::kMul;
    const bool c0 = constants.count(node.input(0)) > 0, c1 = constants.count(node.input(1)) > 0;
    if (c0 && c1) throw ModelError(where + "both operands are constants; fold the node away");
    if (c0 || c1) {
      // A constant operand, broadcast to the other's shape, comes from the host image.
      const int src = input_layer(node, c0 ? 1 : 0);
      const Layer& x = g.layers[static_cast<size_t>(src)];
      if (chw_of.count(src))
        throw ModelError(where + "a constant operand of a flattened image does not run on the chip");
      // The other operand's dims as ONNX sees them (the batch as compiled).
      std::vector<int64_t> dims = src == 0           ? input_dims
                                  : one_d.count(src) ? std::vector<int64_t>{x.shape[0], x.shape[3], x.shape[2]}
                                  : x.is_image() ? std::vector<int64_t>{x.shape[0], x.shape[3], x.shape[1], x.shape[2]}
                                                 : x.shape;
      if (dims.size() >= 2) dims[0] = x.shape[0];
      Layer k;
      k.name = l.name + ".constant";
      k.op = Op::kConstant;
      k.inputs = {0};  // not read: it keeps the layer's form
      k.shape = x.shape;
      k.weights = broadcast(constant(node, c0 ? 0 : 1), dims, where);
      if (x.is_image()) k.weights = to_nhwc(k.weights, dims);
      g.layers.push_back(std::move(k));
      l.inputs = {src, static_cast<int>(g.layers.size()) - 1};
    } else {
      l.inputs = {input_layer(node, 0), input_layer(node, 1)};
    }
    return true;
  }

  bool concat(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    l.op = Op::kConcat;
    for (int i = 0; i < node.input_size(); ++i) l.inputs.push_back(input_layer(node, i));
    if (a.i("axis", 1) != 1)
      throw ModelError(where + "only concatenation along the channels (axis 1) runs on the chip");
    return true;
  }

  bool flatten(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    const std::string& op = node.op_type();
    const std::string& out = node.output(0);
    const int src = input_layer(node, 0);
    if (op == "Flatten" && a.i("axis", 1) != 1) throw ModelError(where + "only Flatten with axis 1 runs on the chip");
    if (op == "Reshape") {
      const OnnxTensor& shape = constant(node, 1);
      if (shape.values.size() != 2) throw ModelError(where + "only a reshape to [N, features] runs on the chip");
    }
    const auto& in = g.layers[static_cast<size_t>(src)].shape;
    if (in.size() == 2) {  // already flat
      layer_of[out] = src;
      return false;
    }
    l.op = Op::kFlatten;
    l.inputs = {src};
    chw_of[static_cast<int>(g.layers.size())] = {in[3], in[1], in[2]};
    return true;
  }

  // Softmax over the features of [N, F], on the host. (Any order of the
  // features, such as a flattened image's, is kept.)
  bool softmax(const onnx::NodeProto& node, Attrs& a, const std::string& where, Layer& l) {
    const int src = input_layer(node, 0);
    const auto& in = g.layers[static_cast<size_t>(src)].shape;
    const int64_t axis = a.i("axis", -1);
    if (in.size() != 2 || (axis != 1 && axis != -1))
      throw ModelError(where + "only Softmax over the last axis of an [N, features] tensor runs (on the host)");
    if (g.layers[static_cast<size_t>(src)].given)
      throw ModelError(where + "Softmax of an integer operator's output does not run on the chip");
    l.op = Op::kSoftmax;
    l.inputs = {src};
    return true;
  }

  // The graph's outputs, the program's tensors named as the graph names them (a user asks for the
  // graph's: `--output output=y.npy`, not `/fc/Gemm`).
  Graph finish(const onnx::GraphProto& graph) {
    for (const auto& o : graph.output()) {
      const auto it = layer_of.find(o.name());
      if (it == layer_of.end() || it->second == 0)
        throw ModelError(path + ": output '" + o.name() + "' is not computed");
      const Layer& l = g.layers[static_cast<size_t>(it->second)];
      const int other = g.find(o.name());
      if (other >= 0 && other != it->second)
        throw ModelError(path + ": output '" + o.name() + "' is also the name of node '" + o.name() +
                         "', which computes another tensor; rename one of them");
      if (std::find(g.outputs.begin(), g.outputs.end(), it->second) != g.outputs.end())
        throw ModelError(path + ": output '" + o.name() + "' is the tensor of another output (node '" + l.name +
                         "'); give it once");
      g.outputs.push_back(it->second);
      g.output_names.push_back(o.name());
    }
    infer_shapes(g);
    return g;
  }
};

}  // namespace

Graph load_onnx(const std::string& path, int64_t batch_override, const std::map<std::string, OnnxTensor>& bound) {
  const onnx::ModelProto model = parse_model(path);
  OnnxImport import(path, model.graph(), batch_override, bound);
  for (const auto& node : model.graph().node()) import.import_node(node);
  return import.finish(model.graph());
}

}  // namespace tpu::compiler
