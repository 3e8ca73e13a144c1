#include "tools/train/storage_table.h"

namespace tpu::train {

std::vector<PackedLayer> pack_network(const Network& net, const CompressPlan& plan, const StageResult* stage) {
  std::vector<PackedLayer> layers;
  for (size_t i = 0; i < net.trained().size(); ++i) {
    const Network::Trained& t = net.trained()[i];
    const Param& w = *t.weights;
    const uint32_t outputs = static_cast<uint32_t>(w.shape.back());
    const uint32_t inputs = static_cast<uint32_t>(w.value.size() / outputs);
    const auto index_bits = plan.index_bits.find(t.layer);
    const int r = index_bits != plan.index_bits.end() ? index_bits->second : w.shape.size() == 4 ? 8 : 5;  // load_plan's defaults
    const auto bits = plan.bits.find(t.layer);
    if (stage || w.cluster.empty() || bits == plan.bits.end()) {
      layers.push_back(pack_layer(t.layer, inputs, outputs, stage ? stage->weights[i] : w.value,
                                  stage ? stage->biases[i] : t.bias->value, {}, 32, r));
      continue;
    }
    const std::vector<float> codebook(w.centroids.begin() + 1, w.centroids.end());  // [0] is the zero
    layers.push_back(pack_layer(t.layer, inputs, outputs, w.value, t.bias->value, codebook, bits->second, r));
  }
  return layers;
}

LayerKeys unpack_network(Network& net, const std::vector<PackedLayer>& layers, const std::string& file) {
  // Every layer matched and its shape checked first, so a file for another model changes nothing.
  if (layers.size() != net.trained().size())
    throw compiler::ModelError(file + ": " + std::to_string(layers.size()) + " layers for the model's " +
                               std::to_string(net.trained().size()) + " dense and conv2d layers");
  std::vector<const PackedLayer*> of;
  for (const Network::Trained& t : net.trained()) {
    const PackedLayer* found = nullptr;
    for (const PackedLayer& l : layers)
      if (l.name == t.layer) {
        if (found) throw compiler::ModelError(file + ": two layers named " + t.layer);
        found = &l;
      }
    if (!found) throw compiler::ModelError(file + ": no layer " + t.layer + " (the model's dense and conv2d layers)");
    const uint64_t n = static_cast<uint64_t>(t.weights->shape.back());
    if (found->outputs != n || uint64_t{found->inputs} * n != t.weights->value.size())
      throw compiler::ModelError(file + ": layer " + t.layer + " is " + std::to_string(found->inputs) + " x " +
                                 std::to_string(found->outputs) + ", the model's " +
                                 std::to_string(t.weights->value.size() / n) + " x " + std::to_string(n));
    of.push_back(found);
  }
  LayerKeys keys;
  for (size_t i = 0; i < of.size(); ++i) {
    const Network::Trained& t = net.trained()[i];
    t.weights->value = unpack_weights(*of[i]);
    t.bias->value = of[i]->bias;
    if (of[i]->weight_bits <= 8)
      if (auto k = sparse_engine_keys(*t.weights, of[i]->weight_bits); !k.empty()) keys[t.layer] = k;
  }
  return keys;
}

StorageTable storage_table(const std::vector<PackedLayer>& layers) {
  StorageTable t;
  std::vector<StoredSize> fixed, huffman;
  t.fixed_file = serialize_packed(layers, Coding::kFixed, &fixed);
  t.huffman_file = serialize_packed(layers, Coding::kHuffman, &huffman);
  StorageRow& all = t.total;
  all.layer = "total";
  for (size_t i = 0; i < layers.size(); ++i) {
    const PackedLayer& l = layers[i];
    StorageRow r;
    r.layer = l.name;
    r.weights = uint64_t{l.inputs} * l.outputs;
    r.entries = fixed[i].entries;
    r.fillers = fixed[i].fillers;
    r.kept = r.entries - r.fillers;
    r.weight_bits = l.weight_bits;
    r.index_bits = l.index_bits;
    const double entries = r.entries > 0 ? double(r.entries) : 1.0;
    const StoredSize& h = huffman[i];
    r.huffman_weight_bits = double(h.weight_bits + 8 * h.weight_table_bytes) / entries;
    r.huffman_index_bits = double(h.index_bits + 8 * h.index_table_bytes) / entries;
    r.dense_bytes = 4 * (r.weights + l.outputs);
    r.fixed_bytes = fixed[i].bytes;
    r.huffman_bytes = huffman[i].bytes;
    all.weights += r.weights;
    all.kept += r.kept;
    all.entries += r.entries;
    all.fillers += r.fillers;
    all.dense_bytes += r.dense_bytes;
    t.rows.push_back(r);
  }
  all.fixed_bytes = t.fixed_file.size();
  all.huffman_bytes = t.huffman_file.size();
  return t;
}

}  // namespace tpu::train
