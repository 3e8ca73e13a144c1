#include "tools/continual/continual_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "tools/continual/study_runner.h"

namespace tpu::continual {

namespace {

// Accuracy differences are judged in points (of 100) against these margins.
constexpr double kHolds = 1.0;      // "accuracy holds": within a point of the most trained setting
constexpr double kNeeded = 2.0;     // "old data is needed": ignoring it costs more than two points
constexpr double kNoiseCost = 3.0;  // "10% noise costs only about 2%": three points at most

std::string points(double fraction) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f", 100 * fraction);
  return s;
}

// "+3.4 [+2.1, +4.7]": a paired difference in points with its interval.
std::string difference(const Interval& d) {
  char s[96];
  std::snprintf(s, sizeof s, "%+.1f [%+.1f, %+.1f]", 100 * d.mean, 100 * d.lo, 100 * d.hi);
  return s;
}

double final_of(const SettingSummary& s, bool chip) {
  return chip ? s.final_chip_accuracy.mean : s.final_accuracy.mean;
}

std::vector<const SettingSummary*> of(const std::vector<SettingSummary>& all, const std::string& experiment,
                                      const std::string& scenario) {
  std::vector<const SettingSummary*> v;
  for (const SettingSummary& s : all)
    if (s.setting.experiment == experiment && s.setting.scenario == scenario) v.push_back(&s);
  return v;
}

Verdict iterations(const StudySpec& spec, const std::vector<SettingSummary>& all, const std::string& scenario, bool chip) {
  Verdict v{"Accuracy holds with far fewer iterations per update, except at a tenth of an epoch, and a small constant "
            "such as the update-set size suffices",
            scenario, chip, "not measured", ""};
  const std::vector<const SettingSummary*> runs = of(all, "iterations", scenario);
  const SettingSummary* most = most_trained(all, scenario);
  if (!most) return v;
  const int64_t update = scenario == "new_classes" ? spec.new_classes.update_size : spec.growing_data.update_size;
  const double ref = final_of(*most, chip);
  int fewer = 0, fewer_hold = 0;
  bool tenth_worse = false, tenth = false, constant = false, constant_holds = false;
  std::string detail;
  for (const SettingSummary* s : runs) {
    const double loss = ref - final_of(*s, chip);
    if (s == most) continue;
    if (s->setting.constant == 0 && std::abs(s->x - 0.1) < 1e-9) {
      tenth = true;
      tenth_worse = 100 * loss > kHolds;
    } else if (s->setting.constant == 0) {
      ++fewer;
      fewer_hold += 100 * loss <= kHolds;
    } else if (s->setting.constant == update) {
      constant = true;
      constant_holds = 100 * loss <= kHolds;
    }
    detail += (detail.empty() ? "" : "; ") + s->setting.label() + " " + points(final_of(*s, chip)) + "% (" +
              difference(paired_difference(*s, *most, chip)) + ")";
  }
  // Where the accuracy goes: the classes the updates brought against those known from the start.
  const SettingSummary* fewest = nullptr;
  for (const SettingSummary* s : runs)
    if (s->setting.constant == 0 && (!fewest || s->x < fewest->x)) fewest = s;
  std::string where;
  const auto groups = [chip](const SettingSummary* s) { return chip ? s->chip_groups : s->groups; };
  if (fewest && fewest != most && groups(most).added.n > 0)
    where = " The classes the updates brought end at " + points(groups(most).added.mean) + "% with " +
            most->setting.label() + " and " + points(groups(fewest).added.mean) + "% with " + fewest->setting.label() +
            "; those known from the start at " + points(groups(most).initial.mean) + "% and " +
            points(groups(fewest).initial.mean) + "%.";
  v.why = "final accuracy " + points(ref) + "% with " + most->setting.label() + " (the reference); " + detail + "." +
          where + " Rule: a setting holds when its mean loss against the reference is within " + points(kHolds / 100) +
          " point (in brackets the paired difference's 95% interval over the bootstraps).";
  // The finding is that few iterations suffice: that a tenth of an epoch falls short earns nothing alone.
  const int core = (fewer > 0 && fewer_hold == fewer) + (constant && constant_holds);
  const int met = core + (tenth && tenth_worse);
  const int asked = (fewer > 0) + tenth + constant;
  v.verdict = asked == 0 ? "not measured" : met == asked ? (asked == 3 ? "reproduced" : "partly (not every part measured)")
                                          : core > 0 ? "partly" : "not reproduced";
  return v;
}

Verdict old_data(const std::vector<SettingSummary>& all, const std::string& scenario, bool chip) {
  Verdict v{"Old data is needed to avoid overfitting the small update set", scenario, chip, "not measured", ""};
  const SettingSummary *only_new = nullptr, *best = nullptr;
  for (const SettingSummary* s : of(all, "old_data", scenario)) {
    if (s->x == 1) only_new = s;
    else if (!best || final_of(*s, chip) > final_of(*best, chip)) best = s;
  }
  if (!only_new || !best) return v;
  const Interval d = paired_difference(*best, *only_new, chip);
  const double cost = d.mean;
  v.why = "final accuracy " + points(final_of(*only_new, chip)) + "% with only the new data (lambda 1) against " +
          points(final_of(*best, chip)) + "% at the best " + best->setting.label() + ": " + difference(d) +
          " points (paired, with its 95% interval). Rule: reproduced when the mean is above " + points(kNeeded / 100) +
          ", partly above half that.";
  v.verdict = 100 * cost > kNeeded ? "reproduced" : 100 * cost > kNeeded / 2 ? "partly" : "not reproduced";
  return v;
}

Verdict noise(const std::vector<SettingSummary>& all, const std::string& scenario, bool chip) {
  Verdict v{"10% label noise costs only about 2% accuracy", scenario, chip, "not measured", ""};
  const SettingSummary *clean = nullptr, *ten = nullptr;
  for (const SettingSummary* s : of(all, "label_noise", scenario)) {
    if (s->x == 0) clean = s;
    if (std::abs(s->x - 0.1) < 1e-9) ten = s;
  }
  if (!clean || !ten) return v;
  const Interval d = paired_difference(*clean, *ten, chip);
  const double cost = d.mean;
  v.why = "final accuracy " + points(final_of(*clean, chip)) + "% without noise, " + points(final_of(*ten, chip)) +
          "% with 10%: " + difference(d) + " points (paired, with its 95% interval). Rule: reproduced when the mean "
          "is at most " + points(kNoiseCost / 100) + " (a smaller cost, or none, agrees with \"only\"), partly at most " +
          points(5.0 / 100) + ".";
  v.verdict = 100 * cost <= kNoiseCost ? "reproduced" : 100 * cost <= 5 ? "partly" : "not reproduced";
  return v;
}

}  // namespace

const SettingSummary* most_trained(const std::vector<SettingSummary>& settings, const std::string& scenario) {
  const SettingSummary* most = nullptr;
  for (const SettingSummary& s : settings)
    if (s.setting.experiment == "iterations" && s.setting.scenario == scenario && s.setting.constant == 0 &&
        (!most || s.x > most->x))
      most = &s;
  return most;
}

std::vector<Verdict> judge(const StudySpec& spec, const std::vector<SettingSummary>& settings) {
  std::vector<Verdict> v;
  for (const bool chip : {false, true})
    for (const char* scenario : {"new_classes", "growing_data"}) {
      for (Verdict x : {iterations(spec, settings, scenario, chip), old_data(settings, scenario, chip),
                        noise(settings, scenario, chip)})
        if (x.verdict != "not measured") v.push_back(std::move(x));
    }
  return v;
}

Interval paired_difference(const SettingSummary& a, const SettingSummary& b, bool chip) {
  const std::vector<double>& x = chip ? a.chip_finals : a.finals;
  const std::vector<double>& y = chip ? b.chip_finals : b.finals;
  std::vector<double> d;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) d.push_back(x[i] - y[i]);
  return interval(d);
}

StudyReport study_report(const StudySpec& spec, const std::vector<nlohmann::json>& records) {
  StudyReport r{spec, "", summarize(spec, records), {}};
  r.verdicts = judge(spec, r.settings);
  return r;
}

namespace {

// The study of `file` run (or resumed) in `dir` when asked, and reported.
StudyReport run_and_report(const ContinualReportOptions& o, const std::string& file, const std::string& results) {
  const StudySpec spec = load_study(file);
  const std::string dir = results.empty() ? "build/reports/continual/" + spec.name : results;
  if (o.run) {
    // A directory of another definition (or build) is started afresh: the report needs this one's runs.
    try {
      claim_study_directory(spec, dir);
    } catch (const sweep::SweepError&) {
      std::filesystem::remove_all(dir);
    }
    StudyRunOptions run;
    run.out_dir = dir;
    run.data = o.data;
    run.jobs = o.jobs;
    run.progress = false;
    const sweep::PoolOutcome out = run_study_local(spec, run);
    if (out.failed > 0)
      throw std::runtime_error(dir + ": " + std::to_string(out.failed) + " runs failed; a report needs every run (see " +
                               dir + "/runs/)");
  }
  StudyReport r = study_report(spec, read_study_results(dir));
  r.results_dir = dir;
  return r;
}

}  // namespace

std::vector<const StudyReport*> ContinualReport::all() const {
  std::vector<const StudyReport*> v = {&study};
  for (const StudyReport& c : compressed) v.push_back(&c);
  return v;
}

ContinualReport continual_report(const ContinualReportOptions& o) {
  ContinualReport r;
  r.study = run_and_report(o, o.study, o.results);
  for (const std::string& file : o.compressed) r.compressed.push_back(run_and_report(o, file, ""));
  write_continual_text(o, r);
  return r;
}

}  // namespace tpu::continual
