#include "tools/continual/stream.h"

#include <array>
#include <numeric>
#include <stdexcept>

namespace tpu::continual {

namespace {

constexpr int kClasses = train::kFashionMnistClasses;

template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {  // Fisher-Yates, as the trainer shuffles
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

// Each class's training images in a seeded order, each handed out once.
class ClassPools {
 public:
  ClassPools(const train::Dataset& train, std::mt19937_64& rng) {
    for (int64_t i = 0; i < train.count; ++i) images_[train.labels[static_cast<size_t>(i)]].push_back(i);
    for (auto& v : images_) shuffle(v, rng);
  }
  int64_t take(int c) {
    const auto k = static_cast<size_t>(c);
    if (next_[k] >= images_[k].size())  // load_study bounds what a scenario draws
      throw std::logic_error("class " + std::to_string(c) + " has no training image left to draw");
    return images_[k][next_[k]++];
  }

 private:
  std::array<std::vector<int64_t>, kClasses> images_;
  std::array<size_t, kClasses> next_{};
};

}  // namespace

int64_t Stream::classes_after(int64_t n) const { return new_classes ? initial_classes + n : initial_classes; }

int64_t Stream::learned_at(int64_t output, double lambda) const {
  if (output < initial_classes) return 0;
  return output - initial_classes + 1 + (lambda == 0 ? 1 : 0);
}

uint64_t purpose_seed(const StudySpec& spec, const std::string& scenario, int64_t bootstrap, uint64_t purpose,
                      uint64_t step) {
  if (scenario != "new_classes" && scenario != "growing_data") throw std::invalid_argument("no scenario '" + scenario + "'");
  // seed_seq takes 32 bits of each value: each 64-bit one as two.
  std::vector<uint32_t> words;
  for (const uint64_t v : {spec.seed, uint64_t{scenario == "new_classes" ? 1u : 2u}, static_cast<uint64_t>(bootstrap), purpose, step}) {
    words.push_back(static_cast<uint32_t>(v));
    words.push_back(static_cast<uint32_t>(v >> 32));
  }
  std::seed_seq seq(words.begin(), words.end());
  std::array<uint32_t, 2> v;
  seq.generate(v.begin(), v.end());
  return (uint64_t{v[0]} << 32) | v[1];
}

Stream draw_stream(const StudySpec& spec, const std::string& scenario, int64_t bootstrap, const train::Dataset& train) {
  const bool new_classes = scenario == "new_classes";
  std::mt19937_64 rng(purpose_seed(spec, scenario, bootstrap, kDraws));
  ClassPools pools(train, rng);
  Stream s;
  s.new_classes = new_classes;
  s.classes.resize(kClasses);
  std::iota(s.classes.begin(), s.classes.end(), 0);
  std::vector<int64_t>& file = s.file;
  std::vector<uint8_t> label;  // of each pool image: an output
  auto add = [&](int c, int output) {
    file.push_back(pools.take(c));
    label.push_back(static_cast<uint8_t>(output));
    return static_cast<int64_t>(file.size() - 1);
  };
  if (new_classes) {
    shuffle(s.classes, rng);
    const NewClasses& nc = spec.new_classes;
    s.initial_classes = nc.initial_classes;
    for (int out = 0; out < nc.initial_classes; ++out)
      for (int64_t i = 0; i < nc.initial_per_class; ++i) s.initial.push_back(add(s.classes[static_cast<size_t>(out)], out));
    for (int out = static_cast<int>(nc.initial_classes); out < kClasses; ++out) {
      Stream::Update u;
      for (int64_t i = 0; i < nc.update_size; ++i) u.images.push_back(add(s.classes[static_cast<size_t>(out)], out));
      for (int64_t i = 0; i < nc.update_size; ++i)  // a known class's image labelled as the new class
        u.replacements.push_back(add(s.classes[static_cast<size_t>(rng() % static_cast<uint64_t>(out))], out));
      s.updates.push_back(std::move(u));
    }
  } else {
    const GrowingData& gd = spec.growing_data;
    s.initial_classes = kClasses;
    for (int c = 0; c < kClasses; ++c)
      for (int64_t i = 0; i < gd.initial_per_class; ++i) s.initial.push_back(add(c, c));
    for (int64_t step = 0; step < gd.steps; ++step) {
      Stream::Update u;
      std::vector<int> of;
      for (int64_t i = 0; i < gd.update_size; ++i) {
        of.push_back(static_cast<int>(rng() % kClasses));
        u.images.push_back(add(of.back(), of.back()));
      }
      for (int c : of)  // another class's image keeping this one's label
        u.replacements.push_back(add((c + 1 + static_cast<int>(rng() % (kClasses - 1))) % kClasses, c));
      s.updates.push_back(std::move(u));
    }
  }
  s.pool = train::subset(train, file);
  s.pool.labels = std::move(label);
  return s;
}

std::vector<int64_t> noisy_update(const Stream& s, size_t step, double noise) {
  const Stream::Update& u = s.updates.at(step);
  std::vector<int64_t> images = u.images;
  const auto replaced = static_cast<size_t>(noise * static_cast<double>(images.size()) + 1e-9);
  for (size_t i = 0; i < replaced && i < images.size(); ++i) images[i] = u.replacements[i];
  return images;
}

train::Dataset test_images(const Stream& s, int64_t updates, const train::Dataset& test, int64_t per_class) {
  std::array<int, kClasses> output;
  output.fill(-1);
  for (int64_t o = 0; o < s.classes_after(updates); ++o) output[static_cast<size_t>(s.classes[static_cast<size_t>(o)])] = static_cast<int>(o);
  std::array<int64_t, kClasses> taken{};
  std::vector<int64_t> indices;
  std::vector<uint8_t> labels;
  for (int64_t i = 0; i < test.count; ++i) {
    const uint8_t c = test.labels[static_cast<size_t>(i)];
    if (output[c] < 0 || (per_class > 0 && taken[c] >= per_class)) continue;
    ++taken[c];
    indices.push_back(i);
    labels.push_back(static_cast<uint8_t>(output[c]));
  }
  train::Dataset d = train::subset(test, indices);
  d.labels = std::move(labels);
  return d;
}

}  // namespace tpu::continual
