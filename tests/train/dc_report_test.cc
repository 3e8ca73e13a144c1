// The Deep Compression report's pipeline, short and seeded (6,000
// training images, two epochs, a few hundred test images): training lowers the
// loss and beats chance by far, every stage runs, the packed files decode back
// to the network bit for bit, and on the chip every image's scores equal the
// reference interpreter's, dense and compressed.

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "tools/train/dc_report.h"

namespace tpu::train {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

TEST(DeepCompressionReport, AShortRunGivesRealOutcomesOnEveryPath) {
  DcReportOptions o;
  o.source = kSrc;
  o.work = testing::TempDir() + "dc_report_" + std::to_string(getpid());
  o.train_images = 6000;
  o.test_images = 500;
  o.epochs = 2;
  o.retrain_epochs = 1;
  o.finetune_epochs = 1;
  o.chip_images = 200;
  o.bits = {2, 4};
  const DcReport r = deep_compression_report(o);
  ASSERT_EQ(r.networks.size(), 2u);
  for (const DcNetwork& n : r.networks) {
    SCOPED_TRACE(n.name);
    std::vector<double> losses;
    for (const CompressionResult::Epoch& e : n.result.epochs)
      if (e.phase == "train") losses.push_back(e.log.loss);
    ASSERT_EQ(losses.size(), 2u);
    EXPECT_LT(losses[1], losses[0]);
    EXPECT_GT(n.float_accuracy(), 0.5);  // chance is 0.1
    ASSERT_EQ(n.result.stages.size(), 4u);
    for (const StageResult& s : n.result.stages) EXPECT_GT(s.test_accuracy, 0.3) << s.stage;
    EXPECT_FALSE(n.result.sensitivity.empty());
    // The plans hold validation images out: every epoch and stage measures them, and the
    // sensitivity analysis (its baseline the float model on the same images) measures on them.
    ASSERT_GT(n.settings.train.validation_images, 0);
    EXPECT_EQ(n.result.sensitivity_images, "validation");
    EXPECT_EQ(n.result.sensitivity_count, 500) << "the short run's limit";
    for (const CompressionResult::Epoch& e : n.result.epochs) EXPECT_GE(e.log.validation_accuracy, 0.0) << e.phase;
    for (const StageResult& s : n.result.stages) EXPECT_GT(s.validation_accuracy, 0.3) << s.stage;
    EXPECT_EQ(n.choice_images, "validation");
    // Both files hold the fine-tuned network exactly, and their sizes are the table's.
    for (const std::vector<uint8_t>* file : {&n.table.fixed_file, &n.table.huffman_file}) {
      const std::vector<PackedLayer> layers = parse_packed(*file, n.name + ".dcz");
      ASSERT_EQ(layers.size(), n.result.stages.back().weights.size());
      for (size_t l = 0; l < layers.size(); ++l) EXPECT_EQ(unpack_weights(layers[l]), n.result.stages.back().weights[l]);
    }
    // The rows' records and the file header make up each file, byte for byte.
    uint64_t fixed = packed_header_bytes(), huffman = packed_header_bytes();
    for (const StorageRow& row : n.table.rows) fixed += row.fixed_bytes, huffman += row.huffman_bytes;
    EXPECT_EQ(fixed, n.table.fixed_file.size());
    EXPECT_EQ(huffman, n.table.huffman_file.size());
    EXPECT_GT(n.pruned_bytes, n.table.total.fixed_bytes);
    EXPECT_EQ(n.bits.size(), 2u * (n.name == "lenet5" ? 2 : 1) * 2);
    for (const ChipRun* run : {&n.dense, &n.compressed}) {
      EXPECT_EQ(run->accuracy.images, 200);
      EXPECT_EQ(run->agree, 200) << run->chip;
      EXPECT_NEAR(run->accuracy.accuracy(), run->float_accuracy, 0.05) << run->chip;
    }
    EXPECT_LT(n.compressed.accuracy.weight_bytes, n.dense.accuracy.weight_bytes);
  }
  EXPECT_EQ(r.charts.size(), 2u * 3 + 1);
  std::filesystem::remove_all(o.work);
}

}  // namespace
}  // namespace tpu::train
