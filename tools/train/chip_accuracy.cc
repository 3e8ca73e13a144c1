#include "tools/train/chip_accuracy.h"

#include <algorithm>
#include <cstring>

#include "sim/top/isolated_run.h"
#include "tools/compiler/graph.h"
#include "tools/compiler/interpreter.h"
#include "tools/tensor_io/npy.h"

namespace tpu::train {

namespace {

// Images [from, from + n) of a batch of `batch` as floats (pixels / 255), the rest blank.
std::vector<float> batch_images(const Dataset& data, int64_t from, int64_t n, int64_t batch) {
  const int64_t pixels = data.rows * data.cols;
  std::vector<float> real(static_cast<size_t>(batch * pixels), 0.0f);
  for (int64_t i = 0; i < n * pixels; ++i)
    real[static_cast<size_t>(i)] = float(data.pixels[static_cast<size_t>(from * pixels + i)]) / 255.0f;
  return real;
}

}  // namespace

ChipAccuracy chip_accuracy(const isa::Program& program, const sim::ChipParams& chip, const Dataset& data,
                           int64_t images) {
  const isa::TensorDesc *in = nullptr, *out = nullptr;
  for (const isa::TensorDesc& t : program.tensors) {
    const isa::TensorDesc*& slot = t.role == isa::TensorRole::kInput ? in : out;
    if (slot) throw compiler::ModelError("the program has more than one " + std::string(isa::to_string(t.role)) + " tensor");
    slot = &t;
  }
  if (!in || !out) throw compiler::ModelError("the program needs one input and one output tensor");
  if (in->shape.empty() || in->shape[0] < 1) throw compiler::ModelError("the program's input '" + in->name + "' has no batch");
  const int64_t batch = in->shape[0], pixels = data.rows * data.cols;
  if (in->dtype != isa::DType::kI8 || in->elements() != batch * pixels)
    throw compiler::ModelError("the program's input '" + in->name + "' does not take batches of " + std::to_string(batch) +
                               " int8 images of " + std::to_string(pixels) + " pixels");
  if (out->dtype != isa::DType::kI8 || out->shape.size() != 2 || out->shape[0] != batch)
    throw compiler::ModelError("the program's output '" + out->name + "' is not an int8 row of class scores per image");
  const int64_t classes = out->shape[1];
  ChipAccuracy a;
  a.images = images > 0 ? std::min(images, data.count) : data.count;
  if (a.images == 0) throw compiler::ModelError("the data set has no images");
  for (int64_t from = 0; from < a.images; from += batch) {
    // The batch's images (a short last batch filled with blank ones, whose classes are not counted),
    // quantized as any float input to the chip is (tensor_io::tensor_bytes).
    const int64_t n = std::min(batch, a.images - from);
    tensor_io::Array images;
    images.dtype = isa::DType::kF32;
    images.shape = in->shape;
    const std::vector<float> real = batch_images(data, from, n, batch);
    images.bytes.resize(real.size() * sizeof(float));
    std::memcpy(images.bytes.data(), real.data(), images.bytes.size());
    std::vector<uint8_t> x = tensor_io::tensor_bytes(images, *in, "the data set's images");
    sim::IsolatedOptions o;
    o.memories = false;
    o.inputs[in->name] = std::move(x);
    const sim::IsolatedRun run = sim::run_isolated(chip, program, o);
    if (!run.halted())
      throw std::runtime_error("the program did not halt on images " + std::to_string(from) + " to " +
                               std::to_string(from + n - 1) + ": " + run.result.value("fault", std::string("?")));
    const auto found = run.outputs.find(out->name);
    if (found == run.outputs.end() || found->second.size() < static_cast<size_t>(batch * classes))
      throw std::runtime_error("the run did not return the output '" + out->name + "' whole");
    const std::vector<uint8_t>& y = found->second;
    for (int64_t i = 0; i < n; ++i) {
      const int8_t* row = reinterpret_cast<const int8_t*>(&y[static_cast<size_t>(i * classes)]);
      const int8_t* best = std::max_element(row, row + classes);
      a.predictions.push_back(static_cast<uint8_t>(best - row));
      a.outputs.insert(a.outputs.end(), row, row + classes);
      a.ties += std::count(row, row + classes, *best) > 1;
      a.correct += best - row == data.labels[static_cast<size_t>(from + i)];
    }
    ++a.runs;
    a.latency_us += run.result["latency_us"].get<double>();
    a.energy_uj += run.result["energy"]["total_uj"].get<double>();
    a.dynamic_uj += run.result["energy"]["dynamic_uj"].get<double>();
    a.weight_bytes += run.result["units"]["weight_memory"]["read_bytes"].get<double>();
  }
  const double inferences = double(a.images);
  a.latency_us /= double(a.runs);
  a.energy_uj /= inferences;
  a.dynamic_uj /= inferences;
  a.weight_bytes /= inferences;
  return a;
}

std::vector<int8_t> interpreter_outputs(const compiler::QGraph& graph, const Dataset& data, int64_t images) {
  const int64_t batch = graph.graph->layers.front().shape[0];
  images = images > 0 ? std::min(images, data.count) : data.count;
  std::vector<int8_t> rows;
  for (int64_t from = 0; from < images; from += batch) {
    const int64_t n = std::min(batch, images - from);
    const std::vector<int8_t> y =
        compiler::run_int8(graph, compiler::quantize_input(graph, batch_images(data, from, n, batch))).back();
    const size_t classes = y.size() / static_cast<size_t>(batch);
    rows.insert(rows.end(), y.begin(), y.begin() + static_cast<long>(classes * static_cast<size_t>(n)));
  }
  return rows;
}

}  // namespace tpu::train
