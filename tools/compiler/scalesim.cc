#include <fstream>
#include <sstream>

#include "tools/compiler/graph.h"

namespace tpu::compiler {

namespace {

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream s(line);
  std::string cell;
  while (std::getline(s, cell, ',')) {
    const size_t a = cell.find_first_not_of(" \t\r"), b = cell.find_last_not_of(" \t\r");
    cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
  }
  while (!cells.empty() && cells.back().empty()) cells.pop_back();  // the trailing comma
  return cells;
}

}  // namespace

Graph load_scalesim(const std::string& path, int64_t batch_override, bool generate) {
  std::ifstream f(path);
  if (!f) throw ModelError(path + ": cannot open the topology");
  Graph g;
  g.file = path;
  g.files_read.push_back(path);
  g.name = path.substr(path.find_last_of('/') + 1);
  g.note = "SCALE-Sim topology";
  const int64_t batch = batch_override > 0 ? batch_override : 1;
  std::string line;
  int number = 0;
  bool header = true, gemm = false;
  while (std::getline(f, line)) {
    ++number;
    const std::vector<std::string> cells = split_csv(line);
    if (cells.empty()) continue;
    if (header) {  // the column names say which of the two formats this is
      header = false;
      if (cells.size() == 4) {
        gemm = true;
      } else if (cells.size() != 8) {
        throw ModelError(path + ":" + std::to_string(number) +
                         ": expected the conv header (Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter "
                         "Width, Channels, Num Filter, Strides) or the GEMM header (Layer Name, M, N, K)");
      }
      continue;
    }
    const size_t want = gemm ? 4 : 8;
    if (cells.size() != want)
      throw ModelError(path + ":" + std::to_string(number) + ": expected " + std::to_string(want) + " columns, got " +
                       std::to_string(cells.size()));
    std::vector<int64_t> v;
    for (size_t i = 1; i < cells.size(); ++i) {
      try {
        size_t used = 0;
        v.push_back(std::stoll(cells[i], &used));
        if (used != cells[i].size() || v.back() <= 0) throw std::invalid_argument("");
      } catch (const std::exception&) {
        throw ModelError(path + ":" + std::to_string(number) + ": column " + std::to_string(i + 1) + " ('" + cells[i] +
                         "') must be a positive integer");
      }
    }
    // The layer's input: [batch, H, W, C] for a convolution, [M, K] for a GEMM.
    const std::vector<int64_t> in_shape =
        gemm ? std::vector<int64_t>{v[0], v[2]} : std::vector<int64_t>{batch, v[0], v[1], v[4]};
    int input;
    if (g.layers.empty()) {
      Layer in;
      in.name = "input";
      in.shape = in_shape;
      in.line = number;
      g.layers.push_back(in);
      input = 0;
    } else if (g.layers.back().shape == in_shape) {
      input = static_cast<int>(g.layers.size()) - 1;
    } else {
      Layer c;
      c.name = cells[0] + ".ifmap";
      c.op = Op::kConstant;
      c.inputs = {0};  // not read: it keeps the layer's form (every layer but the input has one)
      c.shape = in_shape;
      c.line = number;
      g.layers.push_back(c);
      input = static_cast<int>(g.layers.size()) - 1;
    }
    Layer l;
    l.name = cells[0];
    l.line = number;
    l.inputs = {input};
    if (gemm) {
      l.op = Op::kDense;
      l.units = v[1];
    } else {
      l.op = Op::kConv2d;
      l.kh = v[2];
      l.kw = v[3];
      l.units = v[5];
      l.sh = l.sw = v[6];
    }
    if (g.find(l.name) >= 0)
      throw ModelError(path + ":" + std::to_string(number) + ": layer '" + l.name + "' appears twice");
    g.layers.push_back(l);
    infer_shapes(g);  // the next row may read this layer's output
  }
  if (g.layers.size() < 2) throw ModelError(path + ": the topology has no layers");
  g.outputs.push_back(static_cast<int>(g.layers.size()) - 1);
  infer_shapes(g);
  if (generate) generate_weights(g);
  return g;
}

}  // namespace tpu::compiler
