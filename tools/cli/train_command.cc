// tpusim train: a model trained on Fashion-MNIST, written as .npy weights and a
// model YAML that names them (so `tpusim compile` deploys it as it is), with
// the training log as CSV and JSON.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "tools/cli/commands.h"
#include "tools/train/export.h"
#include "tools/train/onnx_export.h"
#include "tools/train/gemm.h"
#include "tools/train/trainer.h"

namespace tpu::cli {

namespace {

struct TrainArgs {
  std::string model, config, out, data = train::kFashionMnistDir, kernel;
  int threads = 1;
  bool quiet = false;
};

// "epoch 3/20 [=========>          ] 28160/60000  loss 0.512  acc 81.2%  9800 img/s  ETA 3 s", redrawn in place.
void draw_progress(const train::EpochLog& e, int64_t epochs, int64_t done, int64_t of, double seconds) {
  const int width = 24, filled = static_cast<int>(width * done / std::max<int64_t>(of, 1));
  const double rate = seconds > 0 ? double(done) / seconds : 0;
  std::fprintf(stderr, "\repoch %lld/%lld [%s%s] %lld/%lld  loss %.3f  acc %.1f%%  %.0f img/s  ETA %.0f s\033[K",
               static_cast<long long>(e.epoch), static_cast<long long>(epochs), std::string(filled, '=').c_str(),
               std::string(width - filled, ' ').c_str(), static_cast<long long>(done), static_cast<long long>(of), e.loss,
               100 * e.train_accuracy, rate, rate > 0 ? double(of - done) / rate : 0.0);
}


}  // namespace

void add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train", "Train a model (models/*.yaml) on Fashion-MNIST; writes OUTDIR/model.yaml naming its trained .npy weights");
  // Not required of the parser: `tpusim train continual STUDY` has none.
  cmd->add_option("model", args->model, "Model file")->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", args->out, "Output directory");
  cmd->add_option("--config", args->config, "Training file (tools/train/trainer.h lists its keys)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", args->data, "Fashion-MNIST's directory (Debian's dataset-fashion-mnist)");
  cmd->add_option("--kernel", args->kernel,
                  "Matrix kernel (avx512, avx2 or portable; default the fastest this CPU has); all give the same bits");
  cmd->add_option("--threads", args->threads, "Threads for the matrix products (the same weights for any number)")
      ->check(CLI::Range(1, 256));
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing but errors");
  const CLI::App* continual = add_continual_command(*cmd);
  cmd->callback([args, continual] {
    if (continual->parsed()) return;
    if (args->model.empty() || args->out.empty())
      throw CLI::RequiredError(args->model.empty() ? "model" : "--out");
    train::set_gemm_threads(args->threads);
    if (!args->kernel.empty()) try {
        train::set_gemm_kernel(args->kernel);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("--kernel: ") + e.what());
      }
    namespace fs = std::filesystem;
    const train::TrainConfig config = args->config.empty() ? train::TrainConfig{} : train::load_train_config(args->config);
    const compiler::Graph graph = compiler::load_model(args->model, 1, false);
    train::Network net = train::Network::from_graph(graph, config.seed);
    const train::Dataset train_set = train::load_fashion_mnist(train::Split::kTrain, args->data);
    const train::Dataset test_set = train::load_fashion_mnist(train::Split::kTest, args->data);
    fs::create_directories(args->out);
    train::Trainer trainer(net, config);
    const bool tty = !args->quiet && isatty(STDERR_FILENO);
    for (int64_t epoch = 0; epoch < config.epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      train::Progress progress;
      if (tty)
        progress = [&](const train::EpochLog& e, int64_t done, int64_t of) {
          if (done % (config.batch * 16) == 0 || done == of)
            draw_progress(e, config.epochs, done, of,
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        };
      const train::EpochLog e = trainer.epoch(train_set, test_set, progress);
      if (tty) std::fprintf(stderr, "\r\033[K");
      if (!args->quiet) {
        char validation[48] = "";
        if (e.validation_accuracy >= 0) std::snprintf(validation, sizeof validation, "  validation %.2f%%", 100 * e.validation_accuracy);
        std::printf("epoch %lld: loss %.4f  train %.2f%%%s  test %.2f%%  %.2f s (training %.2f s, %s kernel)\n",
                    static_cast<long long>(e.epoch), e.loss, 100 * e.train_accuracy, validation, 100 * e.test_accuracy,
                    e.seconds, e.train_seconds, train::gemm_kernel().c_str());
      }
      std::fflush(stdout);  // a line per epoch, also into a pipe or file
    }
    const train::EpochLog& last = trainer.log().back();
    char note[512];
    std::snprintf(note, sizeof note, "%s as tpusim train trained it on Fashion-MNIST (from %s): %lld epochs, %.2f%% test accuracy.",
                  graph.name.c_str(), args->model.c_str(), static_cast<long long>(last.epoch), 100 * last.test_accuracy);
    train::write_trained_model(args->model, net, note, args->out);
    train::write_calibration(net, train_set, 256, args->out);  // for tpusim compile --calibrate
    train::write_onnx(net, graph, args->out + "/model.onnx");
    // validation_accuracy is empty (null in the JSON) when no images are held out.
    std::string csv = "epoch,lr,loss,train_accuracy,validation_accuracy,test_accuracy,train_seconds,seconds\n";
    nlohmann::json log = nlohmann::json::array();
    for (const train::EpochLog& e : trainer.log()) {
      const bool held_out = e.validation_accuracy >= 0;
      char validation[32] = "", line[256];
      if (held_out) std::snprintf(validation, sizeof validation, "%.6f", e.validation_accuracy);
      std::snprintf(line, sizeof line, "%lld,%.6g,%.6f,%.6f,%s,%.6f,%.3f,%.3f\n", static_cast<long long>(e.epoch), e.lr,
                    e.loss, e.train_accuracy, validation, e.test_accuracy, e.train_seconds, e.seconds);
      csv += line;
      log.push_back({{"epoch", e.epoch}, {"lr", e.lr}, {"loss", e.loss}, {"train_accuracy", e.train_accuracy},
                     {"validation_accuracy", held_out ? nlohmann::json(e.validation_accuracy) : nlohmann::json()},
                     {"test_accuracy", e.test_accuracy}, {"train_seconds", e.train_seconds}, {"seconds", e.seconds}});
    }
    write_output(args->out + "/train_log.csv", csv);
    const nlohmann::json out = {{"model", args->model},
                                {"config",
                                 {{"epochs", config.epochs}, {"batch", config.batch}, {"lr", config.lr},
                                  {"momentum", config.momentum}, {"weight_decay", config.weight_decay},
                                  {"schedule", config.schedule}, {"seed", config.seed},
                                  {"train_images", config.train_images}, {"test_images", config.test_images},
                                  {"validation_images", config.validation_images}}},
                                {"matrix_kernel", train::gemm_kernel()},
                                {"threads", args->threads},
                                {"log", log},
                                {"test_accuracy", last.test_accuracy}};
    write_output(args->out + "/train.json", out.dump(2) + "\n");
    if (!args->quiet) std::printf("wrote %s/model.yaml, its weights, model.onnx, calibration.npy, train_log.csv and train.json\n", args->out.c_str());
  });
}

}  // namespace tpu::cli
