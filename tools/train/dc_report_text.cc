// The Deep Compression report's text and charts, from its runs (dc_report.cc).

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "tools/report/text.h"
#include "tools/train/dc_report.h"

namespace tpu::train {

using report::fmt;

namespace {

std::string pct(double fraction) { return fmt("%.2f%%", 100 * fraction); }

const DcTarget* target_of(const std::string& name) {
  for (const DcTarget& t : kDcTargets)
    if (name == t.network) return &t;
  return nullptr;
}

std::vector<EpochLog> train_log(const CompressionResult& r) {
  std::vector<EpochLog> log;
  for (const CompressionResult::Epoch& e : r.epochs)
    if (e.phase == "train") log.push_back(e.log);
  return log;
}

// The mean test accuracy of the last `last` epochs (of all, when fewer).
double mean_of_last(const std::vector<EpochLog>& log, size_t last) {
  const size_t n = std::min(last, log.size());
  double s = 0;
  for (size_t i = log.size() - n; i < log.size(); ++i) s += log[i].test_accuracy;
  return n ? s / double(n) : 0;
}

template <class F>
double mean_over(const std::vector<std::vector<EpochLog>>& logs, F figure) {
  double mean = 0;
  for (const std::vector<EpochLog>& log : logs) mean += figure(log) / double(logs.size());
  return mean;
}

// How the seeds' figure compares with the anchor's one run: the mean, and where the anchor lies
// against the seeds' range.
template <class F>
std::string anchor_verdict(const char* what, const std::vector<std::vector<EpochLog>>& logs, double anchor, F figure) {
  double lo = 1, hi = 0;
  for (const std::vector<EpochLog>& log : logs) lo = std::min(lo, figure(log)), hi = std::max(hi, figure(log));
  const double mean = mean_over(logs, figure);
  const char* where = anchor < lo ? "below the seeds' range" : anchor > hi ? "above the seeds' range" : "within the seeds' range";
  return std::string(what) + ", the seeds' mean " + pct(mean) + " is " + fmt("%+.2f", 100 * (mean - anchor)) +
         " points from the anchor's " + pct(anchor) + ", " + where + " " + pct(lo) + " to " + pct(hi) +
         (mean >= anchor ? " (met)" : " (not met)");
}

std::string seeds_text(const DcReportOptions& o) {
  std::string s;
  for (uint64_t seed : o.anchor_seeds) s += (s.empty() ? "" : ", ") + std::to_string(seed);
  return s.empty() ? "none" : s;
}

std::string layers_of(const std::map<std::string, double>& m, const char* format) {
  std::string s;
  for (const auto& [layer, v] : m) s += (s.empty() ? "" : ", ") + layer + " " + fmt(format, v);
  return s.empty() ? "none" : s;
}

template <class T>
std::map<std::string, double> as_doubles(const std::map<std::string, T>& m) {
  return {m.begin(), m.end()};
}

// Lines of points grouped by title, in the titles' order.
class Lines {
 public:
  void add(const std::string& title, double x, double y) {
    report::Series& s = by_title_[title];
    s.title = title;
    s.style = "with linespoints pointsize 1.2";
    s.points.push_back({x, y});
  }
  void into(report::Chart& c) const {
    for (const auto& [title, s] : by_title_) c.series.push_back(s);
  }

 private:
  std::map<std::string, report::Series> by_title_;
};

report::Chart sensitivity_chart(const DcNetwork& n) {
  report::Chart c;
  c.name = n.name + "_sensitivity";
  c.xlabel = "density of the one layer pruned (no retraining)";
  c.ylabel = n.result.sensitivity_images + " accuracy (%)";
  c.log_x = true;
  c.log_x_base = 10;
  Lines lines;
  for (const SensitivityPoint& p : n.result.sensitivity) lines.add(p.layer, p.density, 100 * p.accuracy);
  lines.into(c);
  if (!n.result.sensitivity.empty()) {
    const double lo = n.settings.sensitivity_densities.front(), hi = n.settings.sensitivity_densities.back();
    const double y = 100 * n.result.sensitivity_baseline;
    c.series.push_back({"float model", {{lo, y}, {hi, y}}, "with lines dashtype 2", {}});
  }
  return c;
}

report::Chart bits_chart(const DcNetwork& n) {
  report::Chart c;
  c.name = n.name + "_bits";
  c.xlabel = "bits per weight of the layers shared (no retraining)";
  c.ylabel = n.choice_images + " accuracy (%)";
  c.log_x = false;
  Lines lines;
  for (const BitsPoint& p : n.bits)
    lines.add(p.kind + (p.pruned ? " layers, pruned + shared" : " layers, shared only"), double(p.bits), 100 * p.accuracy);
  lines.into(c);
  return c;
}

// Non-zero weights of the largest layer per bin, at the float, pruned and fine-tuned stages.
report::Chart weights_chart(const DcNetwork& n) {
  report::Chart c;
  c.name = n.name + "_weights";
  c.xlabel = "weight of " + n.histogram_layer + " (zeros not counted)";
  c.ylabel = "weights per bin (log)";
  c.log_x = false;
  c.log_y = true;  // the pruned layers keep a few percent of the weights
  size_t layer = 0;
  for (size_t i = 0; i < n.table.rows.size(); ++i)
    if (n.table.rows[i].layer == n.histogram_layer) layer = i;
  double top = 0;
  for (const StageResult& s : n.result.stages)
    for (float v : s.weights[layer]) top = std::max(top, std::fabs(double(v)));
  const int bins = 120;
  if (top == 0) return c;  // no weights: no chart
  const double width = 2 * top / bins;
  for (const StageResult& s : n.result.stages) {
    if (s.stage == "quantized") continue;  // fine-tuning moves only the values, not the pattern
    std::vector<double> h(bins, 0);
    for (float v : s.weights[layer])
      if (v != 0) h[std::min<size_t>(bins - 1, static_cast<size_t>((double(v) + top) / width))] += 1;
    report::Series series{s.stage, {}, s.stage == "fine-tuned" ? "with impulses linewidth 2" : "with steps", {}};
    for (int b = 0; b < bins; ++b) series.points.push_back({-top + (b + 0.5) * width, h[static_cast<size_t>(b)]});
    c.series.push_back(series);
  }
  return c;
}

report::Chart storage_chart(const DcReport& r) {
  report::Chart c;
  c.name = "storage";
  c.xlabel = "stage";
  c.ylabel = "bytes stored (log)";
  c.log_x = false;
  c.log_y = true;
  c.extra = {"set xtics (\"dense float32\" 1, \"pruned (P)\" 2, \"P+Q\" 3, \"P+Q+H\" 4)", "set boxwidth 0.18",
             "set style fill solid 0.6"};
  for (size_t i = 0; i < r.networks.size(); ++i) {
    const DcNetwork& n = r.networks[i];
    const double dx = (double(i) - 0.5 * double(r.networks.size() - 1)) * 0.2;
    report::Series s{n.name, {{1 + dx, double(n.table.total.dense_bytes)}}, "with boxes", {}};
    if (n.pruned_bytes > 0) s.points.push_back({2 + dx, double(n.pruned_bytes)});  // a plan without pruning has none
    s.points.push_back({3 + dx, double(n.table.total.fixed_bytes)});
    s.points.push_back({4 + dx, double(n.table.total.huffman_bytes)});
    c.series.push_back(s);
  }
  return c;
}

std::string chart_link(const DcReportOptions& o, const std::string& name, const std::string& what) {
  return "![" + what + "](" + o.charts_folder + "/" + name + ".svg)\n\n";
}

}  // namespace

std::string storage_table_text(const StorageTable& t) {
  std::ostringstream s;
  s << "| layer | weights | kept | fillers | weight bits P+Q | P+Q+H | index bits P+Q | P+Q+H | float32 bytes "
       "| P+Q bytes | P+Q+H bytes | rate P+Q | rate P+Q+H |\n"
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const StorageRow& r : t.rows)
    s << "| " << r.layer << " | " << r.weights << " | " << r.kept << " (" << pct(double(r.kept) / double(r.weights))
      << ") | " << r.fillers << " | " << r.weight_bits << " | " << fmt("%.2f", r.huffman_weight_bits) << " | "
      << r.index_bits << " | " << fmt("%.2f", r.huffman_index_bits) << " | " << r.dense_bytes << " | " << r.fixed_bytes
      << " | " << r.huffman_bytes << " | " << pct(double(r.fixed_bytes) / double(r.dense_bytes)) << " | "
      << pct(double(r.huffman_bytes) / double(r.dense_bytes)) << " |\n";
  const StorageRow& a = t.total;
  s << "| **total** (files) | " << a.weights << " | " << a.kept << " (" << pct(double(a.kept) / double(a.weights))
    << ") | " << a.fillers << " | | | | | " << a.dense_bytes << " | " << a.fixed_bytes << " | " << a.huffman_bytes
    << " | " << fmt("%.1fx", double(a.dense_bytes) / double(a.fixed_bytes)) << " | "
    << fmt("%.1fx", double(a.dense_bytes) / double(a.huffman_bytes)) << " |\n";
  return s.str();
}

namespace {

// The images a plan uses of a set of `count` (a limit of 0: all).
int64_t used(int64_t limit, int64_t count) { return limit > 0 ? std::min(limit, count) : count; }

void intro_and_plans(std::ostream& md, const DcReportOptions& o, const DcReport& r) {
  const TrainConfig& c = r.networks.front().settings.train;
  const int64_t trained = used(c.train_images, r.train_count - c.validation_images);
  md << "# Deep Compression on Fashion-MNIST, down to the simulated chip\n\n"
        "Generated by `tpusim report deep-compression` (tools/train/dc_report.cc); do not edit. Each network is "
        "trained from its seed on " << trained << " of Fashion-MNIST's " << r.train_count
     << " training images, pruned by magnitude in rounds with masked retraining, its weights shared by k-means and the "
        "shared values fine-tuned (Han, Mao and Dally, ICLR 2016), packed into the documented file of "
        "tools/train/packed_weights.h (the sizes below are those files' sizes; the Huffman-coded files are checked in "
        "beside this report as `" << o.charts_folder << "/NAME.dcz`, the pruned stage's as `NAME_pruned.dcz`, and "
        "`tpusim unpack` turns one back into a model `tpusim compile` deploys), and deployed on the simulated chip. "
        "Accuracies are over " << used(c.test_images, r.test_count) << " of the " << r.test_count << " test images. ";
  if (c.validation_images > 0)
    md << "The last " << c.validation_images << " training images are held out as validation images, never trained "
          "on: the sensitivity analysis and the bits sweep measure on them. The plans' densities and bits were tuned "
          "by hand earlier, against test accuracies; the validation rows below show they meet the accuracy targets on "
          "images neither trained on nor consulted, too. The test figures are therefore not an unbiased estimate.\n\n";
  else
    md << "No training images are held out, so the sensitivity analysis and the bits sweep measure on the test "
          "images, and choices made from them are not tested on unseen images.\n\n";
  md << "## The plans\n\n| network | model | plan | density | bits | index bits | rounds x retraining epochs "
        "| fine-tuning epochs |\n|---|---|---|---|---|---|---|---|\n";
  for (const DcNetwork& n : r.networks)
    md << "| " << n.name << " | " << n.model << " | " << n.plan << " | " << layers_of(n.result.density, "%g") << " | "
       << layers_of(as_doubles(n.settings.bits), "%g") << " | " << layers_of(as_doubles(n.settings.index_bits), "%g")
       << " | " << n.settings.rounds << " x " << n.settings.retrain_epochs << " | " << n.settings.finetune_epochs
       << " |\n";
}

void training(std::ostream& md, const DcReportOptions& o, const DcReport& r) {
  // The anchors' recipe (the PyTorch runs): minibatch 64, momentum 0.9, decay 5e-4, lr 0.01, 20 epochs.
  md << "\n## Training against the anchors\n\nThe anchors: PyTorch 1.13 on this machine, minibatch 64, SGD momentum "
        "0.9, weight decay 5e-4, lr 0.01, pixels / 255, 20 epochs.";
  for (const DcNetwork& n : r.networks) {
    const TrainConfig& c = n.settings.train;
    const bool same = c.batch == 64 && c.momentum == 0.9 && c.weight_decay == 5e-4 && c.lr == 0.01 &&
                      c.schedule == "constant" && c.epochs == 20;
    md << " " << n.name << " trains with " << (same ? "the same recipe" : "a different recipe") << " (minibatch "
       << c.batch << ", momentum " << fmt("%g", c.momentum) << ", decay " << fmt("%g", c.weight_decay) << ", lr "
       << fmt("%g", c.lr) << " " << c.schedule << ", " << c.epochs << " epochs).";
  }
  md << " Training speed depends on the machine, so it is in `tpusim train`'s output (per epoch, with the kernel "
        "that ran), not here.\n\nEach network trains alone from seeds " << seeds_text(o) << " on the whole training set, "
        "as the anchors trained, to show the spread between seeds beside the anchors' one run; the model compressed "
        "below trains from its plan's seed with the validation images held out.\n\n"
        "| network | seed | epochs | test accuracy after the last | mean of the last 5 | anchor after 20 | anchor mean of "
        "16-20 |\n|---|---|---:|---:|---:|---:|---:|\n";
  for (const DcNetwork& n : r.networks) {
    const DcTarget* t = target_of(n.name);
    const std::vector<std::vector<EpochLog>>& logs = n.seed_logs;
    double last = 0, mean = 0;
    const size_t runs = logs.size();
    for (size_t i = 0; i < logs.size(); ++i) {
      last += logs[i].back().test_accuracy;
      mean += mean_of_last(logs[i], 5);
      md << "| " << n.name << " | " << o.anchor_seeds[i] << " | " << logs[i].size() << " | " << pct(logs[i].back().test_accuracy)
         << " | " << pct(mean_of_last(logs[i], 5)) << " | | |\n";
    }
    if (runs > 0)
      md << "| " << n.name << " | **mean** | | " << pct(last / double(runs)) << " | " << pct(mean / double(runs)) << " | "
         << (t ? pct(t->anchor_final) : "") << " | " << (t && t->anchor_mean > 0 ? pct(t->anchor_mean) : "not given")
         << " |\n";
  }
  md << "\n";
  for (const DcNetwork& n : r.networks) {
    const DcTarget* t = target_of(n.name);
    if (!t || n.seed_logs.empty()) continue;
    const auto last = [](const std::vector<EpochLog>& l) { return l.back().test_accuracy; };
    const auto five = [](const std::vector<EpochLog>& l) { return mean_of_last(l, 5); };
    md << "- " << n.name << ": " << anchor_verdict("after the last epoch", n.seed_logs, t->anchor_final, last);
    if (t->anchor_mean > 0) md << "; " << anchor_verdict("the mean of the last five", n.seed_logs, t->anchor_mean, five);
    md << ". PyTorch itself, the same recipe from " << t->pytorch_seeds << " seeds: " << pct(t->pytorch_final)
       << " after the last epoch and " << pct(t->pytorch_mean) << " over the last five, the means; these seeds' "
       << pct(mean_over(n.seed_logs, last)) << " and " << pct(mean_over(n.seed_logs, five)) << " ("
       << (mean_over(n.seed_logs, last) >= t->pytorch_final - kPytorchRounding &&
                   mean_over(n.seed_logs, five) >= t->pytorch_mean - kPytorchRounding
               ? "at least PyTorch's: met"
               : "below PyTorch's: not met")
       << ").\n";
  }
}

void sensitivity_section(std::ostream& md, const DcReportOptions& o, const DcReport& r) {
  md << "\n## Sensitivity to pruning\n\nEach layer alone pruned to each density, the others untouched, no "
        "retraining. The proposal is the lowest density within the plan's budget of the float model; the plan's own "
        "densities, with retraining after each round, may go lower.\n\n";
  for (const DcNetwork& n : r.networks) {
    if (n.result.sensitivity.empty()) continue;
    size_t below = 0;
    for (const auto& [layer, d] : n.result.density)
      if (const auto p = n.result.proposed.find(layer); p != n.result.proposed.end() && d < p->second) ++below;
    md << "**" << n.name << "** (" << n.result.sensitivity_count << " " << n.result.sensitivity_images
       << " images, budget " << fmt("%g", n.settings.sensitivity_budget) << " points): proposed "
       << layers_of(n.result.proposed, "%g") << "; the plan prunes to " << layers_of(n.result.density, "%g") << ", "
       << below << " of " << n.result.density.size() << " layers below the proposal.\n\n"
       << chart_link(o, n.name + "_sensitivity", n.name + " sensitivity");
  }
}

}  // namespace

void write_dc_text(const DcReportOptions& o, DcReport& r) {
  std::ostringstream md;
  intro_and_plans(md, o, r);
  training(md, o, r);
  sensitivity_section(md, o, r);

  md << "## Accuracy at each stage\n\nOn the test images, and on the validation images the sensitivity and the bits "
        "sweep measure.\n\n"
        "| network | images | float | pruned | quantized | fine-tuned | points lost (- gained) | target |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (const DcNetwork& n : r.networks) {
    const DcTarget* t = target_of(n.name);
    for (const bool test : {true, false}) {
      const auto of = [test](const StageResult& s) { return test ? s.test_accuracy : s.validation_accuracy; };
      if (!test && of(n.result.stages.front()) < 0) continue;  // none held out
      md << "| " << n.name << " | " << (test ? "test" : "validation");
      for (const char* stage : {"float", "pruned", "quantized", "fine-tuned"}) {
        std::string cell;
        for (const StageResult& s : n.result.stages)
          if (s.stage == stage) cell = pct(of(s));
        md << " | " << cell;
      }
      md << " | " << fmt("%+.2f", 100 * (of(n.result.stages.front()) - of(n.result.stages.back()))) << " | "
         << (t ? "at most " + fmt("%.1f", t->loss_points) : "") << " |\n";
    }
  }

  md << "\nRetraining and fine-tuning are training too: ";
  for (const DcNetwork& n : r.networks)
    md << n.name << "'s compressed model trained " << n.settings.rounds * n.settings.retrain_epochs + n.settings.finetune_epochs
       << " epochs beyond its float model's " << train_log(n.result).size() << "; ";
  md << "the seeds' last five epochs above show how much the float models still move by then. Against the float "
        "models the seeds trained on the whole training set:";
  for (const DcNetwork& n : r.networks) {
    if (n.seed_logs.empty()) continue;
    double last = 0;
    for (const std::vector<EpochLog>& log : n.seed_logs) last += log.back().test_accuracy;
    last /= double(n.seed_logs.size());
    md << " " << n.name << " " << fmt("%+.2f", 100 * (n.final_accuracy() - last)) << " points (their mean " << pct(last) << ");";
  }
  md << " the compressed models are compared with their own float models above.\n";

  md << "\n## Storage (the paper's Table 2)\n\nPer layer, as the packed files store it: the kept weights and the "
        "filler entries that bridge gaps longer than the relative index holds; bits per entry of the weight and index "
        "streams at fixed width (P+Q) and Huffman coded (P+Q+H, each stream's code table counted, a stream left at fixed "
        "width where coding would not shrink it); bytes of the layer's record (codebook, float32 biases and column ends "
        "included) and its rate against the dense float32 layer (weights and biases). The totals are the files' "
        "sizes.\n\n";
  for (const DcNetwork& n : r.networks)
    md << "**" << n.name << "**\n\n" << storage_table_text(n.table) << "\n";

  md << "## Compression against the targets\n\n| network | float32 bytes | pruned (P) | P+Q | P+Q+H | ratio | target "
        "| paper (MNIST) | accuracy lost | target | met |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const DcNetwork& n : r.networks) {
    const DcTarget* t = target_of(n.name);
    const double ratio = double(n.table.total.dense_bytes) / double(n.table.total.huffman_bytes);
    const double lost = 100 * (n.float_accuracy() - n.final_accuracy());
    md << "| " << n.name << " | " << n.table.total.dense_bytes << " | " << n.pruned_bytes << " | "
       << n.table.total.fixed_bytes << " | " << n.table.total.huffman_bytes << " | " << fmt("%.1fx", ratio) << " | "
       << (t ? fmt("%gx", t->ratio) : "") << " | " << (t ? fmt("%gx", t->paper_ratio) : "") << " | "
       << fmt("%.2f", lost) << " | " << (t ? fmt("%.1f", t->loss_points) : "") << " | "
       << (t ? (ratio >= t->ratio && lost <= t->loss_points ? "yes" : "**no**") : "") << " |\n";
  }
  md << "\n" << chart_link(o, "storage", "bytes per stage");

  md << "## Accuracy against bits\n\nFrom the float model (shared only) and from the pruned one (pruned + shared), "
        "every layer of one kind shared in 2^bits - 1 values and the zero by k-means, the other layers as they are, "
        "without fine-tuning (as the paper's Fig. 8), measured on the " << r.networks.front().choice_images << " images.\n\n";
  for (const DcNetwork& n : r.networks) md << chart_link(o, n.name + "_bits", n.name + " accuracy against bits");

  md << "## Weight distributions\n\nThe non-zero weights of each network's largest layer after training, after "
        "pruning and retraining (the gap around zero is what pruning took), and after sharing and fine-tuning (the "
        "shared values, as spikes).\n\n";
  for (const DcNetwork& n : r.networks) md << chart_link(o, n.name + "_weights", n.name + " weights");

  md << "## On the chip\n\nThe float model int8 on the matrix unit (" << o.dense_chip << ") against the compressed "
        "model read back from its packed file, its shared fc layers on the sparse engine with exactly their codebooks "
        "and conv layers (pruned and shared values) on the matrix unit (" << o.sparse_chip << "); batches of "
     << o.chip_batch << ", the test images classified by the chip's int8 scores (a tie to the lower class). "
        "`agree` counts the images whose scores equal the reference interpreter's, every one. Energy and weight "
        "bytes are per image classified (energy with the chip's static power over the run, and without it); latency "
        "and the weight tiles the matrix unit fetches per batch.\n\n"
        "| network | model | chip | on-chip accuracy | float accuracy | agree | latency per batch (us) | energy per "
        "image (uJ) | dynamic (uJ) | weight DRAM bytes per image | matrix-unit tiles per batch |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const DcNetwork& n : r.networks)
    for (const auto* run : {&n.dense, &n.compressed}) {
      const ChipAccuracy& a = run->accuracy;
      md << "| " << n.name << " | " << (run == &n.dense ? "dense" : "compressed") << " | " << run->chip << " | "
         << pct(a.accuracy()) << " | " << pct(run->float_accuracy) << " | " << run->agree << " of " << a.images
         << " | " << fmt("%.1f", a.latency_us) << " | " << fmt("%.3f", a.energy_uj) << " | "
         << fmt("%.3f", a.dynamic_uj) << " | " << fmt("%.0f", a.weight_bytes) << " | " << run->tiles << " |\n";
    }
  md << "\n";
  for (const DcNetwork& n : r.networks) {
    const ChipAccuracy &d = n.dense.accuracy, &c = n.compressed.accuracy;
    md << "- " << n.name << ": the compressed model reads " << fmt("%.2fx", c.weight_bytes / d.weight_bytes)
       << " the dense model's weight bytes per image and spends " << fmt("%.2fx", c.dynamic_uj / d.dynamic_uj)
       << " the dynamic energy; with static power " << fmt("%.2fx", c.energy_uj / d.energy_uj) << " the energy ("
       << fmt("%.0f%%", 100 * (1 - c.dynamic_uj / c.energy_uj)) << " of the sparse chip's energy is static) over a "
       << fmt("%.2fx", c.latency_us / d.latency_us) << " latency per batch. Its on-chip accuracy is "
       << fmt("%+.2f", 100 * (c.accuracy() - d.accuracy())) << " points from the dense model's.";
    if (n.dense.tiles > 0)
      md << " The matrix unit fetches " << n.dense.tiles << " weight tiles per batch for the dense model and "
         << n.compressed.tiles << " for the compressed one.";
    md << "\n";
  }

  r.markdown = md.str();
  r.charts.clear();
  for (const DcNetwork& n : r.networks) {
    if (!n.result.sensitivity.empty()) r.charts.push_back(sensitivity_chart(n));
    r.charts.push_back(bits_chart(n));
    r.charts.push_back(weights_chart(n));
  }
  r.charts.push_back(storage_chart(r));
}

}  // namespace tpu::train
