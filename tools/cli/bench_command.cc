// tpusim bench: how fast the model simulates, on this machine, one core.
//
//   fast, values:   a 4096 x 256 by 256 x 256 multiply on the TPU v1 chip, in
//                   simulated MACs per wall second, next to a plain int8 dot-
//                   product loop compiled with the same flags in this process
//   fast, timing:   the same and 16x larger multiplies with --no-values: the
//                   cost of timing must not grow with the MACs
//   pe:             PE-cycles per wall second of the register-level array
//   sparse:         EIE's Alex-6 layer (9216 x 4096, 9% of the weights, 35% of
//                   the activations non-zero, seeded) on the sparse engine's PE
//                   array of configs/eie.yaml, each fidelity: wall time of one
//                   spmv's compute and PE-cycles per wall second
//
// Each chip simulation runs in its own process and only Chip::run() is timed.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <vector>

#include "isa/assembler.h"
#include "sim/base/config.h"
#include "sim/base/params.h"
#include "sim/top/isolated_run.h"
#include "sim/units/sparse_engine/pe_array.h"
#include "tools/cli/commands.h"

namespace tpu::cli {

namespace {

struct BenchArgs {
  std::string config = "configs/tpu_v1.yaml";
  int repeats = 3;
};

isa::Program multiply_program(uint64_t vectors, uint64_t lines = 1) {
  const std::string src = "rdw dram=0 k=256 n=256\nmmul ub=0 acc=0 rows=" + std::to_string(vectors) +
                          " lines=" + std::to_string(lines) + " stride=256 line_stride=0 swap\nhalt\n";
  const isa::AssembleResult r = isa::assemble(src, "bench.s");
  if (!r.ok()) throw std::runtime_error("bench program does not assemble");
  return r.program;
}

// The best of `repeats` isolated runs.
sim::IsolatedRun best_run(const sim::ChipParams& p, const isa::Program& program, bool values, int repeats) {
  sim::IsolatedRun best;
  for (int i = 0; i < repeats; ++i) {
    sim::IsolatedOptions o;
    o.compute_values = values;
    o.memories = false;
    sim::IsolatedRun r = sim::run_isolated(p, program, o);
    if (i == 0 || r.wall_seconds < best.wall_seconds) best = std::move(r);
  }
  return best;
}

// The straightforward loop the model's arithmetic is measured against.
__attribute__((noinline)) void dot_product_loop(const int8_t* x, const int8_t* wt, int32_t* out, int batch, int k,
                                                int n) {
  for (int b = 0; b < batch; ++b)
    for (int c = 0; c < n; ++c) {
      int32_t sum = 0;
      const int8_t* xb = x + static_cast<size_t>(b) * k;
      const int8_t* wc = wt + static_cast<size_t>(c) * k;
      for (int i = 0; i < k; ++i) sum += int32_t(xb[i]) * int32_t(wc[i]);
      out[static_cast<size_t>(b) * n + c] = sum;
    }
}

double loop_gmacs(int repeats) {
  const int batch = 4096, k = 256, n = 256;
  std::vector<int8_t> x(static_cast<size_t>(batch) * k), wt(static_cast<size_t>(n) * k);
  std::mt19937 rng(1);
  for (auto& v : x) v = static_cast<int8_t>(rng());
  for (auto& v : wt) v = static_cast<int8_t>(rng());
  std::vector<int32_t> out(static_cast<size_t>(batch) * n);
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    dot_product_loop(x.data(), wt.data(), out.data(), batch, k, n);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  volatile int32_t sink = out[out.size() / 2];
  (void)sink;
  return double(batch) * k * n / best / 1e9;
}

// Alex-6 as EIE's Table III has it, with seeded weights and activations.
void bench_sparse(int repeats) {
  const sim::ChipParams eie = sim::read_chip_params(sim::Config::load("configs/eie.yaml"));
  const uint32_t rows = 4096, cols = 9216, pes = static_cast<uint32_t>(eie.sparse_engine.pes);
  std::mt19937_64 rng(6);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<uint8_t> indices(uint64_t{rows} * cols, 0);
  for (uint8_t& v : indices)
    if (u(rng) < 0.09) v = static_cast<uint8_t>(1 + rng() % 15);
  std::array<int16_t, isa::sparse::kCodebookEntries> codebook{};
  for (int i = 1; i < isa::sparse::kCodebookEntries; ++i) codebook[i] = static_cast<int16_t>(i * 100 - 800);
  const sim::ResidentLayer layer(
      isa::sparse::encode(indices, rows, cols, pes, codebook, 16, std::vector<int32_t>(rows, 0)));
  std::vector<uint32_t> active;
  for (uint32_t j = 0; j < cols; ++j)
    if (u(rng) < 0.35) active.push_back(j);
  sim::PeArrayRun runs[2];
  const char* fidelities[] = {"fast", "pe"};
  for (int f = 0; f < 2; ++f) {
    const auto array = sim::make_pe_array(eie.sparse_engine, fidelities[f]);
    double best = 1e30;
    for (int i = 0; i < repeats; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      runs[f] = array->run(layer, active);
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    const double pe_cycles = double(runs[f].cycles) * pes;
    std::printf("sparse, %-4s   Alex-6 on %u PEs: %llu cycles, %llu entries  %8.4f s  %.3g PE-cycles/s\n",
                fidelities[f], pes, static_cast<unsigned long long>(runs[f].cycles),
                static_cast<unsigned long long>(runs[f].entries), best, pe_cycles / best);
  }
  std::printf("sparse fast vs pe agree on cycles and counters: %s\n", runs[0] == runs[1] ? "yes" : "NO");
}

void bench(const BenchArgs& args) {
  sim::Config config = sim::Config::load(args.config);
  const sim::ChipParams fast = sim::read_chip_params(config);
  config.set("fidelity=pe");
  const sim::ChipParams pe = sim::read_chip_params(config);
  const double macs = 4096.0 * 256 * 256;
  char line[256];

  const sim::IsolatedRun values = best_run(fast, multiply_program(4096), true, args.repeats);
  const double model_gmacs = macs / values.wall_seconds / 1e9;
  const double loop = loop_gmacs(args.repeats);
  std::printf("fast, values:  4096x256 by 256x256 multiply  %8.4f s  %6.2f GMAC/s   plain loop %6.2f GMAC/s  (%.2fx)\n",
              values.wall_seconds, model_gmacs, loop, loop / model_gmacs);

  const sim::IsolatedRun timing1 = best_run(fast, multiply_program(4096), false, args.repeats);
  const sim::IsolatedRun timing16 = best_run(fast, multiply_program(4096, 16), false, args.repeats);
  std::snprintf(line, sizeof line,
                "fast, timing:  %.0f MMACs %8.6f s   %.0f MMACs %8.6f s   (ratio of costs %.2f for 16x the MACs)\n",
                macs / 1e6, timing1.wall_seconds, 16 * macs / 1e6, timing16.wall_seconds,
                timing16.wall_seconds / timing1.wall_seconds);
  std::cout << line;

  const sim::IsolatedRun cycle = best_run(pe, multiply_program(1024), true, 1);
  const double pe_cycles = double(cycle.pe_steps) * fast.matrix_unit.rows * fast.matrix_unit.cols;
  std::printf("pe, values:    %llu array cycles of %lldx%lld PEs  %8.4f s  %.3g PE-cycles/s\n",
              static_cast<unsigned long long>(cycle.pe_steps), static_cast<long long>(fast.matrix_unit.rows),
              static_cast<long long>(fast.matrix_unit.cols), cycle.wall_seconds, pe_cycles / cycle.wall_seconds);
  std::printf(
      "fast vs pe agree on cycles: %s\n",
      cycle.result["cycles"] == best_run(fast, multiply_program(1024), false, 1).result["cycles"] ? "yes" : "NO");
  bench_sparse(args.repeats);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure simulation speed on this machine");
  cmd->add_option("-c,--config", args->config, "Chip configuration")->check(CLI::ExistingFile);
  cmd->add_option("--repeats", args->repeats, "Runs per measurement; the best is reported")->check(CLI::Range(1, 100));
  cmd->callback([args] { bench(*args); });
}

}  // namespace tpu::cli
