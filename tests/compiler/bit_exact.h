#pragma once

// A compiled network on the chip against the int8 interpreter: the chip's
// outputs for a seeded input must equal the interpreter's, element for element.

#include <gtest/gtest.h>

#include <string>

#include "tests/support/sim_harness.h"
#include "tools/compiler/compiler.h"
#include "tools/compiler/interpreter.h"

namespace tpu::test {

// Runs `c` on `params` and checks every output; returns the run for further checks.
inline SimRun expect_bit_exact(const compiler::Compiled& c, const sim::ChipParams& params, const std::string& what) {
  const std::vector<float> input = compiler::synthetic_inputs(*c.graph, 2, c.graph->layers[0].shape[0] * c.passes)[1];
  const std::vector<int8_t> q = compiler::quantize_input(c.qgraph, input);
  const auto expected = compiler::run_int8(c.qgraph, q);
  SimOptions options;
  options.inputs[c.graph->layers[0].name] = std::vector<uint8_t>(q.begin(), q.end());
  SimRun run = simulate(params, c.lowered.program, options);
  EXPECT_TRUE(run.halted()) << what << ": " << run.fault_reason() << " at pc " << run.fault_pc();
  if (!run.halted()) return run;
  for (size_t k = 0; k < c.graph->outputs.size(); ++k) {
    const int o = c.graph->outputs[k];
    const auto& layer = c.graph->layers[static_cast<size_t>(o)];
    const auto& values = run.result["outputs"][c.graph->output_name(k)]["values"];
    const auto& want = expected[static_cast<size_t>(o)];
    EXPECT_EQ(values.size(), want.size()) << what << ": " << layer.name;
    if (values.size() != want.size()) continue;
    size_t differ = 0;
    for (size_t i = 0; i < want.size(); ++i) differ += values[i].get<int>() != want[i];
    EXPECT_EQ(differ, 0u) << what << ": " << layer.name << ": " << differ << " of " << want.size() << " values differ";
  }
  return run;
}

}  // namespace tpu::test
