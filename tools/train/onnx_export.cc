#include "tools/train/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>


#include "isa/program.h"

namespace tpu::train {

namespace {

void add_ints(onnx::NodeProto* n, const char* name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void add_int(onnx::NodeProto* n, const char* name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

void add_tensor(onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
                const std::vector<float>& values) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
}

void add_value(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int64_t>& dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

onnx::NodeProto* add_node(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& inputs,
                          const std::string& output) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(output);
  for (const std::string& i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

// NHWC shape -> NCHW
std::vector<int64_t> nchw(const std::vector<int64_t>& s) {
  return s.size() == 4 ? std::vector<int64_t>{s[0], s[3], s[1], s[2]} : s;
}

}  // namespace

void write_onnx(const Network& net, const compiler::Graph& g, const std::string& path) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("tpusim train");
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* graph = m.mutable_graph();
  graph->set_name(g.name);
  add_value(graph->add_input(), g.layers[0].name, nchw(g.layers[0].shape));
  std::string x = g.layers[0].name;
  // Where a flatten left an image's features: ONNX flattens C, H, W; the compiler and trainer H, W, C.
  std::vector<int64_t> flattened;
  size_t trained = 0;
  for (size_t i = 1; i < g.layers.size(); ++i) {
    const compiler::Layer& l = g.layers[i];
    const std::vector<int64_t>& in = g.layers[i - 1].shape;
    const bool act = l.act == isa::ActFunc::relu;
    const std::string out = act ? l.name + "/linear" : l.name;
    if (l.op == compiler::Op::kDense || l.op == compiler::Op::kConv2d) {
      const Network::Trained& t = net.trained()[trained++];
      const std::vector<float>& w = t.weights->value;
      if (l.op == compiler::Op::kDense) {
        const int64_t K = in[1], N = l.units;
        std::vector<float> rows = w;  // [K][N], its rows reordered to ONNX's features
        if (!flattened.empty()) {
          const int64_t H = flattened[0], W = flattened[1], C = flattened[2];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t y = 0; y < H; ++y)
              for (int64_t xx = 0; xx < W; ++xx)
                std::copy_n(&w[static_cast<size_t>(((y * W + xx) * C + c) * N)], N,
                            &rows[static_cast<size_t>(((c * H + y) * W + xx) * N)]);
          flattened.clear();
        }
        add_tensor(graph, l.name + ".weight", {K, N}, rows);
        add_tensor(graph, l.name + ".bias", {N}, t.bias->value);
        add_node(graph, "Gemm", {x, l.name + ".weight", l.name + ".bias"}, out);
      } else {
        const int64_t k = l.kh, cin = in[3], cout = l.units;
        std::vector<float> oihw(w.size());  // [kh][kw][Cin][Cout] -> [Cout][Cin][kh][kw]
        for (int64_t ky = 0; ky < k; ++ky)
          for (int64_t kx = 0; kx < k; ++kx)
            for (int64_t c = 0; c < cin; ++c)
              for (int64_t o = 0; o < cout; ++o)
                oihw[static_cast<size_t>(((o * cin + c) * k + ky) * k + kx)] =
                    w[static_cast<size_t>(((ky * k + kx) * cin + c) * cout + o)];
        add_tensor(graph, l.name + ".weight", {cout, cin, k, k}, oihw);
        add_tensor(graph, l.name + ".bias", {cout}, t.bias->value);
        onnx::NodeProto* n = add_node(graph, "Conv", {x, l.name + ".weight", l.name + ".bias"}, out);
        add_ints(n, "kernel_shape", {k, k});
        add_ints(n, "strides", {l.sh, l.sw});
        add_ints(n, "pads", {l.pad_top, l.pad_left, l.pad_bottom, l.pad_right});
      }
    } else if (l.op == compiler::Op::kMaxPool || l.op == compiler::Op::kAvgPool) {
      onnx::NodeProto* n = add_node(graph, l.op == compiler::Op::kMaxPool ? "MaxPool" : "AveragePool", {x}, out);
      add_ints(n, "kernel_shape", {l.kh, l.kw});
      add_ints(n, "strides", {l.sh, l.sw});
    } else if (l.op == compiler::Op::kFlatten) {
      if (in.size() == 4) flattened = {in[1], in[2], in[3]};
      add_int(add_node(graph, "Flatten", {x}, out), "axis", 1);
    } else {
      throw compiler::ModelError(g.where(l) + "no ONNX export for " + std::string(compiler::op_name(l.op)));
    }
    if (act) add_node(graph, "Relu", {out}, l.name);
    x = l.name;
  }
  add_value(graph->add_output(), x, nchw(g.layers.back().shape));
  try {
    onnx::checker::check_model(m);  // what every ONNX reader will ask of it
  } catch (const std::exception& e) {
    throw compiler::ModelError(path + ": the exported model fails the ONNX checker: " + e.what());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes)) throw compiler::ModelError(path + ": cannot serialize the ONNX model");
  isa::write_file_atomically(path, bytes);
}

}  // namespace tpu::train
