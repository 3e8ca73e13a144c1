// A compiled host step (softmax) runs as whm, hop and rhm on the host
// interface, one after another: its cycles are the sum of those
// instructions' documented costs (link, unified-buffer port and latency),
// derived here from the configuration.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tests/support/sim_harness.h"
#include "tests/support/timing.h"
#include "tools/compiler/compiler.h"

namespace tpu::test {
namespace {

TEST(HostSteps, ASoftmaxCostsItsTransfersAndTheHostOperationInSequence) {
  const std::string path = testing::TempDir() + std::to_string(::getpid()) + "softmax.yaml";
  const int64_t F = 64;
  std::ofstream(path) << "name: s\ninput: {name: x, shape: [1, " << F << "]}\nlayers:\n  - {name: p, op: softmax}\n";
  const sim::ChipParams params = load_params("configs/tiny.yaml");
  const compiler::Compiled c = compiler::compile_model(path, params);
  // tag, rhm x, tag, whm x, hop, rhm p, whm p, halt: every transfer and the hop on the host interface.
  ASSERT_EQ(c.lowered.program.text.size(), 8u);
  const SimRun run = simulate(params, c.lowered.program, {});
  ASSERT_TRUE(run.halted()) << run.fault_reason();
  const Timing T(params);
  // Each transfer: its bytes on the link and their unified-buffer port time, then the latency.
  const uint64_t rhm = T.rhm_written(0, F, F) + T.host_latency();
  const uint64_t whm = T.whm_sent(0, T.host_transfer(F), 1, F) + T.host_latency();
  const uint64_t hop =
      T.ns(params.host_interface.op_latency_ns) + T.transfer(2 * F, params.host_interface.op_bandwidth_gb_s);
  EXPECT_EQ(run.cycles(), T.issue(1) + 1 + 2 * rhm + 2 * whm + hop);
  EXPECT_EQ(run.stat("host_interface", "host_op_cycles"), hop);
  EXPECT_EQ(run.stat("host_interface", "host_ops"), 1u);
}

}  // namespace
}  // namespace tpu::test
