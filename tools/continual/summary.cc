#include "tools/continual/summary.h"

#include <boost/math/distributions/students_t.hpp>

#include <array>
#include <cmath>
#include <stdexcept>

#include "tools/train/fashion_mnist.h"

namespace tpu::continual {

Interval interval(const std::vector<double>& v) {
  Interval r;
  r.n = static_cast<int64_t>(v.size());
  if (v.empty()) return r;
  for (double x : v) r.mean += x / double(v.size());
  r.lo = r.hi = r.mean;
  if (v.size() < 2) return r;
  double ss = 0;
  for (double x : v) ss += (x - r.mean) * (x - r.mean);
  const double sd = std::sqrt(ss / double(v.size() - 1));
  const boost::math::students_t t(double(v.size() - 1));
  const double half = boost::math::quantile(boost::math::complement(t, 0.025)) * sd / std::sqrt(double(v.size()));
  r.lo = r.mean - half;
  r.hi = r.mean + half;
  return r;
}

namespace {

double swept(const Setting& s) {
  if (s.experiment == "old_data") return s.lambda;
  if (s.experiment == "label_noise") return s.noise;
  return s.constant > 0 ? double(s.constant) : s.epochs;
}

// The mean over a run's updates (steps 1..) of the figure at `key` (in the step, or its chip part).
double per_update(const nlohmann::json& rec, const char* key, bool chip) {
  double sum = 0;
  const nlohmann::json& steps = rec["steps"];
  for (size_t t = 1; t < steps.size(); ++t) sum += (chip ? steps[t]["chip"][key] : steps[t][key]).get<double>();
  return steps.size() > 1 ? sum / double(steps.size() - 1) : 0;
}

// A run's final accuracy over the classes known from the start and over those updates brought, each
// its outputs' mean, added to `into` (initial, added; nothing for a group without outputs).
void group(const std::vector<double>& per_class, const std::vector<int64_t>& learned,
           std::array<std::vector<double>, 2>& into) {
  std::array<double, 2> sum{};
  std::array<int64_t, 2> n{};
  for (size_t j = 0; j < per_class.size() && j < learned.size(); ++j) {
    const size_t g = learned[j] == 0 ? 0 : 1;
    sum[g] += per_class[j], ++n[g];
  }
  for (size_t g = 0; g < 2; ++g)
    if (n[g] > 0) into[g].push_back(sum[g] / double(n[g]));
}

}  // namespace

std::vector<SettingSummary> summarize(const StudySpec& spec, const std::vector<nlohmann::json>& records) {
  const std::vector<StudyPoint> points = study_points(spec);
  if (records.size() != points.size())
    throw std::runtime_error(spec.file + ": " + std::to_string(records.size()) + " results for " +
                             std::to_string(points.size()) + " runs; run the study to its end");
  std::vector<const nlohmann::json*> by_point(points.size(), nullptr);
  for (const nlohmann::json& rec : records) {
    const size_t p = rec.value("point", points.size());
    if (p >= points.size() || by_point[p])
      throw std::runtime_error(spec.file + ": a result of no run, or of one run twice (point " + std::to_string(p) + ")");
    by_point[p] = &rec;
  }
  std::vector<SettingSummary> out;
  for (size_t si = 0; si < spec.settings.size(); ++si) {
    SettingSummary s;
    s.setting = spec.settings[si];
    s.x = swept(s.setting);
    std::vector<std::vector<double>> acc, chip, shared;
    std::vector<double> fin_shared;
    std::vector<double>& fin = s.finals;
    std::vector<double>& fin_chip = s.chip_finals;
    std::vector<double> fg, fg_chip, bwt, bwt_chip, its, macs, changed, uploaded, up_us, lat, energy, dynamic;
    std::vector<std::vector<double>> by_class(train::kFashionMnistClasses);
    std::array<std::array<std::vector<double>, 2>, 2> groups;  // float, chip: initial, added
    for (const StudyPoint& p : points) {
      if (p.setting != si) continue;
      const nlohmann::json& rec = *by_point[p.index];
      if (rec.value("status", "") != "done")
        throw std::runtime_error("run " + std::to_string(p.index) + " (" + s.setting.label() + ") did not finish: " +
                                 rec.value("reason", std::string("no reason recorded")));
      const nlohmann::json& steps = rec["steps"];
      acc.resize(steps.size()), chip.resize(steps.size());
      for (size_t t = 0; t < steps.size(); ++t) {
        acc[t].push_back(steps[t]["accuracy"]);
        chip[t].push_back(steps[t]["chip"]["accuracy"]);
        if (spec.compress.on()) shared.resize(steps.size()), shared[t].push_back(steps[t]["compressed_accuracy"]);
      }
      if (spec.compress.on()) fin_shared.push_back(steps.back()["compressed_accuracy"]);
      fin.push_back(steps.back()["accuracy"]);
      fin_chip.push_back(steps.back()["chip"]["accuracy"]);
      fg.push_back(rec["forgetting"]), fg_chip.push_back(rec["chip_forgetting"]);
      bwt.push_back(rec["backward_transfer"]), bwt_chip.push_back(rec["chip_backward_transfer"]);
      its.push_back(per_update(rec, "iterations", false));
      macs.push_back(per_update(rec, "training_macs", false));
      changed.push_back(per_update(rec, "changed_weight_bytes", true));
      uploaded.push_back(per_update(rec, "uploaded_bytes", true));
      up_us.push_back(per_update(rec, "upload_us", true));
      lat.push_back(steps.back()["chip"]["latency_us"]);
      energy.push_back(steps.back()["chip"]["energy_uj"]);
      dynamic.push_back(steps.back()["chip"]["dynamic_uj"]);
      // Forgetting per class: of each output learned before the last step, under its class's name.
      const std::vector<double> f = rec["per_class_forgetting"];
      const std::vector<int> classes = rec["class_of_output"];
      const std::vector<int64_t> learned = rec["learned_at"];
      const auto last = static_cast<int64_t>(steps.size() - 1);
      for (size_t j = 0; j < f.size(); ++j)
        if (learned[j] < last) by_class[static_cast<size_t>(classes[j])].push_back(f[j]);
      group(steps.back()["per_class"], learned, groups[0]);
      group(steps.back()["chip"]["per_class"], learned, groups[1]);
    }
    for (size_t t = 0; t < acc.size(); ++t) s.accuracy.push_back(interval(acc[t])), s.chip_accuracy.push_back(interval(chip[t]));
    for (const std::vector<double>& v : shared) s.compressed_accuracy.push_back(interval(v));
    s.final_accuracy = interval(fin), s.final_chip_accuracy = interval(fin_chip);
    s.final_compressed_accuracy = interval(fin_shared);
    s.forgetting = interval(fg), s.chip_forgetting = interval(fg_chip);
    s.backward_transfer = interval(bwt), s.chip_backward_transfer = interval(bwt_chip);
    s.iterations = interval(its), s.training_macs = interval(macs);
    s.changed_weight_bytes = interval(changed), s.uploaded_bytes = interval(uploaded), s.upload_us = interval(up_us);
    s.latency_us = interval(lat), s.energy_uj = interval(energy), s.dynamic_uj = interval(dynamic);
    for (const std::vector<double>& v : by_class) s.class_forgetting.push_back(interval(v).mean);
    s.groups = {interval(groups[0][0]), interval(groups[0][1])};
    s.chip_groups = {interval(groups[1][0]), interval(groups[1][1])};
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tpu::continual
