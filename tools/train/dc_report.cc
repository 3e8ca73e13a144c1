#include "tools/train/dc_report.h"

#include <filesystem>

#include "sim/base/config.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/compress.h"
#include "tools/train/export.h"

namespace tpu::train {

namespace {

// The plan as the report runs it: the checked-in one, or shortened for a test.
CompressPlan plan_for(const DcReportOptions& o, const std::string& file, const compiler::Graph& g) {
  CompressPlan p = load_plan(file, g);
  if (o.train_images > 0) p.train.train_images = o.train_images;
  if (o.test_images > 0) p.train.test_images = p.sensitivity_images = o.test_images;
  if (o.epochs > 0) p.train.epochs = o.epochs;
  if (o.retrain_epochs >= 0) p.retrain_epochs = o.retrain_epochs;
  if (o.finetune_epochs >= 0) p.finetune_epochs = o.finetune_epochs;
  return p;
}

// The network as it was after a stage.
void set_stage(Network& net, const StageResult& stage) {
  for (size_t i = 0; i < net.trained().size(); ++i) {
    net.trained()[i].weights->value = stage.weights[i];
    net.trained()[i].bias->value = stage.biases[i];
  }
}

bool is_conv(const compiler::Graph& g, const std::string& layer) {
  return g.layers[static_cast<size_t>(g.find(layer))].op == compiler::Op::kConv2d;
}

// Accuracy vs bits (the paper's Fig. 8): from a stage's weights, every layer of one kind shared in
// `bits` (2^bits - 1 values and the zero) without retraining, the other layers as they are.
std::vector<BitsPoint> bits_sweep(Network& net, const compiler::Graph& g, const DcNetwork& n, const DcReportOptions& o,
                                  const ImageRange& images) {
  std::vector<BitsPoint> points;
  for (const StageResult& stage : n.result.stages) {
    if (stage.stage != "float" && stage.stage != "pruned") continue;
    for (const char* kind : {"conv", "fc"}) {
      bool any = false;
      for (const Network::Trained& t : net.trained()) any |= is_conv(g, t.layer) == (std::string(kind) == "conv");
      if (!any) continue;
      for (int bits : o.bits) {
        set_stage(net, stage);
        for (const Network::Trained& t : net.trained()) {
          if (is_conv(g, t.layer) != (std::string(kind) == "conv")) continue;
          Param& w = *t.weights;
          const compiler::SharedWeights s =
              compiler::share_weights(w.value, (1 << bits) - 1, n.settings.init, n.settings.train.seed);
          for (size_t i = 0; i < w.value.size(); ++i) w.value[i] = s.codebook[s.indices[i]];
        }
        points.push_back({kind, stage.stage == "pruned", bits, accuracy(net, images)});
      }
    }
  }
  set_stage(net, n.result.stages.back());
  return points;
}

// A deployed network on a chip: compiled from its model file with the first training images as
// calibration, the test images classified on the chip, each row compared with the interpreter's.
ChipRun on_chip(const std::string& model, const std::string& chip_file, const Network& net, const Dataset& train,
                const Dataset& test, const DcReportOptions& o) {
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(o.source + "/" + chip_file));
  compiler::CompileOptions c;
  c.batch = o.chip_batch;
  c.calibration = first_images(net, train, 256).v;
  const compiler::Compiled compiled = compiler::compile_model(model, chip, c);
  ChipRun run;
  run.chip = chip_file;
  run.accuracy = chip_accuracy(compiled.lowered.program, chip, test, o.chip_images);
  for (const auto& layer : compiled.lowered.report.layers) run.tiles += layer.tiles;
  const std::vector<int8_t> want = interpreter_outputs(compiled.qgraph, test, o.chip_images);
  const size_t classes = run.accuracy.outputs.size() / static_cast<size_t>(run.accuracy.images);
  for (int64_t i = 0; i < run.accuracy.images; ++i)
    run.agree += std::equal(want.begin() + static_cast<long>(classes) * i, want.begin() + static_cast<long>(classes) * (i + 1),
                            run.accuracy.outputs.begin() + static_cast<long>(classes) * i);
  return run;
}

DcNetwork run_network(const DcReportOptions& o, const std::string& name, const Dataset& train, const Dataset& test) {
  DcNetwork n;
  n.name = name;
  n.model = "models/" + name + ".yaml";
  n.plan = "configs/compress/" + name + ".yaml";
  const std::string model = o.source + "/" + n.model;
  const compiler::Graph g = compiler::load_model(model, 1, false);
  n.settings = plan_for(o, o.source + "/" + n.plan, g);
  Network net = Network::from_graph(g, n.settings.train.seed);
  n.result = deep_compress(net, n.settings, train, test);
  n.table = storage_table(pack_network(net, n.settings));
  for (const StageResult& s : n.result.stages)
    if (s.stage == "pruned") {
      n.pruned_file = serialize_packed(pack_network(net, n.settings, &s), Coding::kFixed);
      n.pruned_bytes = n.pruned_file.size();
    }
  uint64_t most = 0;
  for (const Network::Trained& t : net.trained())
    if (t.weights->value.size() > most) most = t.weights->value.size(), n.histogram_layer = t.layer;
  const ImageRange choice = choice_images(n.settings.train, train, test, n.settings.sensitivity_images);
  n.choice_images = choice.name;
  n.bits = bits_sweep(net, g, n, o, choice);
  for (uint64_t seed : o.anchor_seeds) {
    TrainConfig c = n.settings.train;
    c.seed = seed;
    c.validation_images = 0;
    Network again = Network::from_graph(g, seed);
    Trainer t(again, c);
    for (int64_t e = 0; e < c.epochs; ++e) t.epoch(train, test);
    n.seed_logs.push_back(t.log());
  }

  // Dense: the float network, int8 on the matrix unit. Compressed: the network the packed file
  // holds (read back from its bytes), its shared fc layers on the sparse engine.
  const std::string work = o.work + "/" + name;
  set_stage(net, n.result.stages.front());
  const std::string dense = write_trained_model(model, net, g.name + " as trained for the report", work + "/float");
  n.dense = on_chip(dense, o.dense_chip, net, train, test, o);
  n.dense.float_accuracy = accuracy(net, test, o.chip_images);
  Network packed = Network::from_graph(g, 1);
  const LayerKeys keys = unpack_network(packed, parse_packed(n.table.huffman_file, name + ".dcz"), name + ".dcz");
  const std::string compressed =
      write_trained_model(model, packed, g.name + " as the report compressed it", work + "/compressed", keys);
  n.compressed = on_chip(compressed, o.sparse_chip, packed, train, test, o);
  n.compressed.float_accuracy = accuracy(packed, test, o.chip_images);
  return n;
}

}  // namespace

DcReport deep_compression_report(const DcReportOptions& o) {
  const Dataset train = load_fashion_mnist(Split::kTrain, o.data);
  const Dataset test = load_fashion_mnist(Split::kTest, o.data);
  DcReport r;
  r.train_count = train.count;
  r.test_count = test.count;
  for (const std::string& name : o.networks) r.networks.push_back(run_network(o, name, train, test));
  write_dc_text(o, r);
  return r;
}

}  // namespace tpu::train
