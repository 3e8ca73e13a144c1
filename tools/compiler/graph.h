#pragma once

// A network as the compiler sees it: layers in topological order, each with
// its attributes, output shape and float weights. Images are NHWC, vectors
// [N, F]; the first dimension is the batch.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "isa/isa.h"

namespace tpu::compiler {

// A mistake in a model; the message names the file and the layer.
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Op {
  kInput,
  kDense,
  kConv2d,
  kMaxPool,
  kAvgPool,
  kGlobalAvgPool,
  kAdd,
  kMul,         // elementwise product
  kConcat,      // along the last (feature or channel) axis
  kActivation,  // a function on its own
  kZeros,       // a constant zero tensor [N, units] (recurrent state at the first step)
  kConstant,    // a fixed tensor of seeded values (`weights`), shipped with the program
  kFlatten,
  kMatMul,     // product of two activations, per attention head (see Layer::heads)
  kSoftmax,    // over the last axis, on the host
  kLayerNorm,  // over the last axis, on the host; weights = gamma, bias = beta
  kToken       // one token (Layer::index) of a sequence [N, 1, T, F]: [N, F]
};

const char* op_name(Op op);

// Quantization a model states itself (ONNX's integer operators): used as it
// is instead of calibrating. Zero points are of the int8 tensors the chip
// holds (uint8 ones are shifted by -128); weights are already w - w_zp, in
// int8 planes over copies of the input where that leaves int8.
struct GivenQuant {
  double scale = 1;  // of the layer's output
  int zp = 0;
  std::vector<int8_t> weights;        // dense, conv2d: in the float layout; empty for a concat
  std::vector<double> weight_scales;  // per output channel
  std::vector<int32_t> bias;          // at scale input * weight; empty: none
  bool int32_out = false;             // the sums themselves leave the chip (ConvInteger, MatMulInteger)
  int planes = 1;                     // int8 weight planes over as many copies of the input (each product counted once)
};

struct Layer {
  std::string name;
  Op op = Op::kInput;
  std::vector<int> inputs;  // indices of earlier layers
  int line = 0;             // where the model file defines it

  // dense (on the last axis of vectors or images): units; conv2d: filters, kernel, stride, padding (top, left, bottom,
  // right), dilation, groups
  int64_t units = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, groups = 1;
  bool count_pad = false;  // avgpool: padded taps count, as zeros, in each window's divisor
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;  // pad_top < 0: "same", resolved by infer_shapes
  bool same_lower = false;  // "same" with any odd pixel of padding at the start (ONNX SAME_LOWER), not the end
  bool ceil_mode =
      false;  // pooling: a last partial window is kept (extra padding at the bottom and right, never counted)
  isa::ActFunc act = isa::ActFunc::identity;  // applied to the layer's output
  // matmul of a and b, both [N, *, rows, features], per head h of `heads`:
  //   transpose_b: a [N, 1, S, heads*d] . b [N, 1, T, heads*d]^T -> [N, heads, S, T] (attention scores)
  //   otherwise:   a [N, heads, S, T] . b [N, 1, T, heads*d] -> [N, 1, S, heads*d] (attention context)
  // scaled by alpha.
  int64_t heads = 1;
  bool transpose_b = false;
  double alpha = 1;
  double eps = 1e-5;  // layernorm
  int64_t index = 0;  // token
  int shares = -1;    // dense: takes the weights of this earlier layer (an LSTM's gates at every time step)
  // dense with `engine: sparse`: on the sparse engine, its weights pruned to `density` by magnitude
  // and shared among 2^bits - 1 values (one-shot Deep Compression, compress.h).
  bool sparse = false;
  double density = 1;
  int bits = 4;
  bool slices = false;  // may run in column slices when too large for the engine's SRAMs

  std::vector<int64_t> shape;  // output shape
  // Float weights: dense [K][N]; conv2d [kh][kw][Cin/groups][Cout]; bias [N or Cout];
  // layernorm: gamma and beta [C].
  std::vector<float> weights, bias;
  std::optional<GivenQuant> given;

  bool is_image() const { return shape.size() == 4; }
  bool padded() const { return pad_top || pad_left || pad_bottom || pad_right; }
  // An average pool dividing each window by its taps inside the image (not counting padding).
  bool averages_valid_taps() const { return op == Op::kAvgPool && !count_pad && padded(); }
  int64_t channels() const { return shape.back(); }
};

struct Graph {
  std::string file;  // for messages
  // Every file loading the model read, the model's own first (then, say, the weight files it
  // names): what a compiled program depends on besides the options and the chip.
  std::vector<std::string> files_read;
  std::string name;
  std::string note;
  uint64_t seed = 1;
  std::vector<Layer> layers;  // layers[0] is the input
  std::vector<int> outputs;
  // What a program calls each output (an ONNX graph's output names; empty: its layer's name). Layers
  // keep their nodes' names for messages.
  std::vector<std::string> output_names;
  const std::string& output_name(size_t k) const {
    return output_names.empty() ? layers[static_cast<size_t>(outputs[k])].name : output_names[k];
  }

  int find(const std::string& layer) const;
  // "model.yaml: layer 'fc2' (line 12): " for messages.
  std::string where(const Layer& l) const;
};

// Reads models/*.yaml, or a SCALE-Sim topology file (*.csv); throws ModelError. Weights the model
// does not give come from generate_weights, unless `generate` is false (a timing-only compile,
// which needs the shapes alone).
Graph load_model(const std::string& path, int64_t batch_override = 0, bool generate = true);

// A SCALE-Sim topology (conv: name, IFMAP height, width, filter height, width,
// channels, filters, stride; GEMM: name, M, N, K): each row one layer, inputs
// pre-padded and outputs valid as in SCALE-Sim. A layer whose input matches
// the previous layer's output reads it; any other reads its own seeded tensor.
Graph load_scalesim(const std::string& path, int64_t batch_override = 0, bool generate = true);
// Shapes from the input through every layer; throws ModelError naming the layer.
void infer_shapes(Graph& g);

// One LSTM step on layer xi from the state (h_prev, c_prev), or from zeros
// (layers ".h0", ".c0") when they are -1: concat [x, h], the gates i, f, g, o
// as dense layers (named proto.name + ".i" and so on, in that order from the
// returned index), c = f*c_prev + i*g (".c") and h = o * tanh(c), which
// carries proto's name. Weights are left to the caller, or, with `shares`,
// are those of the gates from index `shares` on (an earlier step's).
int add_lstm_cell(Graph& g, const Layer& proto, int xi, int64_t units, int h_prev = -1, int c_prev = -1,
                  int shares = -1);
// Weights for layers that have none, from a seeded generator: He-normal
// weights and small normal biases, so activations keep their scale.
void generate_weights(Graph& g);
// The float weights a dense or conv2d layer has (given or generated): fan-in x units.
int64_t weight_elements(const Graph& g, const Layer& l);

int64_t elements(const std::vector<int64_t>& shape);

// The same network (same weights) for another batch size.
Graph with_batch(const Graph& g, int64_t batch);

}  // namespace tpu::compiler
