// tpusim compress: Deep Compression of a model by a plan, written as a model
// the compiler deploys with its fully connected layers on the sparse engine
// (those shared in at most 4 bits, with exactly their trained values).

#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "tools/cli/commands.h"
#include "tools/train/deep_compression.h"
#include "tools/train/export.h"

namespace tpu::cli {

namespace {
struct CompressArgs {
  std::string model, plan, out, data = train::kFashionMnistDir;
  bool quiet = false;
};
}  // namespace

void add_compress_command(CLI::App& app) {
  auto args = std::make_shared<CompressArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compress", "Deep Compression of a model by a plan (prune, share, fine-tune) on Fashion-MNIST; writes "
                  "OUTDIR/model.yaml with the compressed weights");
  cmd->add_option("model", args->model, "Model file (trained, with train: none in the plan, or trained first)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--plan", args->plan, "Plan file (tools/train/deep_compression.h lists its keys)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", args->out, "Output directory")->required();
  cmd->add_option("--data", args->data, "Fashion-MNIST's directory (Debian's dataset-fashion-mnist)");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  cmd->callback([args] {
    const compiler::Graph graph = compiler::load_model(args->model, 1, false);
    const train::CompressPlan plan = train::load_plan(args->plan, graph);
    train::Network net = train::Network::from_graph(graph, plan.train.seed);
    const train::Dataset train_set = train::load_fashion_mnist(train::Split::kTrain, args->data);
    const train::Dataset test_set = train::load_fashion_mnist(train::Split::kTest, args->data);
    const std::vector<train::StageResult> stages = train::deep_compress(net, plan, train_set, test_set);
    train::LayerKeys sparse;
    nlohmann::json layers = nlohmann::json::array();
    for (const train::Network::Trained& t : net.trained()) {
      const auto bits = plan.bits.find(t.layer);
      if (bits != plan.bits.end())
        if (auto keys = train::sparse_engine_keys(*t.weights, bits->second); !keys.empty()) sparse[t.layer] = keys;
      size_t kept = 0;
      for (float v : t.weights->value) kept += v != 0;
      layers.push_back({{"layer", t.layer},
                        {"weights", t.weights->value.size()},
                        {"kept", kept},
                        {"bits", bits == plan.bits.end() ? 32 : bits->second},
                        {"sparse_engine", sparse.count(t.layer) > 0}});
    }
    std::string note = graph.name + " compressed by tpusim compress (" + args->plan + "):";
    nlohmann::json accuracy = nlohmann::json::object();
    for (const train::StageResult& s : stages) {
      char part[64];
      std::snprintf(part, sizeof part, " %s %.2f%%", s.stage.c_str(), 100 * s.test_accuracy);
      note += part;
      accuracy[s.stage] = s.test_accuracy;
      if (!args->quiet) std::printf("%-11s test accuracy %.2f%%\n", s.stage.c_str(), 100 * s.test_accuracy);
    }
    train::write_trained_model(args->model, net, note + ".", args->out, sparse);
    train::write_calibration(net, train_set, 256, args->out);  // for tpusim compile --calibrate
    write_output(args->out + "/compress.json",
                 nlohmann::json{{"model", args->model}, {"plan", args->plan}, {"accuracy", accuracy}, {"layers", layers}}
                         .dump(2) +
                     "\n");
    if (!args->quiet) std::printf("wrote %s/model.yaml, its weights, calibration.npy and compress.json\n", args->out.c_str());
  });
}

}  // namespace tpu::cli
