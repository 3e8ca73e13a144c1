// Per-layer results: the rows partition the run (cycles, bytes and energy add
// up to the totals), each compiled layer's MACs are the compiler's count of the
// network's work, and throughput counts that work, not the array's busy MACs.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"

namespace tpu::test {
namespace {

TEST(Layers, RowsPartitionTheRunAndCountTheNetworksWork) {
  const std::string path = testing::TempDir() + std::to_string(::getpid()) + "layers.yaml";
  // A depthwise convolution (diagonal tiles) and pools (identity tiles) keep the array busy
  // with multiplies the network does not have.
  std::ofstream(path)
      << "name: layers\nseed: 43\ninput: {name: image, shape: [2, 6, 6, 8]}\nlayers:\n"
         "  - {name: dw, op: conv2d, filters: 8, groups: 8, kernel: 3, padding: same, activation: relu}\n"
         "  - {name: pool, op: maxpool, kernel: 2}\n"
         "  - {name: pw, op: conv2d, filters: 5, kernel: 1}\n"
         "  - {name: gap, op: global_avgpool}\n"
         "  - {name: fc, op: dense, units: 3}\n";
  const sim::ChipParams params = load_params("configs/tiny.yaml");
  const compiler::Compiled c = compiler::compile_model(path, params);
  const SimRun run = simulate(params, c.lowered.program, {});
  ASSERT_TRUE(run.halted()) << run.fault_reason();
  const auto& rows = run.result["layers"];

  // MACs by shape, independently of the compiler: depthwise 2*6*6*8*9, pointwise 2*3*3*8*5, dense 2*5*3.
  const std::map<std::string, uint64_t> macs = {
      {"dw", 2 * 36 * 8 * 9}, {"pool", 0}, {"pw", 2 * 9 * 8 * 5}, {"gap", 0}, {"fc", 2 * 5 * 3}};
  uint64_t cycles = 0, total_macs = 0, array_macs = 0, ub_bytes = 0, dram_bytes = 0, host_bytes = 0;
  double energy = 0;
  std::set<std::string> seen;
  for (const auto& r : rows) {
    const std::string name = r["name"];
    cycles += r["cycles"].get<uint64_t>();
    energy += r["energy_uj"].get<double>();
    total_macs += r["macs"].get<uint64_t>();
    array_macs += r["array_macs"].get<uint64_t>();
    ub_bytes += r["unified_buffer_bytes"].get<uint64_t>();
    dram_bytes += r["weight_dram_bytes"].get<uint64_t>();
    host_bytes += r["host_bytes"].get<uint64_t>();
    if (!macs.count(name)) continue;
    seen.insert(name);
    EXPECT_EQ(r["macs"].get<uint64_t>(), macs.at(name)) << name;
    EXPECT_GE(r["array_macs"].get<uint64_t>(), macs.at(name)) << name;
  }
  EXPECT_EQ(seen.size(), macs.size());
  EXPECT_EQ(cycles, run.result["cycles"].get<uint64_t>());
  EXPECT_NEAR(energy, run.result["energy"]["total_uj"].get<double>(), 1e-6 * energy);
  const auto& bytes = run.result["bytes"];
  EXPECT_EQ(ub_bytes, bytes["unified_buffer_read"].get<uint64_t>() + bytes["unified_buffer_write"].get<uint64_t>());
  EXPECT_EQ(dram_bytes, bytes["weight_dram_to_fifo"].get<uint64_t>());
  EXPECT_EQ(host_bytes, bytes["host_to_unified_buffer"].get<uint64_t>() + bytes["unified_buffer_to_host"].get<uint64_t>() +
                            bytes["host_to_weight_dram"].get<uint64_t>());
  EXPECT_EQ(array_macs, run.result["counters"]["useful_macs"]["macs"].get<uint64_t>());
  EXPECT_GT(array_macs, total_macs) << "the pools' identity tiles and the depthwise diagonal count on the array";

  const double seconds = run.result["latency_us"].get<double>() * 1e-6;
  EXPECT_EQ(run.result["throughput"]["macs"].get<uint64_t>(), total_macs);
  EXPECT_EQ(run.result["throughput"]["macs_from"], "program");
  EXPECT_NEAR(run.result["throughput"]["tops"].get<double>(), 2.0 * total_macs / seconds / 1e12, 1e-9);
}

}  // namespace
}  // namespace tpu::test
