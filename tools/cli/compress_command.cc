// tpusim compress: Deep Compression of a model by a plan, written as a model
// the compiler deploys with its fully connected layers on the sparse engine
// (those shared in at most 4 bits, with exactly their trained values).

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "isa/program.h"
#include "tools/cli/commands.h"
#include "tools/train/deep_compression.h"
#include "tools/train/export.h"
#include "tools/train/gemm.h"
#include "tools/train/onnx_export.h"
#include "tools/train/storage_table.h"

namespace tpu::cli {

namespace {
struct CompressArgs {
  std::string model, plan, out, data = train::kFashionMnistDir, packed;
  int threads = 1;
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
  cmd->add_option("--threads", args->threads, "Threads for the matrix products (the same weights for any number)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  cmd->callback([args] {
    train::set_gemm_threads(args->threads);
    const compiler::Graph graph = compiler::load_model(args->model, 1, false);
    const train::CompressPlan plan = train::load_plan(args->plan, graph);
    train::Network net = train::Network::from_graph(graph, plan.train.seed);
    const train::Dataset train_set = train::load_fashion_mnist(train::Split::kTrain, args->data);
    const train::Dataset test_set = train::load_fashion_mnist(train::Split::kTest, args->data);
    const train::CompressionResult result = train::deep_compress(net, plan, train_set, test_set);
    const std::string out = args->out;
    std::filesystem::create_directories(out);

    // The storage: fixed-width (P+Q) and Huffman-coded (P+Q+H) files, and the pruned stage's (P).
    const train::StorageTable table = train::storage_table(train::pack_network(net, plan));
    write_output_bytes(out + "/compressed_pq.dcz", table.fixed_file);
    write_output_bytes(out + "/compressed_pqh.dcz", table.huffman_file);
    nlohmann::json storage = {{"dense_float32_bytes", table.total.dense_bytes},
                              {"pq_bytes", table.total.fixed_bytes},
                              {"pqh_bytes", table.total.huffman_bytes}};
    for (const train::StageResult& s : result.stages)
      if (s.stage == "pruned") {
        const std::vector<uint8_t> pruned = train::serialize_packed(train::pack_network(net, plan, &s), train::Coding::kFixed);
        write_output_bytes(out + "/pruned.dcz", pruned);
        storage["pruned_bytes"] = pruned.size();
      }
    // The model written for the compiler is the packed file's, read back (as `tpusim unpack` reads it).
    train::Network deployed = train::Network::from_graph(graph, 1);
    const std::string pqh = out + "/compressed_pqh.dcz";
    const train::LayerKeys sparse = train::unpack_network(deployed, train::parse_packed(table.huffman_file, pqh), pqh);
    nlohmann::json layers = nlohmann::json::array();
    for (const train::StorageRow& r : table.rows) {
      layers.push_back({{"layer", r.layer}, {"weights", r.weights}, {"kept", r.kept}, {"entries", r.entries},
                        {"fillers", r.fillers}, {"weight_bits", r.weight_bits}, {"index_bits", r.index_bits},
                        {"huffman_weight_bits", r.huffman_weight_bits}, {"huffman_index_bits", r.huffman_index_bits},
                        {"dense_bytes", r.dense_bytes}, {"pq_bytes", r.fixed_bytes}, {"pqh_bytes", r.huffman_bytes},
                        {"sparse_engine", sparse.count(r.layer) > 0}});
    }
    std::string note = graph.name + " compressed by tpusim compress (" + args->plan + "):";
    nlohmann::json accuracy = nlohmann::json::object(), validation = nlohmann::json::object();
    for (const train::StageResult& s : result.stages) {
      char part[64];
      std::snprintf(part, sizeof part, " %s %.2f%%", s.stage.c_str(), 100 * s.test_accuracy);
      note += part;
      accuracy[s.stage] = s.test_accuracy;
      if (s.validation_accuracy >= 0) validation[s.stage] = s.validation_accuracy;
      if (!args->quiet && s.validation_accuracy >= 0)
        std::printf("%-11s test accuracy %.2f%%  (validation %.2f%%)\n", s.stage.c_str(), 100 * s.test_accuracy,
                    100 * s.validation_accuracy);
      else if (!args->quiet)
        std::printf("%-11s test accuracy %.2f%%\n", s.stage.c_str(), 100 * s.test_accuracy);
    }
    nlohmann::json sensitivity = nlohmann::json::array();
    // images: what the accuracy is of ("validation", held out of the training set, or "test").
    std::string csv = "layer,density,images,accuracy\n";
    for (const train::SensitivityPoint& p : result.sensitivity) {
      sensitivity.push_back({{"layer", p.layer}, {"density", p.density}, {"accuracy", p.accuracy}});
      char line[192];
      std::snprintf(line, sizeof line, "%s,%.6g,%s,%.6f\n", p.layer.c_str(), p.density, result.sensitivity_images.c_str(),
                    p.accuracy);
      csv += line;
    }
    if (!result.sensitivity.empty()) write_output(out + "/sensitivity.csv", csv);
    train::write_trained_model(args->model, deployed, note + ".", out, sparse);
    train::write_calibration(net, train_set, 256, out);  // for tpusim compile --calibrate
    train::write_onnx(net, graph, out + "/model.onnx");
    write_output(out + "/compress.json", nlohmann::json{{"model", args->model},
                                                        {"plan", args->plan},
                                                        {"accuracy", accuracy},
                                                        {"validation_accuracy",  // null: none held out
                                                         validation.empty() ? nlohmann::json() : validation},
                                                        {"density", result.density},
                                                        {"sensitivity", sensitivity},
                                                        {"sensitivity_images",  // null: no analysis
                                                         result.sensitivity.empty() ? nlohmann::json()
                                                                                    : nlohmann::json(result.sensitivity_images)},
                                                        {"storage", storage},
                                                        {"layers", layers}}
                                                 .dump(2) +
                                             "\n");
    if (!args->quiet) {
      std::printf("storage: %llu bytes dense float32, %llu P+Q (%.1fx), %llu P+Q+H (%.1fx)\n",
                  static_cast<unsigned long long>(table.total.dense_bytes),
                  static_cast<unsigned long long>(table.total.fixed_bytes),
                  double(table.total.dense_bytes) / double(table.total.fixed_bytes),
                  static_cast<unsigned long long>(table.total.huffman_bytes),
                  double(table.total.dense_bytes) / double(table.total.huffman_bytes));
      std::printf("wrote %s/model.yaml, its weights, model.onnx, calibration.npy, compressed_pq.dcz, compressed_pqh.dcz%s%s "
                  "and compress.json\n", out.c_str(), storage.contains("pruned_bytes") ? ", pruned.dcz" : "",
                  result.sensitivity.empty() ? "" : ", sensitivity.csv");
    }
  });
}

void add_unpack_command(CLI::App& app) {
  auto args = std::make_shared<CompressArgs>();
  CLI::App* cmd = app.add_subcommand(
      "unpack", "The model a packed weights file (tpusim compress's .dcz) holds, as OUTDIR/model.yaml and its .npy "
                "weights for tpusim compile (shared fc layers of at most 4 bits on the sparse engine)");
  cmd->add_option("packed", args->packed, "Packed weights file (.dcz)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--model", args->model, "The model file the weights are for")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", args->out, "Output directory")->required();
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  cmd->callback([args] {
    const std::string bytes = isa::read_file(args->packed);
    const std::vector<train::PackedLayer> layers =
        train::parse_packed(std::vector<uint8_t>(bytes.begin(), bytes.end()), args->packed);
    const compiler::Graph graph = compiler::load_model(args->model, 1, false);
    train::Network net = train::Network::from_graph(graph, 1);
    const train::LayerKeys keys = train::unpack_network(net, layers, args->packed);
    train::write_trained_model(args->model, net, graph.name + " as unpacked by tpusim unpack from " + args->packed + ".",
                               args->out, keys);
    if (!args->quiet) std::printf("wrote %s/model.yaml and its weights\n", args->out.c_str());
  });
}

}  // namespace tpu::cli
