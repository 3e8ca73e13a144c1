#include "sim/top/results.h"

#include "sim/base/fault.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <tuple>

namespace tpu::sim {

namespace {

uint64_t stat(const RunOutcome& o, const std::string& group, const std::string& name) {
  for (const StatGroup* g : o.stats)
    if (g->name() == group) return g->value(name);
  return 0;
}

double share(uint64_t part, uint64_t whole) { return whole ? static_cast<double>(part) / whole : 0.0; }

// A metadata value as a number, if it is one.
std::optional<uint64_t> number(const std::string& v) {
  try {
    return std::stoull(v);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A number the program's metadata states under `key`, if it does.
std::optional<uint64_t> stated(const isa::Program& p, const std::string& key) {
  for (const auto& [k, v] : p.metadata)
    if (k == key) return number(v);
  return std::nullopt;
}

// Layer names by tag id, as the program's metadata states them ("layer.<id>").
std::map<std::string, std::string> layer_names(const isa::Program& p) {
  std::map<std::string, std::string> names;
  for (const auto& [k, v] : p.metadata)
    if (k.rfind("layer.", 0) == 0) names[k.substr(6)] = v;
  return names;
}

// Inferences one run performs: the program's "batch" metadata, else 1.
uint64_t batch_of(const isa::Program& p) { return std::max<uint64_t>(1, stated(p, "batch").value_or(1)); }

nlohmann::json tensor_values(const isa::TensorDesc& t, const std::vector<uint8_t>& bytes) {
  nlohmann::json values = nlohmann::json::array();
  const size_t n = static_cast<size_t>(t.elements());
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = bytes.data() + i * isa::dtype_bytes(t.dtype);
    switch (t.dtype) {
      case isa::DType::kI8: values.push_back(static_cast<int8_t>(p[0])); break;
      case isa::DType::kU8: values.push_back(p[0]); break;
      case isa::DType::kI16: values.push_back(static_cast<int16_t>(p[0] | (p[1] << 8))); break;
      case isa::DType::kI32: {
        int32_t v;
        std::memcpy(&v, p, 4);
        values.push_back(v);
        break;
      }
      case isa::DType::kF32: {
        float v;
        std::memcpy(&v, p, 4);
        values.push_back(v);
        break;
      }
    }
  }
  return values;
}

// Inferences per second and TOPS. Operations are the network's MACs as the
// compiler states them, once the whole program has run; the array's counter
// also counts identity and diagonal tiles (pooling, depthwise). A statement
// above what the array did cannot be true and is not used; a run that faulted
// did not finish its inferences and has no throughput.
nlohmann::json throughput_json(const RunRecord& run, uint64_t array_macs, uint64_t sparse_macs, double seconds) {
  const ChipParams& p = run.params;
  const std::optional<uint64_t> claimed = run.outcome.halted ? stated(run.program, "macs") : std::nullopt;
  const uint64_t said = claimed.value_or(0);
  // The sparse engine's share is its layers' dense products: the network's work, its zeros skipped.
  const uint64_t done = array_macs + sparse_macs;
  const bool believed = claimed && said <= done;
  const uint64_t work = believed ? said : done;
  nlohmann::json t = {{"macs", work},
                      {"macs_from", believed ? "program" : sparse_macs ? "matrix_unit.useful_macs + sparse_engine.dense_macs"
                                                                       : "matrix_unit.useful_macs"},
                      {"peak_tops", peak_tops(p)}};
  if (claimed && !believed) {
    t["stated_macs"] = said;
    t["warning"] = "the program states " + std::to_string(said) + " MACs, more than the " + std::to_string(done) +
                   (sparse_macs ? " the matrix unit and the sparse engine" : " the matrix unit") +
                   " performed; throughput counts the array's MACs";
  }
  const bool finished = run.outcome.halted && seconds > 0;
  t["inferences_per_s"] = finished ? nlohmann::json(batch_of(run.program) / seconds) : nlohmann::json();
  t["tops"] = finished ? nlohmann::json(2.0 * work / seconds / 1e12) : nlohmann::json();
  return t;
}

}  // namespace

double peak_tops(const ChipParams& p) {
  return 2.0 * static_cast<double>(p.matrix_unit.rows * p.matrix_unit.cols) * p.clock_mhz * 1e6 / 1e12;
}

nlohmann::json to_json(const RunRecord& run) {
  const RunOutcome& o = run.outcome;
  const ChipParams& p = run.params;
  nlohmann::json j;
  j["status"] = o.halted ? "halted" : "fault";
  if (o.fault) {
    j["fault"] = {{"pc", o.fault->pc},
                  {"instruction", o.fault->instruction},
                  {"cycle", o.fault->cycle},
                  {"reason", o.fault->reason}};
  }
  const double seconds = static_cast<double>(o.cycles) / (p.clock_mhz * 1e6);
  const uint64_t useful = stat(o, "matrix_unit", "useful_macs");
  const uint64_t batch = batch_of(run.program);
  j["cycles"] = o.cycles;
  j["latency_us"] = seconds * 1e6;
  j["batch"] = batch;
  j["throughput"] = throughput_json(run, useful, stat(o, "sparse_engine", "dense_macs"), seconds);

  // The TPU's performance-counter breakdown: the first four shares add up to 1.
  const uint64_t active = stat(o, "matrix_unit", "array_active_cycles");
  const uint64_t wstall = stat(o, "matrix_unit", "weight_stall_cycles");
  const uint64_t wshift = stat(o, "matrix_unit", "weight_shift_cycles");
  // The three are disjoint stretches of the run; the rest is non-matrix time.
  const uint64_t matrix = active + wstall + wshift;
  if (matrix > o.cycles)
    throw InternalError("the matrix unit's active, weight-stall and weight-shift cycles (" + std::to_string(matrix) +
                        ") exceed the run's " + std::to_string(o.cycles) + " cycles");
  const uint64_t non_matrix = o.cycles - matrix;
  const double peak_macs = static_cast<double>(p.matrix_unit.rows * p.matrix_unit.cols) * o.cycles;
  j["counters"] = {{"array_active", {{"cycles", active}, {"share", share(active, o.cycles)}}},
                   {"weight_stall", {{"cycles", wstall}, {"share", share(wstall, o.cycles)}}},
                   {"weight_shift", {{"cycles", wshift}, {"share", share(wshift, o.cycles)}}},
                   {"non_matrix", {{"cycles", non_matrix}, {"share", share(non_matrix, o.cycles)}}},
                   {"useful_macs", {{"macs", useful}, {"share_of_peak", peak_macs > 0 ? useful / peak_macs : 0.0}}},
                   {"unused_macs",
                    {{"macs", stat(o, "matrix_unit", "unused_macs")},
                     {"share_of_peak", peak_macs > 0 ? stat(o, "matrix_unit", "unused_macs") / peak_macs : 0.0}}},
                   {"raw_stall",
                    {{"cycles", stat(o, "matrix_unit", "raw_stall_cycles")},
                     {"share", share(stat(o, "matrix_unit", "raw_stall_cycles"), o.cycles)}}},
                   {"input_stall",
                    {{"cycles", stat(o, "matrix_unit", "input_stall_cycles")},
                     {"share", share(stat(o, "matrix_unit", "input_stall_cycles"), o.cycles)}}}};

  nlohmann::json units = nlohmann::json::object();
  for (const StatGroup* g : o.stats)
    for (const auto& s : g->stats()) units[g->name()][s.name] = s.counter.value();
  j["units"] = units;
  if (p.sparse_engine.pes > 0) {
    // The busiest PE's work over the mean PE's (1: perfectly balanced), and the share of the PEs'
    // compute cycles they worked.
    const double busy = static_cast<double>(stat(o, "sparse_engine", "pe_busy_cycles"));
    const double pes = static_cast<double>(p.sparse_engine.pes);
    const double busiest = static_cast<double>(stat(o, "sparse_engine", "busiest_pe_cycles"));
    const double compute = static_cast<double>(stat(o, "sparse_engine", "array_cycles"));  // engine cycles, as busy
    j["sparse_engine"] = {{"load_imbalance", busy > 0 ? nlohmann::json(busiest / (busy / pes)) : nlohmann::json()},
                          {"pe_utilization", compute > 0 ? nlohmann::json(busy / (pes * compute)) : nlohmann::json()}};
  }
  nlohmann::json utilization;
  utilization["matrix_unit"] = share(active, o.cycles);
  utilization["activation_unit"] = share(stat(o, "activation_unit", "busy_cycles"), o.cycles);
  utilization["host_interface"] = share(stat(o, "host_interface", "busy_cycles"), o.cycles);
  utilization["weight_memory"] = share(stat(o, "weight_memory", "busy_cycles"), o.cycles);
  j["utilization"] = utilization;

  nlohmann::json by_opcode = nlohmann::json::object();
  for (const auto& insn : isa::kInsns)
    if (o.instructions_by_opcode[insn.opcode])
      by_opcode[std::string(insn.mnemonic)] = o.instructions_by_opcode[insn.opcode];
  j["instructions"] = by_opcode;
  j["bytes"] = {{"host_to_unified_buffer", stat(o, "host_interface", "host_read_bytes")},
                {"unified_buffer_to_host", stat(o, "host_interface", "host_write_bytes")},
                {"host_to_weight_dram", stat(o, "host_interface", "weight_load_bytes")},
                {"weight_dram_to_fifo", stat(o, "weight_memory", "read_bytes")},
                {"unified_buffer_read", stat(o, "unified_buffer", "read_bytes")},
                {"unified_buffer_write", stat(o, "unified_buffer", "write_bytes")},
                {"accumulators_read", stat(o, "accumulators", "read_bytes")},
                {"accumulators_write", stat(o, "accumulators", "write_bytes")}};
  // Distinct bytes the program wrote; known for a whole run only (writes are marked when booked).
  j["unified_buffer_peak_bytes"] = o.halted ? nlohmann::json(o.ub_bytes_used) : nlohmann::json();

  const EnergyReport& e = run.energy;
  nlohmann::json events = nlohmann::json::array();
  for (const auto& l : e.lines)
    events.push_back({{"counter", l.counter}, {"cost", l.cost}, {"count", l.count}, {"pj", l.pj}});
  j["energy"] = {{"table", p.energy.table},
                 {"scale", e.scale},
                 {"clock_gating", p.energy.clock_gating},
                 {"dynamic_uj", e.dynamic_pj * 1e-6},
                 {"static_uj", e.static_pj * 1e-6},
                 {"total_uj", e.total_pj * 1e-6},
                 {"per_inference_uj", e.total_pj * 1e-6 / batch},
                 {"dynamic_power_w", e.dynamic_power_w},
                 {"static_power_w", e.static_power.total_w()},
                 {"static_w",
                  {{"leakage", e.static_power.leakage_w},
                   {"dram_standby", e.static_power.dram_standby_w},
                   {"array_clock", e.static_power.array_clock_w}}},
                 {"average_power_w", e.average_power_w},
                 {"derived_prices_pj", e.derived_pj},
                 {"by_unit_uj",
                  [&] {
                    nlohmann::json u = nlohmann::json::object();
                    for (const auto& [k, v] : e.unit_pj) u[k] = v * 1e-6;
                    return u;
                  }()},
                 {"events", events}};

  nlohmann::json area_units = nlohmann::json::object();
  for (const auto& [block, mm2] : e.area.mm2) area_units[block] = mm2;
  j["area"] = {{"table", p.energy.area_table}, {"by_unit_mm2", area_units}, {"total_mm2", e.area.total_mm2}};
  // Per watt, per mm2 and per joule of the whole run; none for a run that did not finish its inferences.
  const nlohmann::json& tops_json = j["throughput"]["tops"];
  const bool finished = !tops_json.is_null() && e.total_pj > 0;
  const double tops = finished ? tops_json.get<double>() : 0;
  const auto if_finished = [&](double v) { return finished ? nlohmann::json(v) : nlohmann::json(); };
  j["efficiency"] = {{"tops_per_w", if_finished(tops / e.average_power_w)},
                     {"tops_per_mm2", if_finished(tops / e.area.total_mm2)},
                     {"inferences_per_j", if_finished(static_cast<double>(batch) / (e.total_pj * 1e-12))}};

  nlohmann::json irq = nlohmann::json::array();
  for (const auto& i : o.interrupts) irq.push_back({{"cycle", i.cycle}, {"pc", i.pc}, {"code", i.code}});
  j["interrupts"] = irq;
  nlohmann::json regions = nlohmann::json::array();
  for (const auto& r : o.regions) regions.push_back({{"cycle", r.cycle}, {"pc", r.pc}, {"id", r.id}});
  j["regions"] = regions;

  j["layers"] = layers_json(run);

  nlohmann::json outputs = nlohmann::json::object();
  for (const isa::TensorDesc& t : run.program.tensors) {
    const auto it = run.outputs.find(t.name);
    if (it == run.outputs.end()) continue;
    nlohmann::json tj = {{"dtype", std::string(isa::to_string(t.dtype))},
                         {"shape", t.shape},
                         {"scale", t.scale},
                         {"zero_point", t.zero_point}};
    tj["values"] = tensor_values(t, it->second);
    outputs[t.name] = tj;
  }
  j["outputs"] = outputs;
  nlohmann::json config;
  to_json(config, p);
  j["config"] = config;
  return j;
}

nlohmann::json layers_json(const RunRecord& run) {
  const RunOutcome& o = run.outcome;
  // Layer names and MACs by tag id, from the metadata, read once.
  const std::map<std::string, std::string> names = layer_names(run.program);
  std::map<std::string, uint64_t> stated_macs;
  for (const auto& [k, v] : run.program.metadata) {
    if (k.rfind("macs.", 0) == 0)
      if (const auto m = number(v)) stated_macs[k.substr(5)] = *m;
  }
  // A tag id seen again (a program running its layers in several passes) adds to the same row.
  nlohmann::json layers = nlohmann::json::array();
  std::map<uint32_t, size_t> row_of;
  const bool compiled = stated(run.program, "macs").has_value();  // layers state their MACs
  for (size_t r = 0; r <= o.regions.size(); ++r) {
    const Cycle start = r == 0 ? 0 : o.regions[r - 1].cycle;
    const Cycle end = r < o.regions.size() ? o.regions[r].cycle : o.cycles;
    const Cycle cycles = end > start ? end - start : 0;
    auto v = [&](const char* group, const char* stat) -> uint64_t {
      for (const StatGroup* g : o.stats)
        if (g->name() == group) return g->value(stat, r);
      return 0;
    };
    nlohmann::json l;
    std::string name = "(before the first tag)";
    if (r > 0) {
      const std::string id = std::to_string(o.regions[r - 1].id);
      name = names.count(id) ? names.at(id) : "tag " + id;
      l["id"] = o.regions[r - 1].id;
    }
    if (r == 0 && cycles == 0) continue;
    l["name"] = name;
    l["start_cycle"] = start;
    l["cycles"] = cycles;
    // The layer's network MACs when the program states them and the statement can be true (the
    // run halted, and the array did at least as many), else what the array counted, as for the run.
    const uint64_t array_macs = v("matrix_unit", "useful_macs"), done = array_macs + v("sparse_engine", "dense_macs");
    const auto it = r > 0 ? stated_macs.find(std::to_string(o.regions[r - 1].id)) : stated_macs.end();
    const uint64_t claimed = it != stated_macs.end() ? it->second : 0;
    l["macs"] = compiled && o.halted && claimed <= done ? claimed : done;
    l["array_macs"] = array_macs;
    l["array_active_cycles"] = v("matrix_unit", "array_active_cycles");
    l["weight_stall_cycles"] = v("matrix_unit", "weight_stall_cycles");
    l["weight_shift_cycles"] = v("matrix_unit", "weight_shift_cycles");
    l["raw_stall_cycles"] = v("matrix_unit", "raw_stall_cycles");
    l["host_busy_cycles"] = v("host_interface", "busy_cycles");
    l["weight_dram_bytes"] = v("weight_memory", "read_bytes");
    l["host_bytes"] = v("host_interface", "host_read_bytes") + v("host_interface", "host_write_bytes") +
                      v("host_interface", "weight_load_bytes");
    l["unified_buffer_bytes"] = v("unified_buffer", "read_bytes") + v("unified_buffer", "write_bytes");
    if (run.energy_model) {
      const EnergyReport e = price(*run.energy_model, run.params, o.stats, cycles, r);
      l["energy_uj"] = e.total_pj * 1e-6;
    }
    if (r > 0 && row_of.count(o.regions[r - 1].id)) {
      nlohmann::json& row = layers[row_of[o.regions[r - 1].id]];
      for (const char* k :
           {"cycles", "macs", "array_macs", "array_active_cycles", "weight_stall_cycles", "weight_shift_cycles",
            "raw_stall_cycles", "host_busy_cycles", "weight_dram_bytes", "host_bytes", "unified_buffer_bytes"})
        row[k] = row[k].get<uint64_t>() + l[k].get<uint64_t>();
      if (l.contains("energy_uj")) row["energy_uj"] = row["energy_uj"].get<double>() + l["energy_uj"].get<double>();
      continue;
    }
    if (r > 0) row_of[o.regions[r - 1].id] = layers.size();
    layers.push_back(l);
  }
  return layers;
}

std::string layers_text(const nlohmann::json& layers, bool csv) {
  struct Column {
    const char* header;
    const char* key;
    int width;
  };
  static const Column kColumns[] = {{"cycles", "cycles", 12},
                                    {"MACs", "macs", 14},
                                    {"array_active", "array_active_cycles", 12},
                                    {"weight_stall", "weight_stall_cycles", 12},
                                    {"weight_shift", "weight_shift_cycles", 12},
                                    {"raw_stall", "raw_stall_cycles", 12},
                                    {"host_busy", "host_busy_cycles", 12},
                                    {"dram_bytes", "weight_dram_bytes", 12}};
  std::ostringstream s;
  char cell[64];
  s << (csv ? "layer" : "layer                   ");
  for (const Column& c : kColumns) {
    if (csv)
      s << "," << c.header;
    else
      std::snprintf(cell, sizeof cell, " %*s", c.width, c.header), s << cell;
  }
  s << (csv ? ",energy_uj\n" : "  energy_uj\n");
  for (const auto& l : layers) {
    const std::string name = l["name"].get<std::string>();
    if (csv)
      s << name;
    else
      std::snprintf(cell, sizeof cell, "%-24s", name.c_str()), s << cell;
    for (const Column& c : kColumns) {
      const auto v = static_cast<unsigned long long>(l[c.key].get<uint64_t>());
      if (csv)
        s << "," << v;
      else
        std::snprintf(cell, sizeof cell, " %*llu", c.width, v), s << cell;
    }
    const double energy = l.contains("energy_uj") ? l["energy_uj"].get<double>() : 0.0;
    std::snprintf(cell, sizeof cell, csv ? ",%.6f\n" : " %10.3f\n", energy);
    s << cell;
  }
  return s.str();
}

std::string summary(const RunRecord& run, const nlohmann::json& j) {
  std::ostringstream s;
  char line[256];
  if (run.outcome.fault) s << SimFault::describe(*run.outcome.fault) << "\n";
  const auto& t = j["throughput"];
  if (t["tops"].is_null())
    std::snprintf(line, sizeof line, "cycles %llu   latency %.3f us   no throughput: the run did not halt\n",
                  static_cast<unsigned long long>(run.outcome.cycles), j["latency_us"].get<double>());
  else
    std::snprintf(line, sizeof line, "cycles %llu   latency %.3f us   %.1f inferences/s   %.3f TOPS (peak %.1f)\n",
                  static_cast<unsigned long long>(run.outcome.cycles), j["latency_us"].get<double>(),
                  t["inferences_per_s"].get<double>(), t["tops"].get<double>(), t["peak_tops"].get<double>());
  s << line;
  if (t.contains("warning")) s << "warning: " << t["warning"].get<std::string>() << "\n";
  const auto& c = j["counters"];
  std::snprintf(line, sizeof line,
                "array active %.1f%%   weight stall %.1f%%   weight shift %.1f%%   non-matrix %.1f%%\n",
                100 * c["array_active"]["share"].get<double>(), 100 * c["weight_stall"]["share"].get<double>(),
                100 * c["weight_shift"]["share"].get<double>(), 100 * c["non_matrix"]["share"].get<double>());
  s << line;
  std::snprintf(line, sizeof line, "useful MACs %.1f%% of peak   RAW stalls %.1f%%   input stalls %.1f%%\n",
                100 * c["useful_macs"]["share_of_peak"].get<double>(), 100 * c["raw_stall"]["share"].get<double>(),
                100 * c["input_stall"]["share"].get<double>());
  s << line;
  if (j.contains("sparse_engine") && !j["sparse_engine"]["load_imbalance"].is_null()) {
    const auto& u = j["units"]["sparse_engine"];
    std::snprintf(line, sizeof line,
                  "sparse engine busy %.1f%%   PEs busy %.1f%% of its compute   load imbalance %.2f   %llu of %llu "
                  "activations non-zero   %llu loads (%llu bytes)\n",
                  100 * share(u["busy_cycles"].get<uint64_t>(), run.outcome.cycles),
                  100 * j["sparse_engine"]["pe_utilization"].get<double>(),
                  j["sparse_engine"]["load_imbalance"].get<double>(),
                  static_cast<unsigned long long>(u["activations"].get<uint64_t>()),
                  static_cast<unsigned long long>(u["activations"].get<uint64_t>() + u["zero_activations"].get<uint64_t>()),
                  static_cast<unsigned long long>(u["layer_loads"].get<uint64_t>()),
                  static_cast<unsigned long long>(u["load_bytes"].get<uint64_t>()));
    s << line;
  }
  const auto& e = j["energy"];
  std::snprintf(line, sizeof line,
                "energy %.3f uJ (%.3f dynamic, %.3f static), %.3f uJ per inference   power %.2f W (%.2f dynamic, "
                "%.2f static)\n",
                e["total_uj"].get<double>(), e["dynamic_uj"].get<double>(), e["static_uj"].get<double>(),
                e["per_inference_uj"].get<double>(), e["average_power_w"].get<double>(),
                e["dynamic_power_w"].get<double>(), e["static_power_w"].get<double>());
  s << line;
  const ChipArea& area = run.energy.area;
  std::snprintf(line, sizeof line, "area %.1f mm2:", area.total_mm2);
  s << line;
  for (size_t i = 0; i < area.mm2.size(); ++i) {
    std::snprintf(line, sizeof line, "%s %s %.1f", i ? "," : "", area.mm2[i].first.c_str(), area.mm2[i].second);
    s << line;
  }
  s << "\n";
  const auto& eff = j["efficiency"];
  if (!eff["tops_per_w"].is_null()) {
    std::snprintf(line, sizeof line, "efficiency %.3f TOPS/W   %.4f TOPS/mm2   %.1f inferences/J\n",
                  eff["tops_per_w"].get<double>(), eff["tops_per_mm2"].get<double>(),
                  eff["inferences_per_j"].get<double>());
    s << line;
  }
  return s.str();
}

nlohmann::json trace_json(const RunOutcome& outcome, const ChipParams& params, const isa::Program& program) {
  const Cycle end = outcome.cycles;
  std::vector<TraceSlice> slices = outcome.trace;  // within the run (Chip::run)
  // The layers: each region from its tag to the next, named as the program's metadata names it.
  const std::map<std::string, std::string> names = layer_names(program);
  for (size_t r = 0; r < outcome.regions.size(); ++r) {
    const RegionMark& m = outcome.regions[r];
    const Cycle until = r + 1 < outcome.regions.size() ? outcome.regions[r + 1].cycle : end;
    const std::string id = std::to_string(m.id);
    if (until > m.cycle) slices.push_back({"layers", names.count(id) ? names.at(id) : "tag " + id, m.pc, m.cycle, until});
  }
  // Slices in time order, whatever order the units recorded them in; a unit that runs instructions
  // concurrently (the host interface) gets more lanes, "<unit> 2" and so on, as a track may not overlap.
  std::stable_sort(slices.begin(), slices.end(), [](const TraceSlice& a, const TraceSlice& b) {
    return std::tie(a.start, a.track, a.pc) < std::tie(b.start, b.track, b.pc);
  });
  std::map<std::string, std::vector<Cycle>> lane_ends;  // by track: when each lane is free
  for (TraceSlice& s : slices) {
    std::vector<Cycle>& lanes = lane_ends[s.track];
    size_t lane = 0;
    while (lane < lanes.size() && lanes[lane] > s.start) ++lane;
    if (lane == lanes.size()) lanes.push_back(0);
    lanes[lane] = s.end;
    if (lane > 0) s.track += " " + std::to_string(lane + 1);
  }
  // Tracks numbered by name.
  std::map<std::string, int> tids;
  for (const TraceSlice& s : slices) tids.emplace(s.track, 0);
  int next_tid = 1;
  for (auto& [track, tid] : tids) tid = next_tid++;
  const double us_per_cycle = 1.0 / params.clock_mhz;
  nlohmann::json events = nlohmann::json::array();
  for (const TraceSlice& s : slices) {
    events.push_back({{"name", s.name},
                      {"cat", s.track},
                      {"ph", "X"},
                      {"ts", s.start * us_per_cycle},
                      {"dur", (s.end - s.start) * us_per_cycle},
                      {"pid", 1},
                      {"tid", tids.at(s.track)},
                      {"args", {{"pc", s.pc}, {"start_cycle", s.start}, {"end_cycle", s.end}}}});
  }
  // Counters: the changes of each cycle summed, a sample of the running value per cycle that changed it.
  std::map<std::string, std::map<Cycle, int64_t>> changes;
  for (const TraceCounter& c : outcome.trace_counters) changes[c.track][c.at] += c.delta;
  for (const auto& [track, by_cycle] : changes) {
    int64_t value = 0;
    for (const auto& [at, delta] : by_cycle) {
      value += delta;
      events.push_back(
          {{"name", track}, {"ph", "C"}, {"ts", at * us_per_cycle}, {"pid", 1}, {"args", {{"value", value}}}});
    }
  }
  for (const auto& [track, tid] : tids)
    events.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", 1}, {"tid", tid}, {"args", {{"name", track}}}});
  return {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
}

}  // namespace tpu::sim
