#include "tools/sweep/sensitivity_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "isa/program.h"
#include "tools/report/text.h"
#include "sim/base/config.h"
#include "tools/sweep/runner.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {

namespace {

using report::fmt;

const char* kBandwidth = "weight_memory.bandwidth_gb_s";
const char* kClock = "clock_mhz";
const char* kEntries = "accumulators.entries";
const char* kRows = "matrix_unit.rows";
const std::vector<double> kScales = {0.25, 0.5, 1, 2, 4};
const std::vector<std::string> kVariants = {"memory", "clock", "clock+", "matrix", "matrix+"};

// The keys of a point that differ from the base chip, with their factors (NaN for a key that is not
// a positive number of the configuration: a text key, a table entry, a base value of 0).
std::map<std::string, double> changes(const SweepSpec& spec, const Point& p, const nlohmann::json& base) {
  nlohmann::json chip;
  sim::to_json(chip, point_params(spec, p));
  std::map<std::string, double> out;
  for (const auto& [key, value] : p.values) {
    if (std::any_of(spec.derived.begin(), spec.derived.end(), [&](const auto& d) { return d.first == key; })) continue;
    const auto v = at_path(chip, key), b = at_path(base, key);
    if (!v || !b) {
      out[key] = NAN;  // a table entry: changed for this study's purposes
    } else if (*v != *b) {
      out[key] = v->is_number() && b->is_number() && b->get<double>() > 0 ? v->get<double>() / b->get<double>() : NAN;
    }
  }
  return out;
}

// Figure 11's variant of a set of changes, with its factor; empty for anything else.
std::pair<std::string, double> variant_of(const std::map<std::string, double>& c) {
  auto only = [&](std::set<std::string> keys) {
    if (c.size() != keys.size()) return false;
    for (const auto& [k, f] : c)
      if (!keys.count(k) || f != c.begin()->second) return false;
    return true;
  };
  if (c.empty()) return {"TPU v1", 1};
  const double f = c.begin()->second;
  if (std::find(kScales.begin(), kScales.end(), f) == kScales.end()) return {};
  if (only({kBandwidth})) return {"memory", f};
  if (only({kClock})) return {"clock", f};
  if (only({kClock, kEntries})) return {"clock+", f};
  if (only({kRows})) return {"matrix", f};
  if (only({kRows, kEntries})) return {"matrix+", f};
  return {};
}

std::string describe(const std::map<std::string, double>& c, const Point& p) {
  std::string s;
  for (const auto& [key, value] : p.values)
    if (c.count(key))
      s += (s.empty() ? "" : ", ") + key + " " + value + (std::isnan(c.at(key)) ? "" : " (" + fmt("%.3gx", c.at(key)) + ")");
  return s;
}

}  // namespace

SensitivityReport sensitivity_report(const SensitivityOptions& options) {
  const std::string& sweep_file = options.sweep_file;
  const std::string& results_dir = options.results_dir;
  const std::string& charts_folder = options.charts_folder;
  const SweepSpec spec = load_sweep(sweep_file);
  const std::vector<Point> points = expand(spec);
  const SweepSpec::Mean* weighted = nullptr;
  for (const auto& m : spec.means)
    if (m.kind == SweepSpec::Mean::Kind::weighted) weighted = &m;
  if (weighted == nullptr) throw SweepError(sweep_file + ": the study needs a weighted mean (means:)");

  const sim::ChipParams base_params = sim::read_chip_params(sim::Config::load(spec.config));
  nlohmann::json base_chip;
  sim::to_json(base_chip, base_params);

  SensitivityReport rep;
  std::vector<std::map<std::string, double>> changed;
  const SensitivityPoint* base = nullptr;
  for (const Point& p : points) {
    SensitivityPoint sp;
    sp.point = p.index;
    changed.push_back(changes(spec, p, base_chip));
    const auto [variant, scale] = variant_of(changed.back());
    sp.variant = variant.empty() ? describe(changed.back(), p) : variant;
    sp.scale = scale;
    rep.points.push_back(sp);
  }
  for (const SensitivityPoint& sp : rep.points)
    if (sp.variant == "TPU v1") base = &sp;
  if (base == nullptr) throw SweepError(sweep_file + ": the study needs a point that is the base chip itself");
  auto find = [&](const std::string& variant, double scale) -> const SensitivityPoint* {
    for (const SensitivityPoint& sp : rep.points)
      if ((sp.variant == variant && sp.scale == scale) || (scale == 1 && sp.variant == "TPU v1")) return &sp;
    return nullptr;
  };
  // The study needs TPU v1 and every variant at every scale, and the applications the statements
  // name: checked before anything runs.
  std::string missing;
  for (const std::string& v : kVariants)
    for (double x : kScales)
      if (!find(v, x)) missing += (missing.empty() ? "" : ", ") + v + " " + fmt("%gx", x);
  for (const char* app : {"cnn0", "lstm1"})
    if (std::none_of(spec.workloads.begin(), spec.workloads.end(), [&](const WorkloadRef& w) { return w.name == app; }))
      missing += (missing.empty() ? "workload " : ", workload ") + std::string(app);
  for (const char* metric : {"inferences_per_s", "weight_dram_bytes"})
    if (std::none_of(spec.metrics.begin(), spec.metrics.end(), [&](const auto& m) { return m.first == metric; }))
      missing += (missing.empty() ? "metric " : ", metric ") + std::string(metric);
  if (!missing.empty())
    throw SweepError(sweep_file + ": not the TPU v1 sensitivity study: it lacks " + missing +
                     " (each variant changes only its keys of the base chip, by 0.25, 0.5, 2 and 4)");

  run_study(spec, points, results_dir, options.jobs);
  // Inferences per second and weight bytes per (point, workload), from the aggregate.
  std::map<std::pair<size_t, std::string>, nlohmann::json> metrics;
  for (const nlohmann::json& r : read_results(results_dir))
    for (const WorkloadRef& w : spec.workloads)
      if (w.id == r["workload"]) metrics[{r["point"].get<size_t>(), w.name}] = r["metrics"];
  const size_t base_point = base->point;
  for (SensitivityPoint& sp : rep.points) {
    double wsum = 0, wtotal = 0, lsum = 0;
    for (size_t w = 0; w < spec.workloads.size(); ++w) {
      const std::string& name = spec.workloads[w].name;
      const double s = metrics.at({sp.point, name}).at("inferences_per_s").get<double>() /
                       metrics.at({base_point, name}).at("inferences_per_s").get<double>();
      sp.speedup[name] = s;
      sp.weight_bytes[name] = metrics.at({sp.point, name}).at("weight_dram_bytes").get<double>();
      wsum += weighted->weights[w] * s;
      wtotal += weighted->weights[w];
      lsum += std::log(s);
    }
    sp.weighted = wsum / wtotal;
    sp.geometric = std::exp(lsum / static_cast<double>(spec.workloads.size()));
  }
  // Charts: Figure 11 (the weighted mean per variant), and each variant per application.
  report::Chart fig;
  fig.name = "figure11";
  fig.xlabel = "scale of the parameter (TPU v1 = 1)";
  fig.ylabel = "weighted mean performance relative to TPU v1";
  fig.log_x = true;
  fig.x_range = {{0.2, 5}};
  fig.key = "inside left top";
  for (const std::string& v : kVariants) {
    report::Series s{v, {}, "with linespoints lw 2 pointsize 1.1"};
    for (double x : kScales)
      if (const auto* p = find(v, x)) s.points.emplace_back(x, p->weighted);
    fig.series.push_back(s);
  }
  rep.charts.push_back(fig);
  for (const std::string& v : kVariants) {
    report::Chart c;
    c.name = "by_application_" + std::string(v.back() == '+' ? v.substr(0, v.size() - 1) + "_plus" : v);
    c.xlabel = v + ": scale (TPU v1 = 1)";
    c.ylabel = "performance relative to TPU v1";
    c.log_x = true;
    c.x_range = {{0.2, 5}};
    c.key = "inside left top";
    for (const WorkloadRef& w : spec.workloads) {
      report::Series s{w.name, {}, "with linespoints pointsize 1"};
      for (double x : kScales)
        if (const auto* p = find(v, x)) s.points.emplace_back(x, p->speedup.at(w.name));
      c.series.push_back(s);
    }
    report::Series wm{"weighted mean", {}, "with linespoints lw 3 lc rgb 'black' pointsize 1.2"};
    for (double x : kScales)
      if (const auto* p = find(v, x)) wm.points.emplace_back(x, p->weighted);
    c.series.push_back(wm);
    rep.charts.push_back(c);
  }

  std::ostringstream md;
  md << "# TPU v1 sensitivity: the paper's Section 7 on the simulated chip\n\n"
     << "Generated by `build/tpusim report tpu-v1-sensitivity` from `" << options.sweep_name
     << "` (" << (spec.timing_only ? "timing only" : "with values")
     << ", every run simulated; the test `SensitivityReportTest.*` checks this file against a fresh "
        "run). Jouppi et al., \"In-Datacenter Performance Analysis of a Tensor Processing Unit\", ISCA 2017, "
        "Section 7 and Figure 11, scale five parameters of TPU v1 from 0.25x to 4x, one at a time, on the six "
        "production applications: weight-memory bandwidth (memory), clock rate (clock), clock rate with the "
        "accumulators scaled alike (clock+), matrix-unit dimension (matrix, rows and columns), and dimension with "
        "the accumulators (matrix+). Performance is inferences per second relative to TPU v1 at the same batch. "
        "The paper's statements below are paraphrased from Section 7. The weighted mean uses the weights the "
        "sweep file states (from Table 1's deployment shares, as its comment says):";
  for (size_t w = 0; w < spec.workloads.size(); ++w)
    md << (w ? ", " : " ") << spec.workloads[w].name << " " << fmt("%g", weighted->weights[w]);
  md << ".\n\n![Weighted mean performance against each parameter's scale](" << charts_folder
     << "/figure11.svg)\n\n| variant | 0.25x | 0.5x | 1x | 2x | 4x |\n|---|---|---|---|---|---|\n";
  for (const std::string& v : kVariants) {
    md << "| " << v;
    for (double x : kScales) {
      const auto* p = find(v, x);
      md << " | " << (p ? fmt("%.2f", p->weighted) : "-");
    }
    md << " |\n";
  }
  md << "\nThe weighted mean of the performance relative to TPU v1; per application below.\n\n";
  for (const std::string& v : kVariants) {
    md << "### " << v << "\n\n![" << v << " per application](" << charts_folder << "/"
       << rep.charts[static_cast<size_t>(std::find(kVariants.begin(), kVariants.end(), v) - kVariants.begin()) + 1].name
       << ".svg)\n\n| application | 0.25x | 0.5x | 2x | 4x |\n|---|---|---|---|---|\n";
    for (const WorkloadRef& w : spec.workloads) {
      md << "| " << w.name;
      for (double x : {0.25, 0.5, 2.0, 4.0}) md << " | " << fmt("%.2f", find(v, x)->speedup.at(w.name));
      md << " |\n";
    }
    md << "| weighted mean (geometric)";
    for (double x : {0.25, 0.5, 2.0, 4.0})
      md << " | " << fmt("%.2f", find(v, x)->weighted) << " (" << fmt("%.2f", find(v, x)->geometric) << ")";
    md << " |\n\n";
  }
  md << "## TPU' and other design points\n\n| design point | weighted mean | geometric mean |";
  for (const WorkloadRef& w : spec.workloads) md << " " << w.name << " |";
  md << "\n|---|---|---|";
  for (size_t w = 0; w < spec.workloads.size(); ++w) md << "---|";
  md << "\n";
  std::vector<const SensitivityPoint*> others;
  for (const SensitivityPoint& sp : rep.points)
    if (std::find(kVariants.begin(), kVariants.end(), sp.variant) == kVariants.end() && sp.variant != "TPU v1")
      others.push_back(&sp);
  for (const SensitivityPoint* sp : others) {
    md << "| " << sp->variant << " | " << fmt("%.2f", sp->weighted) << " | " << fmt("%.2f", sp->geometric) << " |";
    for (const WorkloadRef& w : spec.workloads) md << " " << fmt("%.2f", sp->speedup.at(w.name)) << " |";
    md << "\n";
  }

  // The paper's statements, each checked against the simulated figures.
  md << "\n## The paper beside the model\n\n";
  auto verdict = [&](const std::string& statement, bool agrees, const std::string& model, const std::string& why) {
    rep.verdicts.emplace_back(statement, agrees);
    md << "- **Paper:** " << statement << "\n  **Model:** " << model << " " << (agrees ? "Same direction. " : "**Differs.** ")
       << why << "\n";
  };
  const double mem4 = find("memory", 4)->weighted;
  double best_other4 = 0;
  for (const std::string& v : kVariants)
    if (v != "memory") best_other4 = std::max(best_other4, find(v, 4)->weighted);
  // Weight-bound: a quarter of the bandwidth costs nearly three quarters of the performance.
  std::set<std::string> bound;
  auto list = [&](const std::set<std::string>& names) {
    std::string out;
    for (const WorkloadRef& w : spec.workloads)
      if (names.count(w.name)) out += (out.empty() ? "" : ", ") + w.name;
    return out.empty() ? std::string("none") : out;
  };
  for (const WorkloadRef& w : spec.workloads)
    if (find("memory", 0.25)->speedup.at(w.name) < 0.3) bound.insert(w.name);
  double bound_gain = 0;  // the most any weight-bound application gains from 4x bandwidth
  for (const std::string& name : bound) bound_gain = std::max(bound_gain, find("memory", 4)->speedup.at(name));
  verdict("memory bandwidth has the biggest impact: 4x bandwidth raises the weighted mean about 3x.",
          mem4 > best_other4 && mem4 >= kAboutThreeLow && mem4 <= kAboutThreeHigh,
          "4x bandwidth gives " + fmt("%.2fx", mem4) + " (the next best variant at 4x: " + fmt("%.2fx", best_other4) +
              ").",
          "The applications whose performance falls almost in proportion at 0.25x wait on weights: " + list(bound) +
              "." +
              (!bound.empty() && bound_gain < 4 * 0.99
                   ? " None of them gains the full 4x (at most " + fmt("%.2fx", bound_gain) +
                         "): the part of their time not spent waiting for weights does not shrink with bandwidth."
                   : ""));
  const double clk4 = find("clock", 4)->weighted, clkp4 = find("clock+", 4)->weighted;
  double flat_share = 0, total_weight = 0;  // of the weighted mean: applications a 4x clock leaves within 10%
  for (size_t w = 0; w < spec.workloads.size(); ++w) {
    total_weight += weighted->weights[w];
    if (find("clock", 4)->speedup.at(spec.workloads[w].name) < 1.1) flat_share += weighted->weights[w];
  }
  // The applications a 4x clock does speed up, and how the accumulators change their weight bytes.
  std::string gainers;
  for (const WorkloadRef& w : spec.workloads) {
    const double plain = find("clock", 4)->speedup.at(w.name), plus = find("clock+", 4)->speedup.at(w.name);
    if (plain < 1.1 && plus < 1.1) continue;
    const double bytes = find("clock+", 4)->weight_bytes.at(w.name) / find("clock", 4)->weight_bytes.at(w.name);
    gainers += std::string(gainers.empty() ? "" : "; ") + w.name + " " + fmt("%.2fx", plain) + " without, " +
               fmt("%.2fx", plus) + " with 4x accumulators" +
               (bytes < 0.99 ? ", which let each weight tile serve more rows, so it reads " + fmt("%.2fx", bytes) +
                                   " the weight bytes"
                             : "");
  }
  verdict("clock rate has little benefit on average, with or without more accumulators.", clk4 < 1.15 && clkp4 < 1.15,
          "4x clock gives " + fmt("%.2fx", clk4) + ", 4x clock with 4x accumulators " + fmt("%.2fx", clkp4) + ".",
          "Bandwidth is stated in GB/s, so a faster clock leaves weight-bound applications waiting as long for "
          "their weights: those a 4x clock speeds up by less than 10% carry " +
              fmt("%.0f%%", 100 * flat_share / total_weight) + " of the weighted mean." +
              (gainers.empty() ? "" : " The others gain: " + gainers + "."));
  const double mat2 = find("matrix", 2)->weighted, matp2 = find("matrix+", 2)->weighted;
  const double lstm1_bytes = find("matrix", 2)->weight_bytes.at("lstm1") / base->weight_bytes.at("lstm1");
  // Applications that read more weight bytes at 512x512 and lose performance there.
  std::string padded_losers;
  for (const WorkloadRef& w : spec.workloads) {
    const double bytes = find("matrix", 2)->weight_bytes.at(w.name) / base->weight_bytes.at(w.name);
    const double speed = find("matrix", 2)->speedup.at(w.name);
    if (bytes > 1.01 && speed < 1)
      padded_losers += (padded_losers.empty() ? "" : "; ") + w.name + " " + fmt("%.2fx", bytes) + " the bytes, " +
                       fmt("%.2fx", speed) + " the performance";
  }
  const SensitivityPoint* half = find("matrix", 0.5);
  verdict("the average slightly degrades when the matrix unit grows from 256x256 to 512x512, with or without more "
          "accumulators: a 600x600 matrix of LSTM1 takes 9 tiles of 256x256 but 4 tiles of 512x512, each four "
          "times longer to load (18 against 32 us).",
          mat2 < 1 && matp2 < 1,
          "512x512 gives " + fmt("%.2fx", mat2) + ", with 2x accumulators " + fmt("%.2fx", matp2) +
              "; LSTM1 reads " + fmt("%.2fx", lstm1_bytes) + " the weight bytes of 256x256.",
          base_params.weight_memory.tile_reads == "whole"
              ? std::string("A partial tile moves the array's rows x cols bytes (weight_memory.tile_reads: whole, "
                            "TPU v1's fixed tiles).") +
                    (padded_losers.empty() ? ""
                                           : " A bigger array pads more; at 512x512 " + padded_losers + ".") +
                    (mat2 < 0.9 ? " The model loses more than slightly: how much of each tile is padding depends on "
                                  "the layers' widths, which the paper does not give (the reconstructions' are "
                                  "guesses)" +
                                      (half && half->weighted > 1
                                           ? std::string("; a 128x128 array gives ") + fmt("%.2fx", half->weighted) +
                                                 ", LSTM1 reading " +
                                                 fmt("%.2fx", half->weight_bytes.at("lstm1") /
                                                                  base->weight_bytes.at("lstm1")) +
                                                 " the weight bytes of 256x256."
                                           : std::string("."))
                                : "")
              : "The weight path moves a partial tile's own k x n bytes (weight_memory.tile_reads: exact): LSTM1 reads " +
                    fmt("%.2fx", lstm1_bytes) +
                    " the weight bytes at 512x512; the paper's arithmetic (9 x 64 KiB against 4 x 256 KiB at 34 GB/s) "
                    "moves whole tiles (weight_memory.tile_reads: whole).");
  const SensitivityPoint *tclk = nullptr, *tmem = nullptr, *tboth = nullptr;
  for (SensitivityPoint& sp : rep.points) {
    const auto& c = changed[sp.point];
    // TPU': 1050 MHz (1.5x the clock), GDDR5-class weight memory (more than 5x the bandwidth), both.
    const bool clock = c.count(kClock) && c.at(kClock) == 1.5, memory = c.count(kBandwidth) && c.at(kBandwidth) > 5;
    if (c.size() == 1 && clock) tclk = &sp, sp.tpu_prime = "clock";
    if (c.size() == 1 && memory) tmem = &sp, sp.tpu_prime = "memory";
    if (c.size() == 2 && clock && memory) tboth = &sp, sp.tpu_prime = "both";
  }
  if (tclk && tmem && tboth)
    verdict("TPU': raising the clock to 1050 MHz alone does little; GDDR5-class weight memory (more than 5x the "
            "bandwidth) gives most of the gain (about 3x the achieved TOPS, says the abstract), and the two together "
            "the most.",
            tclk->weighted < 1.15 && tmem->weighted > 2 * tclk->weighted && tmem->weighted >= kAboutThreeLow &&
                tmem->weighted <= kAboutThreeHigh && tboth->weighted >= tmem->weighted,
            tclk->variant + " gives " + fmt("%.2fx", tclk->weighted) + ", " + tmem->variant + " " +
                fmt("%.2fx", tmem->weighted) + ", both " +
                fmt("%.2fx", tboth->weighted) + ".",
            "The faster clock gains " + fmt("%.2fx", tboth->weighted / tmem->weighted) + " on top of GDDR5, against " +
                fmt("%.2fx", tclk->weighted) + " on its own.");
  md << "\n## The sweep\n\n```yaml\n" << isa::read_file(sweep_file) << "```\n";
  rep.markdown = md.str();
  return rep;
}

}  // namespace tpu::sweep
