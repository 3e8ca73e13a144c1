#pragma once

// ONNX models as compiler graphs. Float operators are imported and quantized
// like any model (NCHW becomes the compiler's NHWC; weights are transposed to
// match); QLinearConv, QLinearMatMul, ConvInteger and MatMulInteger keep their
// own scales and zero points (GivenQuant; the last two give int32 sums); a one-step LSTM becomes the chip's LSTM cell.
// An operator outside what the chip runs is reported by node.

#include <map>
#include <string>
#include <vector>

#include "tools/compiler/graph.h"

namespace tpu::compiler {

// A tensor read from an ONNX TensorProto file (.pb) or initializer.
struct OnnxTensor {
  std::vector<int64_t> dims;
  std::vector<float> values;  // converted to float
  int data_type = 1;          // ONNX TensorProto.DataType
};

OnnxTensor read_onnx_tensor(const std::string& path);  // throws ModelError
void write_onnx_tensor(const std::string& path, const OnnxTensor& t);

// The names of the model's graph inputs that are not initializers, in order.
std::vector<std::string> onnx_inputs(const std::string& path);

// Imports `path`; graph inputs named in `bound` are taken as constants (the
// weights of a conformance case arrive as inputs). Throws ModelError naming
// the node for anything outside the chip, and when the ONNX checker rejects the file.
Graph load_onnx(const std::string& path, int64_t batch_override = 0,
                const std::map<std::string, OnnxTensor>& bound = {});

// NCHW <-> NHWC for a 4-D tensor's values, and NCL <-> NLC for a 3-D one (an
// image one pixel high, as the importer holds it); other ranks pass unchanged.
std::vector<float> to_nhwc(const std::vector<float>& v, const std::vector<int64_t>& nchw);
std::vector<float> to_nchw(const std::vector<float>& v, const std::vector<int64_t>& nchw);

}  // namespace tpu::compiler
