#include "tools/continual/study.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "sim/base/config.h"
#include "sim/base/params.h"
#include "tools/compiler/graph.h"
#include "tools/train/fashion_mnist.h"
#include "tools/train/yaml_values.h"

namespace tpu::continual {

using compiler::ModelError;
using train::yaml_check_keys;
using train::yaml_mapping;
using train::yaml_number;
using train::yaml_where;
using train::yaml_whole;

std::string Setting::label() const {
  char s[64];
  if (experiment == "old_data") std::snprintf(s, sizeof s, "lambda %g", lambda);
  else if (experiment == "label_noise") std::snprintf(s, sizeof s, "noise %g", noise);
  else if (constant > 0) std::snprintf(s, sizeof s, "constant %lld", static_cast<long long>(constant));
  else std::snprintf(s, sizeof s, "epochs %g", epochs);
  return s;
}

namespace {

// Keys of the trainer's that a section of a study does not take, and why.
void refuse(const std::string& path, const YAML::Node& section, const std::string& name, const std::vector<const char*>& keys,
            const std::string& why) {
  if (!section || !section.IsMap()) return;
  for (const char* key : keys)
    if (section[key]) throw ModelError(yaml_where(path, section[key]) + name + "." + key + " does not apply here: " + why);
}

// Each update's rate unless the study says otherwise: the protocol's (DESIGN.md section 6).
constexpr double kProtocolRate = 0.001;

constexpr int64_t kPerClass = train::kFashionMnistTrainPerClass;

const std::vector<std::string> kScenarios = {"new_classes", "growing_data"};
const std::vector<std::string> kExperiments = {"iterations", "old_data", "label_noise"};

// A file named in the study, relative to its folder; it must exist.
std::string resolve(const std::string& path, const YAML::Node& n, const std::string& key) {
  const std::string name = train::yaml_string(path, n, key);
  const std::filesystem::path p = std::filesystem::path(path).parent_path() / name;
  if (!std::filesystem::exists(p)) throw ModelError(yaml_where(path, n) + key + " '" + name + "': no such file (" + p.string() + ")");
  return p.lexically_normal().string();
}

std::vector<double> numbers(const std::string& path, const YAML::Node& n, const std::string& key, double lo, double hi) {
  std::vector<double> v;
  if (n.IsScalar()) return {yaml_number(path, n, key, lo, hi)};
  if (!n.IsSequence() || n.size() == 0) throw ModelError(yaml_where(path, n) + key + " should be a number or a list of them");
  for (const YAML::Node& e : n) v.push_back(yaml_number(path, e, key, lo, hi));
  return v;
}

void read_scenarios(const std::string& path, const YAML::Node& node, StudySpec& s) {
  yaml_mapping(path, node, "scenarios");
  yaml_check_keys(path, node, kScenarios, "scenarios.");
  if (const YAML::Node n = node["new_classes"]) {
    yaml_mapping(path, n, "scenarios.new_classes");
    yaml_check_keys(path, n, {"initial_classes", "initial_per_class", "update_size"}, "scenarios.new_classes.");
    NewClasses& c = s.new_classes;
    if (n["initial_classes"])
      c.initial_classes = yaml_whole(path, n["initial_classes"], "scenarios.new_classes.initial_classes", 2,
                                     train::kFashionMnistClasses - 1);
    if (n["initial_per_class"])
      c.initial_per_class =
          yaml_whole(path, n["initial_per_class"], "scenarios.new_classes.initial_per_class", 1, kPerClass);
    if (n["update_size"]) c.update_size = yaml_whole(path, n["update_size"], "scenarios.new_classes.update_size", 1, kPerClass);
    // A known class gives its initial images and, with label noise, up to an update set per step.
    const int64_t steps = train::kFashionMnistClasses - c.initial_classes;
    if (c.initial_per_class + steps * c.update_size > kPerClass)
      throw ModelError(yaml_where(path, n) + "scenarios.new_classes: " + std::to_string(c.initial_per_class) +
                       " initial images and " + std::to_string(steps) + " update sets of " +
                       std::to_string(c.update_size) + " may need more than the " + std::to_string(kPerClass) +
                       " training images a class has");
  }
  if (const YAML::Node n = node["growing_data"]) {
    yaml_mapping(path, n, "scenarios.growing_data");
    yaml_check_keys(path, n, {"initial_per_class", "update_size", "steps"}, "scenarios.growing_data.");
    GrowingData& g = s.growing_data;
    if (n["initial_per_class"])
      g.initial_per_class =
          yaml_whole(path, n["initial_per_class"], "scenarios.growing_data.initial_per_class", 1, kPerClass);
    if (n["update_size"])
      g.update_size = yaml_whole(path, n["update_size"], "scenarios.growing_data.update_size", 1, 10 * kPerClass);
    if (n["steps"]) g.steps = yaml_whole(path, n["steps"], "scenarios.growing_data.steps", 1, 10000);
    // Each update set, and its noise's replacements, come from images not drawn before, each of a class
    // drawn at random: one class may give them all.
    if (g.initial_per_class + 2 * g.steps * g.update_size > kPerClass)
      throw ModelError(yaml_where(path, n) + "scenarios.growing_data: " + std::to_string(g.initial_per_class) +
                       " initial images per class and " + std::to_string(g.steps) + " update sets of " +
                       std::to_string(g.update_size) + " (twice, for label noise) may need more than the " +
                       std::to_string(kPerClass) + " "
                       "training images a class has");
  }
}

void read_experiment(const std::string& path, const std::string& name, const YAML::Node& n, StudySpec& s) {
  const std::string at = "experiments." + name;
  yaml_mapping(path, n, at);
  yaml_check_keys(path, n, {"scenarios", "epochs", "constant", "lambda", "noise"}, at + ".");
  std::vector<std::string> scenarios = {"new_classes"};
  if (const YAML::Node sc = n["scenarios"]) {
    if (!sc.IsSequence() || sc.size() == 0) throw ModelError(yaml_where(path, sc) + at + ".scenarios should be a list of scenarios");
    scenarios.clear();
    for (const YAML::Node& e : sc) {
      const std::string v = train::yaml_string(path, e, at + ".scenarios");
      if (std::find(kScenarios.begin(), kScenarios.end(), v) == kScenarios.end())
        throw ModelError(yaml_where(path, e) + at + ".scenarios: '" + v + "' is not new_classes or growing_data" +
                         isa::did_you_mean(v, {kScenarios.begin(), kScenarios.end()}));
      if (std::find(scenarios.begin(), scenarios.end(), v) != scenarios.end())
        throw ModelError(yaml_where(path, e) + at + ".scenarios names " + v + " twice");
      scenarios.push_back(v);
    }
  }
  // The fixed settings (every key but those the experiment sweeps): one value each.
  Setting base{name, "", 1, 0, -1, 0};
  if (name != "iterations") {
    if (n["epochs"] && n["constant"]) throw ModelError(yaml_where(path, n) + at + ": give epochs or constant, not both");
    if (n["epochs"]) base.epochs = yaml_number(path, n["epochs"], at + ".epochs", 1e-6, 1e6);
    if (n["constant"]) base.constant = yaml_whole(path, n["constant"], at + ".constant", 1, 1e9);
  }
  if (name != "old_data" && n["lambda"]) base.lambda = yaml_number(path, n["lambda"], at + ".lambda", 0, 1);
  if (name != "label_noise" && n["noise"]) base.noise = yaml_number(path, n["noise"], at + ".noise", 0, 1);
  std::vector<Setting> settings;
  if (name == "iterations") {
    if (!n["epochs"] && !n["constant"]) throw ModelError(yaml_where(path, n) + at + " sweeps epochs, constant or both");
    if (n["epochs"])
      for (double e : numbers(path, n["epochs"], at + ".epochs", 1e-6, 1e6)) settings.push_back(base), settings.back().epochs = e;
    if (n["constant"])
      for (double c : numbers(path, n["constant"], at + ".constant", 1, 1e9)) {
        if (c != std::floor(c)) throw ModelError(yaml_where(path, n["constant"]) + at + ".constant should be whole numbers");
        settings.push_back(base), settings.back().constant = static_cast<int64_t>(c);
      }
  } else if (name == "old_data") {
    if (!n["lambda"]) throw ModelError(yaml_where(path, n) + at + " sweeps lambda (in [0, 1])");
    for (double l : numbers(path, n["lambda"], at + ".lambda", 0, 1)) settings.push_back(base), settings.back().lambda = l;
  } else {
    if (!n["noise"]) throw ModelError(yaml_where(path, n) + at + " sweeps noise (a share of each update set, 0 to 1)");
    for (double v : numbers(path, n["noise"], at + ".noise", 0, 1)) settings.push_back(base), settings.back().noise = v;
  }
  for (size_t i = 0; i < settings.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (settings[i].label() == settings[j].label())
        throw ModelError(yaml_where(path, n) + at + " gives " + settings[i].label() + " twice");
  for (const std::string& scenario : scenarios)
    for (Setting st : settings) {
      st.scenario = scenario;
      s.settings.push_back(st);
    }
}

void read_compress(const std::string& path, const YAML::Node& n, StudySpec& s) {
  yaml_mapping(path, n, "compress");
  yaml_check_keys(path, n, {"plan", "codebooks"}, "compress.");
  if (!n["plan"]) throw ModelError(yaml_where(path, n) + "compress.plan: the Deep Compression plan file is missing");
  Compress& c = s.compress;
  c.plan = resolve(path, n["plan"], "compress.plan");
  if (const YAML::Node b = n["codebooks"]) {
    c.codebooks = train::yaml_string(path, b, "compress.codebooks");
    if (c.codebooks != "recluster" && c.codebooks != "frozen")
      throw ModelError(yaml_where(path, b) + "compress.codebooks '" + c.codebooks + "' is not recluster or frozen" +
                       isa::did_you_mean(c.codebooks, {"recluster", "frozen"}));
  }
  const YAML::Node plan = train::yaml_load(c.plan);
  for (const char* key : {"train", "sensitivity"})
    if (plan.IsMap() && plan[key] && !(std::string(key) == "train" && plan[key].IsScalar() && plan[key].Scalar() == "none"))
      throw ModelError(yaml_where(c.plan, plan[key]) + key + " does not apply to a continual study's plan: " +
                       (std::string(key) == "train" ? "the study's initial section trains the model (and its retraining)"
                                                    : "no images are held out to choose densities on; give prune.density") +
                       " (named by " + path + ", compress.plan)");
  const compiler::Graph g = compiler::load_model(s.model, 1, false);
  c.settings = train::load_plan(c.plan, g);
  c.settings.train_first = false;
  if (c.settings.density.empty() && c.settings.bits.empty())
    throw ModelError(c.plan + ": the plan neither prunes nor shares a layer (named by " + path + ", compress.plan)");
  for (const auto& [layer, bits] : c.settings.bits)
    if (bits > 4)
      throw ModelError(c.plan + ": quantize.bits." + layer + " is " + std::to_string(bits) +
                       "; the sparse engine's codebook holds 4 bits (named by " + path + ", compress.plan)");
  const sim::ChipParams chip = sim::read_chip_params(sim::Config::load(s.deploy.chip));
  if (chip.sparse_engine.pes == 0)
    throw ModelError(s.deploy.chip + ": no sparse engine (sparse_engine.pes is 0) for the compressed layers; deploy a "
                     "compressed study on a chip with one, such as configs/eie.yaml (named by " + path + ", deploy.chip)");
}

}  // namespace

StudySpec load_study(const std::string& path) {
  const YAML::Node root = train::yaml_load(path);
  if (!root.IsMap()) throw ModelError(path + ": a study is a mapping of model, scenarios, experiments...");
  yaml_check_keys(path, root,
                  {"model", "bootstraps", "seed", "initial", "update", "scenarios", "experiments", "test_per_class", "deploy",
                   "compress"},
                  "");
  StudySpec s;
  s.file = path;
  s.name = std::filesystem::path(path).stem().string();
  if (!root["model"]) throw ModelError(path + ": no model (the network to train, a model YAML file)");
  s.model = resolve(path, root["model"], "model");
  if (root["bootstraps"]) s.bootstraps = yaml_whole(path, root["bootstraps"], "bootstraps", 1, 1000);
  if (root["seed"]) s.seed = static_cast<uint64_t>(yaml_whole(path, root["seed"], "seed", 0, 9e15));
  // The seeds come from the study's seed, per bootstrap; the images from the scenario.
  const std::vector<const char*> not_here = {"seed", "train_images", "test_images", "validation_images"};
  const std::string chosen = "the study's seed and scenarios choose the seeds and images";
  refuse(path, root["initial"], "initial", not_here, chosen);
  if (root["initial"]) s.initial = train::read_train_config(root["initial"], path, "initial");
  s.update.lr = kProtocolRate;
  if (root["update"]) {
    const YAML::Node u = root["update"];
    refuse(path, u, "update", not_here, chosen);
    refuse(path, u, "update", {"epochs", "schedule", "step_epochs", "gamma"},
           "an experiment sets how long each update trains, at the update's constant rate");
    s.update = train::read_train_config(u, path, "update");
    if (!u["lr"]) s.update.lr = kProtocolRate;
  }
  if (root["scenarios"]) read_scenarios(path, root["scenarios"], s);
  const YAML::Node ex = root["experiments"];
  if (!ex) throw ModelError(path + ": no experiments (iterations, old_data, label_noise)");
  yaml_mapping(path, ex, "experiments");
  yaml_check_keys(path, ex, kExperiments, "experiments.");
  for (const auto& kv : ex) read_experiment(path, kv.first.as<std::string>(), kv.second, s);
  if (root["test_per_class"]) s.test_per_class = yaml_whole(path, root["test_per_class"], "test_per_class", 0, 1000);
  const YAML::Node d = root["deploy"];
  if (!d) throw ModelError(path + ": no deploy section (the chip the updated models run on)");
  yaml_mapping(path, d, "deploy");
  yaml_check_keys(path, d, {"chip", "batch", "calibration_images", "check"}, "deploy.");
  if (!d["chip"]) throw ModelError(yaml_where(path, d) + "deploy.chip: the chip's config file is missing");
  s.deploy.chip = resolve(path, d["chip"], "deploy.chip");
  if (d["batch"]) s.deploy.batch = yaml_whole(path, d["batch"], "deploy.batch", 1, 100000);
  if (d["calibration_images"])
    s.deploy.calibration_images = yaml_whole(path, d["calibration_images"], "deploy.calibration_images", 1, 60000);
  if (const YAML::Node c = d["check"]) {
    if (!c.IsScalar() || (c.Scalar() != "true" && c.Scalar() != "false"))
      throw ModelError(yaml_where(path, c) + "deploy.check should be true or false");
    s.deploy.check = c.Scalar() == "true";
  }
  if (const YAML::Node c = root["compress"]) read_compress(path, c, s);
  return s;
}

std::vector<StudyPoint> study_points(const StudySpec& spec) {
  std::vector<StudyPoint> points;
  for (size_t s = 0; s < spec.settings.size(); ++s)
    for (int64_t b = 0; b < spec.bootstraps; ++b) points.push_back({points.size(), s, b});
  return points;
}

}  // namespace tpu::continual
