// A continual study's compressed deployments: the nearest-value rule of frozen
// codebooks, pruning the outputs an update adds, and a seeded miniature of each
// codebook rule on the sparse engine: every deployment's scores on the chip
// equal the reference interpreter's, the weights it ships are pruned to the
// plan's densities and shared at most 15 values a layer, frozen codebooks
// ship the very values of the first deployment's codebooks, and both learn
// the new classes.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "sim/base/config.h"
#include "tools/compiler/graph.h"
#include "tools/continual/compression.h"
#include "tools/continual/run.h"

namespace tpu::continual {
namespace {

const std::string kSrc = TPUSIM_SOURCE_DIR;

TEST(ContinualCompression, FrozenCodebooksMoveEachWeightToItsNearestValue) {
  const std::vector<float> codebook = {0.0f, -0.5f, 0.25f, 1.0f};
  EXPECT_EQ(nearest_values({0.0f, -2.0f, -0.5f, -0.125f, 0.0f, 0.1f, 0.625f, 0.7f, 3.0f}, codebook),
            (std::vector<float>{0.0f, -0.5f, -0.5f, -0.5f, 0.0f, 0.25f, 0.25f, 1.0f, 1.0f}))
      << "a zero stays zero; -0.125 and 0.625 lie midway and go to the lower value";
  EXPECT_EQ(nearest_values({0.5f, -1.0f}, {0.0f}), (std::vector<float>{0.0f, 0.0f})) << "a codebook of the zero alone";
}

struct Mini {
  std::string work;
  train::Dataset train, test;
  sim::ChipParams chip;
  StudySpec study(const std::string& codebooks) const {
    const std::string path = work + "/" + codebooks + ".yaml";
    std::ofstream(path) << "model: " << kSrc << "/models/lenet_300_100.yaml\n"
                        << "bootstraps: 1\n"
                        << "initial: {epochs: 6, lr: 0.05}\n"
                        << "update: {lr: 0.01}\n"
                        << "scenarios: {new_classes: {initial_classes: 8, initial_per_class: 100, update_size: 40}}\n"
                        << "experiments: {old_data: {lambda: [0.5], epochs: 8}}\n"
                        << "test_per_class: 20\n"
                        << "deploy: {chip: " << kSrc << "/configs/eie.yaml, batch: 40, check: true}\n"
                        << "compress: {plan: " << work << "/plan.yaml, codebooks: " << codebooks << "}\n";
    return load_study(path);
  }
};

const Mini& mini() {
  static const Mini m =
      [] {
        Mini m;
        m.work = testing::TempDir() + "continual_compression_" + std::to_string(getpid());
        std::filesystem::create_directories(m.work);
        std::ofstream(m.work + "/plan.yaml")
            << "prune: {rounds: 2, retrain_epochs: 2, density: {fc1: 0.1, fc2: 0.2, fc3: 0.5}}\n"
            << "quantize: {bits: {fc: 4}, finetune_epochs: 1}\n";
        m.train = train::load_fashion_mnist(train::Split::kTrain);
        m.test = train::load_fashion_mnist(train::Split::kTest);
        m.chip = sim::read_chip_params(sim::Config::load(kSrc + "/configs/eie.yaml"));
        return m;
      }();
  return m;
}

size_t nonzeros(const std::vector<float>& w) {
  return static_cast<size_t>(std::count_if(w.begin(), w.end(), [](float v) { return v != 0; }));
}

// After the update that added it, a new output is pruned to its layer's density among its own weights;
// the outputs there were before are left as they are, however many weights each kept (the layer was
// pruned whole, so they differ; one kept them all).
TEST(ContinualCompression, AnUpdatePrunesTheOutputsItAdded) {
  const StudySpec spec = mini().study("recluster");
  train::Network net = train::Network::from_graph(compiler::load_model(spec.model, 1, false), 3);
  net.set_classes(8, 3);
  train::Param& w = *net.trained().back().weights;
  w.value = compiler::prune(std::move(w.value), 0.5);
  for (size_t k = 0; k < 100; ++k) w.value[k * 8 + 3] = 0.01f * float(k + 1);  // output 3 keeps all 100
  hold_pruned(net, spec.compress);
  const std::vector<float> before = w.value;
  net.set_classes(9, 4);
  const std::vector<float> drawn = net.trained().back().weights->value;
  prune_added_outputs(net, spec.compress, 8);
  const train::Param& last = *net.trained().back().weights;
  std::vector<size_t> kept(9, 0);
  for (size_t k = 0; k < 100; ++k)
    for (size_t o = 0; o < 9; ++o) kept[o] += last.value[k * 9 + o] != 0;
  EXPECT_EQ(kept[8], 50u) << "the new output at fc3's density, 0.5";
  EXPECT_EQ(kept[3], 100u) << "an output there was before, whole";
  for (size_t k = 0; k < 100; ++k)
    for (size_t o = 0; o < 8; ++o) ASSERT_EQ(last.value[k * 9 + o], before[k * 8 + o]) << k << "," << o;
  for (size_t i = 0; i < last.value.size(); ++i) ASSERT_EQ(last.mask[i], last.value[i] != 0) << i;
  float smallest_kept = 1e9f, largest_pruned = 0;  // the new output's survivors are its largest weights
  for (size_t k = 0; k < 100; ++k) {
    const float v = std::abs(drawn[k * 9 + 8]);
    if (last.value[k * 9 + 8] != 0) smallest_kept = std::min(smallest_kept, v);
    else largest_pruned = std::max(largest_pruned, v);
  }
  EXPECT_GE(smallest_kept, largest_pruned);
  const size_t fc1 = nonzeros(net.trained().front().weights->value);
  prune_added_outputs(net, spec.compress, 9);
  EXPECT_EQ(nonzeros(net.trained().front().weights->value), fc1) << "no output added: nothing pruned";
}

// Each dense layer's distinct weight values (the zero among them).
using Values = std::map<std::string, std::set<float>>;

struct Shipped {
  RunResult run;
  Values first, last;  // the initial model's and the last deployment's
};

// The miniature's run, the initial model's values (which the first deployment ships as they are:
// sharing values already shared keeps them) and the values its last deployment shipped (read back
// from the model file the work directory keeps).
Shipped run(const std::string& codebooks) {
  const Mini& m = mini();
  const StudySpec spec = m.study(codebooks);
  const Stream s = draw_stream(spec, "new_classes", 0, m.train);
  Shipped out;
  train::Network initial = initial_model(spec, "new_classes", 0, s);
  for (const train::Network::Trained& t : initial.trained())
    out.first[t.layer] = {t.weights->value.begin(), t.weights->value.end()};
  const std::string dir = m.work + "/" + codebooks;
  out.run = run_point(spec, study_points(spec)[0], s, std::move(initial), m.test, m.chip, dir);
  const compiler::Graph g = compiler::load_model(dir + "/model.yaml", 1, true);
  for (const compiler::Layer& l : g.layers)
    if (l.op == compiler::Op::kDense) {
      out.last[l.name] = {l.weights.begin(), l.weights.end()};
      EXPECT_LE(nonzeros(l.weights),
                static_cast<size_t>(std::llround(spec.compress.settings.density.at(l.name) * double(l.weights.size()))))
          << l.name << " is pruned to its density";
    }
  return out;
}

TEST(ContinualCompression, EachRuleDeploysOnTheSparseEngineExactly) {
  std::vector<RunResult> hosts;
  for (const std::string rule : {"recluster", "frozen"}) {
    SCOPED_TRACE(rule);
    const Shipped s = run(rule);
    const RunResult& r = s.run;
    ASSERT_EQ(r.steps.size(), 3u);
    for (const StepRecord& st : r.steps) {
      SCOPED_TRACE(st.step);
      EXPECT_EQ(st.chip.agree, st.chip.images) << "the chip's scores are the interpreter's";
      EXPECT_NEAR(st.chip.accuracy, st.compressed_accuracy, 0.05) << "the chip runs the shared weights";
      EXPECT_GT(st.compressed_accuracy, 0.4);
    }
    EXPECT_GT(r.steps[1].chip.per_class[8], 0.5) << "each new class is learned (half of each minibatch its images)";
    EXPECT_GT(r.steps[2].chip.per_class[9], 0.5);
    hosts.push_back(r);
    EXPECT_LT(r.steps[2].chip.changed_weight_bytes, r.steps[0].chip.weight_image_bytes);
    size_t moved = 0;  // layers whose last values are not all among the first deployment's
    for (const auto& [layer, values] : s.last) {
      EXPECT_LE(values.size(), 16u) << layer << ": 15 shared values and the zero";
      EXPECT_LE(s.first.at(layer).size(), 16u) << layer;
      moved += !std::includes(s.first.at(layer).begin(), s.first.at(layer).end(), values.begin(), values.end());
    }
    if (rule == "frozen")
      EXPECT_EQ(moved, 0u) << "frozen codebooks ship the first deployment's values";
    else
      EXPECT_EQ(moved, 3u) << "k-means afresh moves every layer's values";
  }
  // The host trains its own float weights whatever a deployment shipped: both rules see the same.
  for (size_t t = 0; t < hosts[0].steps.size(); ++t) {
    EXPECT_EQ(hosts[0].steps[t].accuracy, hosts[1].steps[t].accuracy) << t;
    EXPECT_EQ(hosts[0].steps[t].per_class, hosts[1].steps[t].per_class) << t;
  }
}

}  // namespace
}  // namespace tpu::continual
