// Sync placement by exact footprints: two instructions whose address ranges
// overlap as [lo, hi) but whose strided blocks only interleave get no sync
// between them; where a block is shared, they do.

#include "tools/compiler/lower/syncs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>

#include "isa/assembler.h"
#include "isa/encoding.h"
#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"

namespace tpu::test {
namespace {

using compiler::SyncTracker;

constexpr uint32_t bit(isa::Unit u) { return 1u << static_cast<unsigned>(u); }

// The unit and footprint of the one instruction of an assembly line, its mmul on a tile of `k` rows.
struct Placed {
  isa::Unit unit;
  isa::Footprint footprint;
};
Placed insn(const std::string& line, uint64_t k = 0) {
  const isa::AssembleResult r = isa::assemble(line + "\n", "syncs_test.s");
  EXPECT_TRUE(r.ok()) << line;
  if (!r.ok()) return {isa::Unit::control, {}};
  const isa::Word w = r.program.text.at(0);
  return {isa::find_insn(static_cast<uint8_t>(w.get(0, isa::kOpcodeBits)))->unit, isa::footprint(w, isa::ChipShape{k})};
}

uint32_t needs(const SyncTracker& t, const Placed& p) { return t.needs(p.unit, p.footprint); }
void place(SyncTracker& t, const Placed& p) { t.placed(p.unit, p.footprint); }

TEST(Syncs, InterleavedChannelBlocksNeedNoSync) {
  // The act writes bytes [0, 4) of three 8-byte rows, [0, 20) as a range; the whm reads
  // bytes [4, 8) of each, [4, 24) as a range. The ranges overlap; no byte is shared.
  SyncTracker t;
  place(t, insn("act acc=0 ub=0 rows=3 cols=4 stride=8 mult=0x40000000"));
  EXPECT_EQ(needs(t, insn("whm host=0 ub=4 len=4 repeat=3 host_stride=4 ub_stride=8")), 0u);
  // Bytes [2, 6) of each row: two of them are the act's.
  EXPECT_EQ(needs(t, insn("whm host=0 ub=2 len=4 repeat=3 host_stride=4 ub_stride=8")), bit(isa::Unit::activation));
}

TEST(Syncs, BorderFillsBetweenTheRowsARhmWritesNeedNoSync) {
  // An image of four 4-byte rows with a 4-byte border between them: the rhm writes the rows,
  // the vop sets the border between rows 0 and 1 (within the rhm's [lo, hi)).
  SyncTracker t;
  place(t, insn("rhm host=0 ub=0x12 len=4 repeat=4 host_stride=4 ub_stride=8"));
  EXPECT_EQ(needs(t, insn("vop op=mul a=0x16 b=0x16 dst=0x16 len=4 mult=0")), 0u);
  EXPECT_EQ(needs(t, insn("vop op=mul a=0x15 b=0x15 dst=0x15 len=4 mult=0")), bit(isa::Unit::host));
}

TEST(Syncs, MmulReadsTheTilesRowsOfEachVector) {
  // Vectors 8 bytes apart; an act wrote bytes [4, 8) of each 8-byte row.
  SyncTracker t;
  place(t, insn("act acc=0 ub=4 rows=4 cols=4 stride=8 mult=0x40000000"));
  const std::string mmul = "mmul ub=0 acc=64 rows=4 stride=8 swap";
  EXPECT_EQ(needs(t, insn(mmul, 4)), 0u);                          // a 4-row tile reads bytes [0, 4) of each
  EXPECT_EQ(needs(t, insn(mmul, 6)), bit(isa::Unit::activation));  // a 6-row tile reaches into the act's bytes
}

TEST(Syncs, StridedLinesOfAnMmulAgainstAPooledAct) {
  // A 2-by-4 image pooled by 1x2 windows 2 apart: 4 output rows of 4 bytes, 16 apart from 16,
  // [16, 68) as a range.
  SyncTracker t;
  place(t, insn("act acc=0 ub=16 rows=8 cols=4 stride=16 pool=max pool_h=1 pool_w=2 pool_sx=2 width=4 "
                "mult=0x40000000"));
  // Two lines of two 4-byte vectors, 4 apart, lines 16 apart: [20, 28) and [36, 44), in the gaps.
  EXPECT_EQ(needs(t, insn("mmul ub=20 acc=64 rows=2 lines=2 stride=4 line_stride=16 swap", 4)), 0u);
  // Lines 24 apart: line 1 reads [44, 52), and row 2 of the pool is [48, 52).
  EXPECT_EQ(needs(t, insn("mmul ub=20 acc=64 rows=2 lines=2 stride=4 line_stride=24 swap", 4)),
            bit(isa::Unit::activation));
}

TEST(Syncs, MergedHistoryStaysExact) {
  // Twelve rows written one act each, 4 bytes every 16: what is remembered still leaves the gaps.
  SyncTracker t;
  for (int r = 0; r < 12; ++r)
    place(t, insn("act acc=0 ub=" + std::to_string(16 * r) + " rows=1 cols=4 stride=4 mult=0x40000000"));
  EXPECT_EQ(needs(t, insn("whm host=0 ub=4 len=12 repeat=12 host_stride=12 ub_stride=16")), 0u);
  EXPECT_EQ(needs(t, insn("whm host=0 ub=179 len=1 host_stride=1")), bit(isa::Unit::activation));  // row 11
  EXPECT_EQ(needs(t, insn("whm host=0 ub=192 len=1 host_stride=1")), 0u);                          // past the rows
}

TEST(Syncs, MergedHistoryIsExactAgainstEnumeration) {
  // Random strided writes of one unit, remembered with merging, against each byte they wrote.
  std::mt19937 rng(11);
  auto r = [&](int lo, int hi) { return static_cast<uint64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  const isa::Memory ub = isa::Memory::kUnifiedBuffer;
  for (int trial = 0; trial < 300; ++trial) {
    SyncTracker t;
    std::set<uint64_t> written;
    uint64_t base = r(0, 20);
    for (int i = 0; i < 12; ++i) {
      // Mostly runs that continue or repeat each other, so that merges happen.
      const isa::Strided s{base, r(1, 4), r(1, 3), r(0, 9)};
      for (uint64_t j = 0; j < s.count; ++j)
        for (uint64_t b = 0; b < s.len; ++b) written.insert(s.base + j * s.stride + b);
      t.placed(isa::Unit::activation, {{ub, true, s}});
      base = r(0, 3) == 0 ? r(0, 120) : s.base + s.count * (s.stride ? s.stride : s.len) + r(0, 2);
    }
    for (int probe = 0; probe < 40; ++probe) {
      const isa::Strided s{r(0, 140), r(1, 5), r(1, 4), r(0, 12)};
      bool shared = false;
      for (uint64_t j = 0; j < s.count; ++j)
        for (uint64_t b = 0; b < s.len; ++b) shared = shared || written.count(s.base + j * s.stride + b);
      ASSERT_EQ(t.needs(isa::Unit::host, {{ub, false, s}}), shared ? bit(isa::Unit::activation) : 0u)
          << "trial " << trial << " probe " << s.base << "," << s.len << "," << s.count << "," << s.stride;
    }
  }
}

TEST(Syncs, ASyncForgetsWhatItWaitedFor) {
  SyncTracker t;
  place(t, insn("rhm host=0 ub=0 len=64"));
  place(t, insn("act acc=0 ub=64 rows=1 cols=8 stride=8 mult=0x40000000"));
  const Placed reader = insn("mmul ub=0 acc=8 rows=9 stride=8 swap", 8);  // reads [0, 72)
  EXPECT_EQ(needs(t, reader), bit(isa::Unit::host) | bit(isa::Unit::activation));
  t.synced(bit(isa::Unit::host));
  EXPECT_EQ(needs(t, reader), bit(isa::Unit::activation));
  t.synced(bit(isa::Unit::activation));
  EXPECT_EQ(needs(t, reader), 0u);
  EXPECT_EQ(needs(t, insn("act acc=0 ub=512 rows=1 cols=8 stride=8 mult=0x40000000")), 0u);  // own unit: in order
}

TEST(Syncs, PaddedInputArrivesWithoutWaitingForItsBorder) {
  // The convolution's input buffer has a border the activation unit fills; the rhm bringing the
  // image writes only between those bytes and needs no sync behind the fills.
  const std::string path = testing::TempDir() + "syncs_" + std::to_string(::getpid()) + ".yaml";
  std::ofstream(path) << "name: padded\nseed: 5\ninput: {name: image, shape: [1, 5, 5, 3]}\nlayers:\n"
                         "  - {name: conv, op: conv2d, filters: 4, kernel: 3, padding: same, activation: relu}\n";
  const sim::ChipParams params = load_params("configs/tiny.yaml");
  const compiler::Compiled c = compiler::compile_model(path, params);
  const isa::Program& p = c.lowered.program;
  uint64_t input_host = 0;
  for (const auto& t : p.tensors)
    if (t.role == isa::TensorRole::kInput) input_host = t.addr;
  size_t at = p.text.size();
  for (size_t i = 0; i < p.text.size() && at == p.text.size(); ++i) {
    isa::Instruction x;
    std::string error;
    ASSERT_TRUE(isa::decode(p.text[i], &x, &error)) << error;
    if (x.opcode() == isa::Opcode::rhm && static_cast<uint64_t>(x.get("host")) == input_host) at = i;
  }
  ASSERT_LT(at, p.text.size());
  isa::Instruction rhm;
  std::string error;
  isa::decode(p.text[at], &rhm, &error);
  const uint64_t lo = static_cast<uint64_t>(rhm.get("ub"));
  const uint64_t hi = lo + static_cast<uint64_t>((rhm.get("repeat") - 1) * rhm.get("ub_stride") + rhm.get("len"));
  // Border fills inside the rhm's range come before it, with no sync between.
  int inside = 0;
  for (size_t i = at; i-- > 0;) {
    isa::Instruction x;
    isa::decode(p.text[i], &x, &error);
    if (x.opcode() != isa::Opcode::vop) {
      EXPECT_NE(x.opcode(), isa::Opcode::sync);
      break;
    }
    const uint64_t dst = static_cast<uint64_t>(x.get("dst"));
    inside += dst > lo && dst < hi;
  }
  EXPECT_GT(inside, 0);

  // And the chip agrees: no hazard, the reference interpreter's outputs.
  const std::vector<float> input = compiler::synthetic_inputs(*c.graph, 2)[1];
  const std::vector<int8_t> q_input = compiler::quantize_input(c.qgraph, input);
  const auto expected = compiler::run_int8(c.qgraph, q_input);
  SimOptions options;
  options.inputs["image"] = std::vector<uint8_t>(q_input.begin(), q_input.end());
  const SimRun run = simulate(params, p, options);
  ASSERT_TRUE(run.halted()) << run.fault_reason() << " at pc " << run.fault_pc();
  const auto& values = run.result["outputs"]["conv"]["values"];
  const auto& want = expected[1];
  ASSERT_EQ(values.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(values[i].get<int>(), want[i]) << i;
}

}  // namespace
}  // namespace tpu::test
