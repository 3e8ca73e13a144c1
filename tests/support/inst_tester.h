#pragma once

// A fluent helper for instruction tests: data placed in host memory and weight
// DRAM, a few lines of assembly, then expectations on the chip's memories
// (against the reference machine or given values), counters and cycles.
//
//   InstTester t;
//   t.host(0, x).dram(0, w).code("rhm host=0 ub=0 len=8 ...").run();
//   t.expect_matches_reference();
//   EXPECT_EQ(t.sim().cycles(), t.timing().issue(3) + ...);

#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/reference_isa.h"
#include "tests/support/sim_harness.h"
#include "tests/support/timing.h"

namespace tpu::test {

// n bytes drawn uniformly from [lo, hi] with a fixed seed.
inline std::vector<int> random_bytes(size_t n, uint32_t seed, int lo = -128, int hi = 127) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<int> v(n);
  for (int& x : v) x = d(rng);
  return v;
}

class InstTester {
 public:
  explicit InstTester(const std::vector<std::string>& sets = {}, const std::string& config = "configs/tiny.yaml")
      : params_(load_params(config, sets)), timing_(params_) {}

  InstTester& host(uint64_t addr, const std::vector<int>& bytes) { return data(".host", addr, bytes); }
  InstTester& dram(uint64_t addr, const std::vector<int>& bytes) { return data(".dram", addr, bytes); }
  // Instructions, one per line; `halt` is appended by run().
  InstTester& code(const std::string& lines) {
    code_ += lines + "\n";
    return *this;
  }

  InstTester& run(bool with_halt = true, const SimOptions& options = {}) {
    const std::string source = ".text\n" + code_ + (with_halt ? "halt\n" : "") + data_;
    program_ = assemble_or_throw(source);
    SimOptions o = options;
    o.trace = true;
    sim_ = simulate(params_, program_, o);
    return *this;
  }

  // The unified buffer and the accumulators equal the reference machine's.
  void expect_matches_reference() const {
    ASSERT_TRUE(sim_.halted()) << sim_.fault_reason();
    ReferenceMachine ref(params_);
    ref.run(program_);
    EXPECT_TRUE(ref.ub == sim_.ub) << "unified buffer differs from the reference" << first_difference(ref.ub, sim_.ub);
    EXPECT_TRUE(ref.acc == sim_.acc) << "accumulators differ from the reference" << first_difference(ref.acc, sim_.acc);
  }

  void expect_fault(int64_t pc, const std::string& reason_part) const {
    ASSERT_FALSE(sim_.halted()) << "the program halted";
    EXPECT_EQ(sim_.fault_pc(), pc) << sim_.fault_reason();
    EXPECT_NE(sim_.fault_reason().find(reason_part), std::string::npos) << sim_.fault_reason();
  }

  const SimRun& sim() const { return sim_; }
  const Timing& timing() const { return timing_; }
  const sim::ChipParams& params() const { return params_; }
  const isa::Program& program() const { return program_; }

 private:
  InstTester& data(const char* section, uint64_t addr, const std::vector<int>& bytes) {
    std::ostringstream s;
    s << section << "\n.org " << addr << "\n.byte ";
    for (size_t i = 0; i < bytes.size(); ++i) s << (i ? ", " : "") << bytes[i];
    data_ += s.str() + "\n";
    return *this;
  }
  template <class T>
  static std::string first_difference(const std::vector<T>& a, const std::vector<T>& b) {
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
      if (a[i] != b[i])
        return ": first at index " + std::to_string(i) + " (reference " + std::to_string(a[i]) + ", chip " +
               std::to_string(b[i]) + ")";
    return a.size() == b.size() ? "" : ": sizes differ";
  }

  sim::ChipParams params_;
  Timing timing_;
  std::string code_, data_;
  isa::Program program_;
  SimRun sim_;
};

}  // namespace tpu::test
