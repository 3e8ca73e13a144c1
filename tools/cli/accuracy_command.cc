// tpusim accuracy: a compiled program classifying Fashion-MNIST's test images on the simulated chip.

#include <cstdio>
#include <memory>

#include "sim/base/config.h"
#include "tools/cli/commands.h"
#include "tools/train/chip_accuracy.h"

namespace tpu::cli {

namespace {
struct AccuracyArgs {
  std::string program, config = "configs/tpu_v1.yaml", data = train::kFashionMnistDir;
  int64_t images = 0;
};
}  // namespace

void add_accuracy_command(CLI::App& app) {
  auto args = std::make_shared<AccuracyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "accuracy", "Classify Fashion-MNIST's test images on the simulated chip with a compiled program; prints the "
                  "accuracy, and per inference the energy and weight bytes");
  cmd->add_option("program", args->program, "Program container (.tpb) of a classifier of 28 x 28 images")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-c,--config", args->config, "Chip configuration")->check(CLI::ExistingFile);
  cmd->add_option("--images", args->images, "How many of the 10,000 test images (default: all)")
      ->check(CLI::Range(int64_t{1}, int64_t{10000}));
  cmd->add_option("--data", args->data, "Fashion-MNIST's directory (Debian's dataset-fashion-mnist)");
  cmd->callback([args] {
    const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(args->config));
    const train::ChipAccuracy a = train::chip_accuracy(isa::load_program(args->program), chip,
                                                       train::load_fashion_mnist(train::Split::kTest, args->data),
                                                       args->images);
    std::printf("accuracy %.2f%% (%lld of %lld test images) on %s, %lld runs\n", 100 * a.accuracy(),
                static_cast<long long>(a.correct), static_cast<long long>(a.images), args->config.c_str(),
                static_cast<long long>(a.runs));
    std::printf("per run %.3f us; per image %.3f uJ, %.0f weight-DRAM bytes\n", a.latency_us, a.energy_uj,
                a.weight_bytes);
    if (a.ties > 0)
      std::printf("%lld images have their highest score in more than one class (counted as the lowest of them)\n",
                  static_cast<long long>(a.ties));
  });
}

}  // namespace tpu::cli
