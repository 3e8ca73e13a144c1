// The continual fine-tuning report's text and charts, from its summaries (continual_report.cc).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "tools/continual/continual_report.h"

namespace tpu::continual {

namespace {

constexpr const auto& kClassNames = train::kFashionMnistClassNames;

std::string fmt(const char* f, double v) {
  char s[64];
  std::snprintf(s, sizeof s, f, v);
  return s;
}

// "87.1% [86.4, 87.8]": a mean and its confidence interval, in percent.
std::string pct(const Interval& i) {
  return fmt("%.1f%%", 100 * i.mean) + " [" + fmt("%.1f", 100 * i.lo) + ", " + fmt("%.1f", 100 * i.hi) + "]";
}
std::string signed_points(const Interval& i) {
  return fmt("%+.1f", 100 * i.mean) + " [" + fmt("%+.1f", 100 * i.lo) + ", " + fmt("%+.1f", 100 * i.hi) + "]";
}

std::string chart_link(const ContinualReportOptions& o, const std::string& name, const std::string& alt) {
  return "![" + alt + "](" + o.charts_folder + "/" + name + ".svg)\n\n";
}

const char* experiment_title(const std::string& e) {
  return e == "iterations" ? "SGD iterations per update" : e == "old_data" ? "Old and new data (lambda)" : "Label noise";
}

// Accuracy against the update step, a line and its band per setting.
report::Chart steps_chart(const std::vector<SettingSummary>& all, const std::string& experiment, const std::string& scenario) {
  report::Chart c;
  c.name = scenario + "_" + experiment + "_steps";
  c.xlabel = "update step (0: the initial model)";
  c.ylabel = "test accuracy over the classes known (%)";
  c.log_x = false;
  for (const SettingSummary& s : all) {
    if (s.setting.experiment != experiment || s.setting.scenario != scenario) continue;
    report::Series line{s.setting.label(), {}, "with linespoints pointsize 0.8", {}};
    for (size_t t = 0; t < s.accuracy.size(); ++t) {
      line.points.push_back({double(t), 100 * s.accuracy[t].mean});
      line.band.push_back({100 * s.accuracy[t].lo, 100 * s.accuracy[t].hi});
    }
    c.series.push_back(std::move(line));
  }
  return c;
}

// A line of means with its band, from (x, interval) pairs sorted by x.
report::Series banded(const std::string& title, const std::string& style, std::vector<std::pair<double, Interval>> v) {
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  report::Series line{title, {}, style, {}};
  for (const auto& [x, i] : v) {
    line.points.push_back({x, 100 * i.mean});
    line.band.push_back({100 * i.lo, 100 * i.hi});
  }
  return line;
}

// The final accuracy against the swept value (for iterations, the mean iterations per update, the
// constants among them), float and on the chip.
report::Chart final_chart(const std::vector<SettingSummary>& all, const std::string& experiment, const std::string& scenario,
                          const std::string& xlabel) {
  report::Chart c;
  c.name = scenario + "_" + experiment + "_final";
  c.xlabel = xlabel;
  c.ylabel = "final test accuracy, all classes known (%)";
  std::vector<std::pair<double, Interval>> fl, chip;
  for (const SettingSummary& s : all) {
    if (s.setting.experiment != experiment || s.setting.scenario != scenario) continue;
    const double x = experiment == "iterations" ? s.iterations.mean : s.x;
    fl.push_back({x, s.final_accuracy});
    chip.push_back({x, s.final_chip_accuracy});
  }
  c.series = {banded("float model", "with linespoints pointsize 1", fl),
              banded("on the chip", "with linespoints pointsize 1 dashtype 2", chip)};
  if (experiment == "iterations") c.log_x = true, c.log_x_base = 10;
  return c;
}

// Each class's forgetting, a bar per reference setting.
report::Chart forgetting_chart(const std::vector<const SettingSummary*>& refs) {
  report::Chart c;
  c.name = "forgetting_per_class";
  c.xlabel = "class";
  c.ylabel = "forgetting (points): best earlier accuracy less the final";
  c.log_x = false;
  c.x_range = std::make_pair(-0.6, 9.6);
  const double width = 0.8 / double(std::max<size_t>(refs.size(), 1));
  std::string tics = "set xtics rotate by -30 (";
  for (int k = 0; k < 10; ++k) tics += std::string(k ? ", " : "") + "\"" + kClassNames[k] + "\" " + std::to_string(k);
  c.extra = {tics + ")", "set boxwidth " + fmt("%.3f", width), "set style fill solid 0.6 border -1"};
  for (size_t i = 0; i < refs.size(); ++i) {
    report::Series bars{refs[i]->setting.scenario + " (" + refs[i]->setting.label() + ")", {}, "with boxes", {}};
    for (int k = 0; k < 10; ++k)
      bars.points.push_back({k + (double(i) - double(refs.size() - 1) / 2) * width,
                             100 * refs[i]->class_forgetting[static_cast<size_t>(k)]});
    c.series.push_back(std::move(bars));
  }
  return c;
}

// Accuracy per step of the given settings, each as `what` of it.
report::Chart per_step_chart(const std::string& name, const std::vector<std::pair<std::string, const std::vector<Interval>*>>& lines) {
  report::Chart c;
  c.name = name;
  c.xlabel = "update step";
  c.ylabel = "test accuracy over the classes known (%)";
  c.log_x = false;
  for (size_t k = 0; k < lines.size(); ++k) {
    std::vector<std::pair<double, Interval>> v;
    for (size_t t = 0; t < lines[k].second->size(); ++t) v.push_back({double(t), (*lines[k].second)[t]});
    c.series.push_back(banded(lines[k].first, "with linespoints pointsize 0.8 dashtype " + std::to_string(k % 4 + 1), v));
  }
  return c;
}

// "91.9 / 17.8": the final accuracy over the initial classes and over those the updates brought.
std::string groups(const SettingSummary::ClassGroups& g) {
  return fmt("%.1f", 100 * g.initial.mean) + " / " + (g.added.n > 0 ? fmt("%.1f", 100 * g.added.mean) : std::string("-"));
}

const SettingSummary* find_setting(const std::vector<SettingSummary>& all, const SettingSummary& like) {
  for (const SettingSummary& s : all)
    if (s.setting.scenario == like.setting.scenario && s.setting.experiment == like.setting.experiment &&
        s.setting.label() == like.setting.label())
      return &s;
  return nullptr;
}

std::string densities(const train::CompressPlan& p) {
  std::string d;
  for (const auto& [layer, density] : p.density) d += (d.empty() ? "" : ", ") + layer + " " + fmt("%g%%", 100 * density);
  std::string b;
  for (const auto& [layer, bits] : p.bits) b += (b.empty() ? "" : ", ") + layer + " " + std::to_string(bits);
  return "pruned to " + (d.empty() ? std::string("no layer") : d) + " in " + std::to_string(p.rounds) + " rounds of " +
         std::to_string(p.retrain_epochs) + " epochs' retraining; shared at " + (b.empty() ? std::string("none") : b) +
         " bits, fine-tuned " + std::to_string(p.finetune_epochs) + " epochs";
}

// The same questions on the compressed model: what each codebook rule keeps of the accuracy, what an
// update ships, and the verdicts again.
void write_compressed_text(const ContinualReportOptions& o, ContinualReport& r, std::ostringstream& md) {
  if (r.compressed.empty()) return;
  const StudySpec& first = r.compressed.front().spec;
  md << "\n## On a compressed model\n\nThe same questions, in new_classes and with fewer settings of each experiment "
        "(the study files list them), on the model Deep-Compressed (plan `"
     << std::filesystem::path(first.compress.plan).filename().string() << "`: " << densities(first.compress.settings)
     << "), the initial model compressed once trained, at the initial recipe on the initial images. The host keeps float "
        "weights with the pruned ones held at zero; each update trains them (a new output's weights free), then prunes "
        "a new output's weights to its layer's density by magnitude among themselves. Each deployment shares the "
        "weights again and runs the fc layers on the sparse engine of `" << std::filesystem::path(first.deploy.chip).filename().string()
     << "`: **recluster** runs k-means afresh (the plan's init, no fine-tuning of the shared values); **frozen** keeps "
        "the codebooks of the deployment before and moves each weight to its nearest value. \"host\" is the float model "
        "the updates train, \"shipped\" the same with the shared weights (float), \"chip\" what the sparse engine "
        "computes; \"initial / added\" the final accuracy over the classes known from the start and over those the "
        "updates brought. Chip time per image is a batch's latency over its images.\n";
  for (StudyReport& c : r.compressed) {
    md << "\n### " << c.spec.compress.codebooks << " codebooks (`" << c.spec.name << ".yaml`)\n\n"
       << "| setting | host | shipped | on the chip | initial / added, host | initial / added, chip | forgetting (chip) "
          "| changed bytes per update | uploaded | upload (us) | energy per image (uJ) | of it dynamic | batch latency (us) "
          "| chip time per image (us) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const SettingSummary& y : c.settings)
      md << "| " << y.setting.scenario << " " << y.setting.label() << " | " << pct(y.final_accuracy) << " | "
         << pct(y.final_compressed_accuracy) << " | " << pct(y.final_chip_accuracy) << " | " << groups(y.groups) << " | "
         << groups(y.chip_groups) << " | " << signed_points(y.chip_forgetting) << " | "
         << fmt("%.0f", y.changed_weight_bytes.mean) << " | " << fmt("%.0f", y.uploaded_bytes.mean) << " | "
         << fmt("%.2f", y.upload_us.mean) << " | " << fmt("%.3f", y.energy_uj.mean) << " | " << fmt("%.3f", y.dynamic_uj.mean)
         << " | " << fmt("%.1f", y.latency_us.mean) << " | " << fmt("%.2f", y.latency_us.mean / double(c.spec.deploy.batch))
         << " |\n";
    md << "\n| finding | scenario | judged on | verdict | why |\n|---|---|---|---|---|\n";
    for (const Verdict& v : c.verdicts)
      md << "| " << v.finding << " | " << v.scenario << " | " << (v.chip ? "the chip" : "the host's float model")
         << " | **" << v.verdict << "** | " << v.why << " |\n";
  }
  // Dense against compressed, setting by setting.
  md << "\n### Dense against compressed\n\nThe final accuracy on the chip and the bytes an update uploads, for the "
        "settings every study has.\n\n| setting | dense int8 |";
  for (const StudyReport& c : r.compressed) md << " " << c.spec.compress.codebooks << " |";
  md << " dense uploaded |";
  for (const StudyReport& c : r.compressed) md << " " << c.spec.compress.codebooks << " uploaded |";
  md << "\n|---|---:|";
  for (size_t k = 0; k < 2 * r.compressed.size() + 1; ++k) md << "---:|";
  md << "\n";
  for (const SettingSummary& y : r.compressed.front().settings) {
    const SettingSummary* dense = find_setting(r.study.settings, y);
    std::vector<const SettingSummary*> each;
    for (const StudyReport& c : r.compressed) each.push_back(find_setting(c.settings, y));
    if (!dense || std::find(each.begin(), each.end(), nullptr) != each.end()) continue;
    md << "| " << y.setting.scenario << " " << y.setting.label() << " | " << pct(dense->final_chip_accuracy) << " |";
    for (const SettingSummary* e : each) md << " " << pct(e->final_chip_accuracy) << " |";
    md << " " << fmt("%.0f", dense->uploaded_bytes.mean) << " |";
    for (const SettingSummary* e : each) md << " " << fmt("%.0f", e->uploaded_bytes.mean) << " |";
    md << "\n";
  }
  // What an image costs on each chip, at the reference setting.
  if (const SettingSummary* ref = most_trained(r.compressed.front().settings, "new_classes")) {
    md << "\nPer image at new_classes " << ref->setting.label() << ":";
    const auto cost = [&](const std::string& what, const SettingSummary* y, const StudySpec& spec) {
      if (!y) return;
      md << " " << what << " " << fmt("%.2f", y->energy_uj.mean) << " uJ (" << fmt("%.2f", y->dynamic_uj.mean)
         << " dynamic) in " << fmt("%.3f", y->latency_us.mean / double(spec.deploy.batch)) << " us of `"
         << std::filesystem::path(spec.deploy.chip).filename().string() << "`'s time;";
    };
    cost("dense int8", find_setting(r.study.settings, *ref), r.study.spec);
    for (const StudyReport& c : r.compressed) cost(c.spec.compress.codebooks, find_setting(c.settings, *ref), c.spec);
    md << " the rest of each figure is the chip's static power over that time (eie.yaml keeps TPU v1's die around the "
          "sparse engine).\n";
  }
  // The reference setting by step, on the chip, dense and each rule.
  if (const SettingSummary* ref = most_trained(r.compressed.front().settings, "new_classes")) {
    std::vector<std::pair<std::string, const std::vector<Interval>*>> lines;
    if (const SettingSummary* dense = find_setting(r.study.settings, *ref)) lines.push_back({"dense int8", &dense->chip_accuracy});
    for (const StudyReport& c : r.compressed)
      if (const SettingSummary* e = find_setting(c.settings, *ref)) lines.push_back({c.spec.compress.codebooks + " codebooks", &e->chip_accuracy});
    r.charts.push_back(per_step_chart("compressed_on_the_chip", lines));
    md << "\nOn the chip by step, new_classes " << ref->setting.label() << ":\n\n" << chart_link(o, r.charts.back().name, "compressed on the chip");
  }
}

}  // namespace

void write_continual_text(const ContinualReportOptions& o, ContinualReport& r) {
  const StudySpec& s = r.study.spec;
  const std::vector<SettingSummary>& settings = r.study.settings;
  std::ostringstream md;
  md << "# Continual fine-tuning on Fashion-MNIST, deployed on the simulated chip\n\n"
        "Generated by `tpusim report continual` (tools/continual/continual_report.cc) from the "
     << (o.compressed.empty() ? "study `" : "studies `") << o.study << "`";
  for (const std::string& file : o.compressed) md << ", `" << file << "`";
  md << "; do not edit. The questions and findings are Käding, Rodner, Freytag and Denzler's (\"Fine-Tuning "
        "Deep Neural Networks in Continuous Learning Scenarios\", ACCV 2016 workshops). The network is `"
     << std::filesystem::path(s.model).filename().string() << "`; every figure is a mean over " << s.bootstraps
     << " bootstraps (class orders, initial and update sets drawn from seed " << s.seed
     << ") with its 95% confidence interval in brackets (Student's t). After every update the model is compiled "
        "int8 for `" << std::filesystem::path(s.deploy.chip).filename().string() << "` (batches of " << s.deploy.batch
     << ", calibrated on " << s.deploy.calibration_images << " of the images known) and classifies the test images "
        "of the classes it knows on the simulated chip.\n\n";
  md << "## The study\n\n"
        "- **new_classes**: " << s.new_classes.initial_classes << " of the 10 classes first (drawn per bootstrap), "
     << s.new_classes.initial_per_class << " training images each; then one class an update with "
     << s.new_classes.update_size << " images; the output layer grows by one neuron, its weights and bias drawn as a "
        "new layer's (uniform within +-1/sqrt(fan-in)), every other weight warm-started.\n"
        "- **growing_data**: all 10 classes, " << s.growing_data.initial_per_class << " images each; then "
     << s.growing_data.steps << " updates of " << s.growing_data.update_size << " more images, each of a class drawn "
        "at random from the ten.\n"
        "- The initial model: " << s.initial.epochs << " epochs at lr " << fmt("%g", s.initial.lr) << " over the "
        "initial images. Each update: SGD at lr " << fmt("%g", s.update.lr) << ", momentum " << fmt("%g", s.update.momentum)
     << ", weight decay " << fmt("%g", s.update.weight_decay) << ", minibatch " << s.update.batch << ", warm-started "
        "from the previous model. Its iterations are epochs x the training set known (the update set included) / "
        "minibatch, rounded up, or a constant; each minibatch example is drawn with replacement from the update set "
        "with probability lambda and from the earlier data otherwise (lambda 1 ignores the earlier data, lambda 0 "
        "leaves the new data to the next update); without lambda, from all the data known alike. Label noise "
        "replaces that share of each update set by images of other known classes that keep the new class's label.\n"
        "- Forgetting of a class: its best accuracy at an earlier step less its accuracy at the end; backward transfer: "
        "the mean over the classes learned before the last update of the accuracy at the end less the accuracy just "
        "after it was learned.\n"
        "- Every setting runs on the same " << s.bootstraps << " draws, so two settings are compared by their paired "
        "differences, bootstrap by bootstrap.\n\n";

  md << "## The findings\n\n| finding | scenario | judged on | verdict | why |\n|---|---|---|---|---|\n";
  for (const Verdict& v : r.study.verdicts)
    md << "| " << v.finding << " | " << v.scenario << " | " << (v.chip ? "the chip" : "float") << " | **" << v.verdict
       << "** | " << v.why << " |\n";

  r.charts.clear();
  std::map<std::pair<std::string, std::string>, bool> seen;
  for (const SettingSummary& x : settings) {
    const auto key = std::make_pair(x.setting.experiment, x.setting.scenario);
    if (seen[key]) continue;
    seen[key] = true;
    md << "\n## " << experiment_title(x.setting.experiment) << ": " << x.setting.scenario << "\n\n"
       << "| setting | final accuracy | on the chip | forgetting | backward transfer | iterations per update | "
          "training GMACs per update | weight bytes changed per update | uploaded | upload (us) |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for (const SettingSummary& y : settings) {
      if (y.setting.experiment != x.setting.experiment || y.setting.scenario != x.setting.scenario) continue;
      md << "| " << y.setting.label() << " | " << pct(y.final_accuracy) << " | " << pct(y.final_chip_accuracy) << " | "
         << signed_points(y.forgetting) << " | " << signed_points(y.backward_transfer) << " | "
         << fmt("%.0f", y.iterations.mean) << " | " << fmt("%.2f", y.training_macs.mean / 1e9) << " | "
         << fmt("%.0f", y.changed_weight_bytes.mean) << " | " << fmt("%.0f", y.uploaded_bytes.mean) << " | "
         << fmt("%.2f", y.upload_us.mean) << " |\n";
    }
    r.charts.push_back(steps_chart(settings, x.setting.experiment, x.setting.scenario));
    md << "\n" << chart_link(o, r.charts.back().name, x.setting.scenario + " " + x.setting.experiment + " by step");
    const char* xlabel = x.setting.experiment == "iterations" ? "SGD iterations per update (the mean over the updates)"
                         : x.setting.experiment == "old_data" ? "lambda: the share of each minibatch from the update set"
                                                              : "share of each update set with wrong labels";
    r.charts.push_back(final_chart(settings, x.setting.experiment, x.setting.scenario, xlabel));
    md << chart_link(o, r.charts.back().name, x.setting.scenario + " " + x.setting.experiment + " final accuracy");
  }

  // Forgetting per class, of the reference setting of each scenario (the iterations experiment's most epochs).
  std::vector<const SettingSummary*> refs;
  for (const char* scenario : {"new_classes", "growing_data"})
    if (const SettingSummary* most = most_trained(settings, scenario)) refs.push_back(most);
  md << "\n## Forgetting per class\n\nOf the iterations experiment's most trained setting, each Fashion-MNIST class's "
        "forgetting over the runs that learned it before the last update.\n\n";
  r.charts.push_back(forgetting_chart(refs));
  md << chart_link(o, r.charts.back().name, "forgetting per class") << "| class |";
  for (const SettingSummary* ref : refs) md << " " << ref->setting.scenario << " (" << ref->setting.label() << ") |";
  md << "\n|---|";
  for (size_t i = 0; i < refs.size(); ++i) md << "---:|";
  md << "\n";
  for (int c = 0; c < 10; ++c) {
    md << "| " << kClassNames[c] << " |";
    for (const SettingSummary* ref : refs) md << " " << fmt("%+.1f", 100 * ref->class_forgetting[static_cast<size_t>(c)]) << " |";
    md << "\n";
  }

  // On the chip against float, per step, for the same settings.
  std::vector<std::pair<std::string, const std::vector<Interval>*>> lines;
  for (const SettingSummary* ref : refs) {
    lines.push_back({ref->setting.scenario + ", float", &ref->accuracy});
    lines.push_back({ref->setting.scenario + ", on the chip", &ref->chip_accuracy});
  }
  r.charts.push_back(per_step_chart("chip_against_float", lines));
  md << "\n## On the chip\n\n" << chart_link(o, r.charts.back().name, "on the chip against float");
  for (const SettingSummary* ref : refs)
    md << "- " << ref->setting.scenario << " (" << ref->setting.label() << "): per inference " << fmt("%.3f", ref->energy_uj.mean)
       << " uJ (" << fmt("%.3f", ref->dynamic_uj.mean) << " of it dynamic, the rest the chip's static power over the "
       << "latency) and " << fmt("%.2f", ref->latency_us.mean / double(s.deploy.batch)) << " us (" << fmt("%.1f", ref->latency_us.mean)
       << " us a batch of " << s.deploy.batch << "); each update changes " << fmt("%.0f", ref->changed_weight_bytes.mean)
       << " bytes of the weight image, uploaded as " << fmt("%.0f", ref->uploaded_bytes.mean) << " bytes in "
       << fmt("%.2f", ref->upload_us.mean) << " us over the host link (an ldw program, simulated).\n";
  md << "\nAn upload loads the weight image; the biases and requantization tables stay in host memory, which is the "
        "host's own, so nothing is sent for them.\n";
  write_compressed_text(o, r, md);
  r.markdown = md.str();
}

}  // namespace tpu::continual
