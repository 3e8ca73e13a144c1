#include "tools/train/export.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "tools/tensor_io/npy.h"
#include "tools/train/trainer.h"

namespace tpu::train {

namespace {

void write_param(const std::string& path, const Param& p) {
  tensor_io::Array a;
  a.dtype = isa::DType::kF32;
  a.shape = p.shape;
  a.bytes.resize(p.value.size() * sizeof(float));
  std::memcpy(a.bytes.data(), p.value.data(), a.bytes.size());
  tensor_io::write_npy(path, a);
}

}  // namespace

std::string write_calibration(const Network& net, const Dataset& train, int64_t images, const std::string& out_dir) {
  const Tensor x = first_images(net, train, images);
  Param p;
  p.shape = x.shape;
  p.value = x.v;
  std::filesystem::create_directories(out_dir);
  const std::string path = out_dir + "/calibration.npy";
  write_param(path, p);
  return path;
}

std::map<std::string, std::string> sparse_engine_keys(const Param& w, int bits) {
  if (bits < 1 || bits > 4 || w.shape.size() != 2) return {};
  size_t nonzero = 0;
  for (float v : w.value) nonzero += v != 0;
  char density[32];
  std::snprintf(density, sizeof density, "%.17g", double(nonzero) / double(w.value.size()));
  return {{"engine", "sparse"}, {"density", density}, {"bits", std::to_string(bits)}};
}

std::string write_trained_model(const std::string& model, const Network& net, const std::string& note,
                                const std::string& out_dir, const LayerKeys& extra) {
  std::filesystem::create_directories(out_dir);
  YAML::Node root = YAML::LoadFile(model);
  for (const Network::Trained& t : net.trained()) {
    write_param(out_dir + "/" + t.layer + ".weights.npy", *t.weights);
    write_param(out_dir + "/" + t.layer + ".bias.npy", *t.bias);
    for (YAML::Node node : root["layers"])
      if (node["name"] && node["name"].as<std::string>() == t.layer) {
        node["weights"] = t.layer + ".weights.npy";
        node["bias"] = t.layer + ".bias.npy";
        if (const auto e = extra.find(t.layer); e != extra.end())
          for (const auto& [key, value] : e->second) node[key] = value;
      }
  }
  root["note"] = note;
  YAML::Emitter yaml;
  yaml << root;
  const std::string path = out_dir + "/model.yaml";
  std::ofstream(path) << yaml.c_str() << "\n";
  return path;
}

}  // namespace tpu::train
