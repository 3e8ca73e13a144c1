// The two fidelities of the matrix unit give one answer: on thousands of
// random programs over array shapes, tile shapes, batch sizes, flags, queue
// and FIFO depths and instruction mixes, `fast` and `pe` produce the same
// cycles, counters (in total and per tagged region), faults and memories, and
// halted runs equal the reference machine. A run cut short by a fault counts
// the same work in both, and no more than the cycles it ran.

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "tests/support/reference_isa.h"
#include "tests/support/sim_harness.h"

namespace tpu::test {
namespace {

constexpr int kShards = 40;
constexpr int kCasesPerShard = 50;

struct Case {
  std::vector<std::string> sets;
  std::string source;
};

// A random chip and a random program for it. Most programs synchronize
// properly; some omit a sync, and then both fidelities must fault alike.
Case random_case(uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  const int R = pick(2, 32), C = pick(2, 32);
  const int row_bytes = chance(0.5) ? R : pick(1, R);
  Case c;
  c.sets = {"matrix_unit.rows=" + std::to_string(R),
            "matrix_unit.cols=" + std::to_string(C),
            "unified_buffer.size_bytes=8192",
            "unified_buffer.row_bytes=" + std::to_string(row_bytes),
            // Shared ports: usually one of each, so the units contend; grants of any length.
            "unified_buffer.read_ports=" + std::to_string(chance(0.7) ? 1 : 2),
            "unified_buffer.write_ports=" + std::to_string(chance(0.7) ? 1 : 2),
            "unified_buffer.stream_grant_cycles=" + std::to_string(chance(0.5) ? pick(1, 8) : pick(9, 64)),
            "accumulators.entries=96",
            "weight_fifo.depth_tiles=" + std::to_string(pick(1, 4)),
            "sequencer.unit_queue=" + std::to_string(pick(1, 4)),
            "sequencer.instruction_buffer=" + std::to_string(pick(2, 16)),
            "activation_unit.lanes=" + std::to_string(pick(1, 16)),
            "activation_unit.latency_cycles=" + std::to_string(pick(0, 5)),
            "weight_memory.latency_ns=" + std::to_string(pick(0, 200)),
            "weight_memory.bandwidth_gb_s=" + std::to_string(pick(1, 60)),
            "host_interface.latency_ns=" + std::to_string(pick(0, 300)),
            "watchdog_cycles=2000000"};
  std::ostringstream s, host, dram;
  s << ".text\nrhm host=0 ub=0 len=2048\nsync units=host\n";
  host << ".host\n.org 0\n.byte ";
  for (int i = 0; i < 2048; ++i) host << (i ? "," : "") << pick(-128, 127);
  host << "\n";
  dram << ".dram\n.org 0\n";
  uint64_t dram_at = 0;
  int tiles_queued = 0;  // fetched and not yet swapped in
  bool active = false;
  bool matrix_pending = false;  // a multiply since the last sync on the matrix unit
  const int steps = pick(2, 10);
  for (int step = 0; step < steps; ++step) {
    // Regions: counts go to the region of the instruction that made them, while other units run on.
    if (chance(0.3)) s << "tag id=" << pick(0, 3) << "\n";
    const int what = pick(0, 10);
    // Sometimes the swap is issued before the rdw that feeds it.
    const bool swap_first = (what <= 2 || !active) && chance(0.15);
    if (swap_first) {
      s << "mmul ub=" << pick(0, 512) << " acc=" << pick(0, 80) << " rows=" << pick(1, 16) << " stride=" << pick(0, 20)
        << " swap\n";
      active = true;
      matrix_pending = true;
      --tiles_queued;
    }
    if (what <= 2 || !active || swap_first) {
      const int k = pick(1, R), n = pick(1, C), tiles = pick(1, 3);
      dram << ".org " << dram_at << "\n.byte ";  // loaded tiles leave gaps
      for (int i = 0; i < tiles * k * n; ++i) dram << (i ? "," : "") << pick(-128, 127);
      dram << "\n";
      s << "rdw dram=" << dram_at << " k=" << k << " n=" << n << " repeat=" << tiles << (chance(0.2) ? " uw" : "")
        << "\n";
      dram_at += static_cast<uint64_t>(tiles * k * n);
      tiles_queued += tiles;
    }
    if (what <= 6) {
      const int mmuls = pick(1, 3);
      for (int m = 0; m < mmuls; ++m) {
        const bool swap = !active || (tiles_queued > 0 && chance(0.6));
        if (swap && tiles_queued == 0) break;
        const int rows = pick(1, 12), lines = chance(0.3) ? pick(2, 4) : 1;
        if (rows * lines > 96) continue;
        s << "mmul ub=" << pick(0, 1024) << " acc=" << pick(0, 96 - rows * lines) << " rows=" << rows
          << " lines=" << lines << " stride=" << pick(0, 40) << " line_stride=" << pick(0, 200) << (swap ? " swap" : "")
          << (chance(0.4) ? " accumulate" : "") << (chance(0.2) ? " uin" : "") << "\n";
        if (swap) --tiles_queued;
        active = true;
        matrix_pending = true;
      }
    } else if (what <= 8) {
      if (matrix_pending && chance(0.9)) {
        s << "sync units=matrix\n";
        matrix_pending = false;
      }
      const int rows = pick(1, 16);
      const bool pool = chance(0.3);
      const int width = pool ? pick(1, 4) : 1;
      const int total = pool ? width * pick(1, 4) : rows;
      s << "act acc=" << pick(0, 96 - total) << " ub=" << pick(2048, 4096) << " rows=" << total
        << " cols=" << pick(1, C) << " stride=" << pick(1, 40) << " mult=" << pick(-2000000000, 2000000000)
        << " shift=" << pick(-4, 20) << " zp=" << pick(-20, 20) << " frac=" << pick(0, 7) << " func=" << pick(0, 4);
      if (pool) s << " pool=" << pick(1, 2) << " width=" << width << " pool_h=1 pool_w=" << pick(1, width);
      s << "\n";
      if (chance(0.5)) s << "sync units=activation\n";
    } else if (what == 10) {
      // A tile made on the chip: bytes of the unified buffer out to the host, transposed there,
      // loaded into fresh weight DRAM and read as weights (usually after the sync it needs).
      const int a = pick(1, std::min(R, C)), b = pick(1, std::min(R, C));
      s << "whm host=4096 ub=" << pick(0, 2048 - a * b) << " len=" << a * b << "\n"
        << "hop fn=transpose src=4096 dst=8192 rows=" << a << " cols=" << b << "\n"
        << "ldw host=8192 dram=" << dram_at << " len=" << a * b << "\n";
      if (chance(0.85)) s << "sync units=host\n";
      s << "rdw dram=" << dram_at << " k=" << b << " n=" << a << "\n";
      dram_at += static_cast<uint64_t>(a * b);
      ++tiles_queued;
    } else if (what == 9 && chance(0.5)) {
      // More host data while the units run: its writes contend with act's and vop's for a write port.
      s << "rhm host=" << pick(0, 1024) << " ub=" << pick(8064, 8128) << " len=" << pick(1, 32)
        << " repeat=" << pick(1, 2) << " ub_stride=32 host_stride=" << pick(0, 64) << "\n";
    } else {
      s << "setcfg reg=round value=" << pick(0, 2) << "\nvop op=" << pick(0, 3) << " a=" << pick(4096, 6000)
        << " b=" << pick(4096, 6000) << " dst=" << pick(6000, 8000) << " len=" << pick(1, 64)
        << " mult=" << pick(1, 2000000000) << " shift=" << pick(0, 10) << " func=" << pick(0, 4) << "\n";
    }
  }
  s << "halt\n" << host.str() << dram.str();
  c.source = s.str();
  return c;
}

class Fidelities : public testing::TestWithParam<int> {};

TEST_P(Fidelities, AgreeOnRandomPrograms) {
  int halted = 0;
  for (int i = 0; i < kCasesPerShard; ++i) {
    const uint32_t seed = static_cast<uint32_t>(GetParam() * kCasesPerShard + i);
    const Case c = random_case(seed);
    const isa::Program program = assemble_or_throw(c.source);
    std::vector<std::string> fast_sets = c.sets, pe_sets = c.sets;
    fast_sets.push_back("fidelity=fast");
    pe_sets.push_back("fidelity=pe");
    SimRun fast = simulate(load_params("configs/tiny.yaml", fast_sets), program);
    SimRun pe = simulate(load_params("configs/tiny.yaml", pe_sets), program);
    fast.result.erase("config");
    pe.result.erase("config");
    std::string sets;
    for (const std::string& set : c.sets) sets += " --set " + set;
    SCOPED_TRACE("seed " + std::to_string(seed) + ":" + sets + "\n" + c.source.substr(0, c.source.find(".host")));
    ASSERT_EQ(fast.result["status"], pe.result["status"]);
    // Counters, bytes, energy and per-region rows, halted or not.
    ASSERT_TRUE(fast.result == pe.result) << "fast -> pe: " << nlohmann::json::diff(fast.result, pe.result).dump(1);
    const auto& counters = fast.result["counters"];
    const uint64_t cycles = fast.cycles();
    ASSERT_LE(counters["array_active"]["cycles"].get<uint64_t>() + counters["weight_stall"]["cycles"].get<uint64_t>() +
                  counters["weight_shift"]["cycles"].get<uint64_t>(),
              cycles);
    for (const char* k : {"raw_stall", "input_stall"}) ASSERT_LE(counters[k]["cycles"].get<uint64_t>(), cycles) << k;
    // The regions partition the run's bytes as they partition its cycles.
    uint64_t ub_bytes = 0, dram_bytes = 0, host_bytes = 0;
    for (const auto& l : fast.result["layers"]) {
      ub_bytes += l["unified_buffer_bytes"].get<uint64_t>();
      dram_bytes += l["weight_dram_bytes"].get<uint64_t>();
      host_bytes += l["host_bytes"].get<uint64_t>();
    }
    const auto& bytes = fast.result["bytes"];
    ASSERT_EQ(ub_bytes, bytes["unified_buffer_read"].get<uint64_t>() + bytes["unified_buffer_write"].get<uint64_t>());
    ASSERT_EQ(dram_bytes, bytes["weight_dram_to_fifo"].get<uint64_t>());
    ASSERT_EQ(host_bytes, bytes["host_to_unified_buffer"].get<uint64_t>() +
                              bytes["unified_buffer_to_host"].get<uint64_t>() +
                              bytes["host_to_weight_dram"].get<uint64_t>());
    if (!fast.halted()) {
      // A fault stops each fidelity mid-instruction; fast computes an mmul's values when it starts.
      EXPECT_TRUE(fast.result["throughput"]["tops"].is_null());
      continue;
    }
    {
      ASSERT_TRUE(fast.ub == pe.ub);
      ASSERT_TRUE(fast.acc == pe.acc);
      ++halted;
      ReferenceMachine ref(load_params("configs/tiny.yaml", fast_sets));
      ref.run(program);
      ASSERT_TRUE(ref.ub == fast.ub) << "unified buffer differs from the reference";
      ASSERT_TRUE(ref.acc == fast.acc) << "accumulators differ from the reference";
    }
  }
  // Most programs synchronize properly and run to the end.
  EXPECT_GT(halted, kCasesPerShard / 2);
}

INSTANTIATE_TEST_SUITE_P(Shards, Fidelities, testing::Range(0, kShards));

}  // namespace
}  // namespace tpu::test
