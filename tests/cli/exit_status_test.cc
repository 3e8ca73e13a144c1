// What ends a simulation, mapped onto tpusim's exit statuses as the command
// maps it: a SystemC process of the running chip that throws is a bug in
// tpusim (status 4), unless it ran out of memory (status 1). Each case runs
// in a child process, as SystemC elaborates once per process.

#include <gtest/gtest.h>

#include <systemc>

#include <cstdlib>
#include <functional>
#include <iostream>
#include <new>
#include <stdexcept>

#include "sim/top/chip.h"
#include "tests/support/sim_harness.h"
#include "tools/cli/exit_status.h"

namespace tpu::test {
namespace {

// A module beside the chip whose process throws as soon as the simulation starts.
struct Thrower : sc_core::sc_module {
  SC_HAS_PROCESS(Thrower);
  Thrower(sc_core::sc_module_name name, std::function<void()> throws) : sc_module(name), throws_(std::move(throws)) {
    SC_THREAD(run);
  }
  void run() { throws_(); }
  std::function<void()> throws_;
};

// Runs a chip beside the Thrower and exits with the status tpusim would.
[[noreturn]] void run_and_exit(std::function<void()> throws) {
  const isa::Program program = assemble_or_throw("nop\nnop\nhalt\n");
  sim::Chip chip(load_params(), program, {});
  Thrower thrower("thrower", std::move(throws));
  int status = 0;
  try {
    chip.run();
  } catch (...) {
    status = cli::report_error(std::current_exception(), std::cerr);
  }
  std::exit(status);
}

TEST(ExitStatusDeathTest, AnExceptionInASimulationProcessIsAnInternalError) {
  EXPECT_EXIT(run_and_exit([] { throw std::out_of_range("queue entry 7 of 4"); }), testing::ExitedWithCode(4),
              "internal error: the simulation stopped: .*queue entry 7 of 4.*\\(a bug in tpusim: please report it\\)");
}

TEST(ExitStatusDeathTest, RunningOutOfMemoryInASimulationProcessIsNotABug) {
  EXPECT_EXIT(run_and_exit([] { throw std::bad_alloc(); }), testing::ExitedWithCode(1),
              "error: out of memory: the model or program needs more memory than this machine has");
}

}  // namespace
}  // namespace tpu::test
