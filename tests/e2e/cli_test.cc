// The tpusim command as users run it: exit codes, messages, and files left
// (or not left) behind.

#include <gtest/gtest.h>

#include "tests/support/cli_runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

namespace fs = std::filesystem;

using tpu::test::Outcome;
using tpu::test::tpusim;

class Cli : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("tpusim_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path(name)) << text; }
  static std::string read(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

const std::string kExample = std::string(TPUSIM_SOURCE_DIR) + "/workloads/asm/fc_layer.s";

TEST_F(Cli, AssembleDisassembleReassembleGivesTheSameBytes) {
  ASSERT_EQ(tpusim("asm " + kExample + " -o " + path("a.tpb")).status, 0);
  const Outcome listing = tpusim("disasm " + path("a.tpb") + " -o " + path("a.s"));
  ASSERT_EQ(listing.status, 0) << listing.output;
  ASSERT_EQ(tpusim("asm " + path("a.s") + " -o " + path("b.tpb")).status, 0);
  EXPECT_EQ(read(path("a.tpb")), read(path("b.tpb")));
}

TEST_F(Cli, DefaultOutputNameReplacesTheExtension) {
  write("prog.s", "halt\n");
  ASSERT_EQ(tpusim("asm " + path("prog.s")).status, 0);
  EXPECT_TRUE(fs::exists(path("prog.tpb")));
}

TEST_F(Cli, AssemblyErrorsExitNonZeroAndWriteNothing) {
  write("bad.s", "halt\nmmult ub=0\n");
  const Outcome r = tpusim("asm " + path("bad.s") + " -o " + path("bad.tpb"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(path("bad.s") + ":2:1: error: unknown mnemonic 'mmult'; did you mean 'mmul'?"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("no output written"), std::string::npos);
  EXPECT_FALSE(fs::exists(path("bad.tpb")));
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_EQ(e.path().extension(), ".s") << e.path();
}

TEST_F(Cli, AFailedAssemblyLeavesAnEarlierOutputUntouched) {
  write("p.s", "halt\n");
  ASSERT_EQ(tpusim("asm " + path("p.s") + " -o " + path("p.tpb")).status, 0);
  const std::string before = read(path("p.tpb"));
  write("p.s", "halt x\n");
  EXPECT_EQ(tpusim("asm " + path("p.s") + " -o " + path("p.tpb")).status, 1);
  EXPECT_EQ(read(path("p.tpb")), before);
}

TEST_F(Cli, DisassemblingSomethingElseIsAClearError) {
  write("notes.txt", "hello");
  const Outcome r = tpusim("disasm " + path("notes.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(path("notes.txt") + ": not a tpusim program (bad magic"), std::string::npos) << r.output;
}

// Command-line mistakes are bad input (status 1), as the README states, not the parser's own codes.
TEST_F(Cli, MissingInputIsAClearError) {
  const Outcome r = tpusim("asm " + path("none.s"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("none.s"), std::string::npos) << r.output;
  const Outcome config = tpusim("run -c " + path("none.yaml") + " -p " + path("none.tpb"));
  EXPECT_EQ(config.status, 1);
  EXPECT_NE(config.output.find("--config: File does not exist: " + path("none.yaml")), std::string::npos)
      << config.output;
}

TEST_F(Cli, UnknownSubcommandAndOptionsAreRejected) {
  EXPECT_EQ(tpusim("frobnicate").status, 1);
  EXPECT_EQ(tpusim("asm --bogus " + kExample).status, 1);
  EXPECT_EQ(tpusim("").status, 1);
  EXPECT_EQ(tpusim("run --set").status, 1);  // an option without its value
}

TEST_F(Cli, AMistypedSubcommandOrOptionGetsTheNearestValidOne) {
  const Outcome sub = tpusim("rnu");
  EXPECT_EQ(sub.status, 1);
  EXPECT_NE(sub.output.find("unknown subcommand 'rnu'; did you mean 'run'?"), std::string::npos) << sub.output;
  const Outcome option = tpusim("run --confg x");
  EXPECT_EQ(option.status, 1);
  EXPECT_NE(option.output.find("unknown option '--confg'; did you mean '--config'?"), std::string::npos)
      << option.output;
  const Outcome assigned = tpusim("run --no-valeus --confg=x");
  EXPECT_EQ(assigned.status, 1);
  EXPECT_NE(assigned.output.find("unknown option '--no-valeus'; did you mean '--no-values'?"), std::string::npos)
      << assigned.output;
  const Outcome far = tpusim("frobnicate");
  EXPECT_NE(far.output.find("unknown subcommand 'frobnicate'"), std::string::npos) << far.output;
  EXPECT_EQ(far.output.find("did you mean"), std::string::npos) << far.output;
}

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* cmd :
       {"", "asm ", "disasm ", "isa ", "run ", "compile ", "check ", "report ", "onnx-test ", "bench "}) {
    const Outcome r = tpusim(std::string(cmd) + "--help");
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_NE(r.output.find("Usage:"), std::string::npos) << cmd;
  }
}

TEST_F(Cli, IsaPrintsTheReference) {
  const Outcome r = tpusim("isa --markdown");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, read(std::string(TPUSIM_SOURCE_DIR) + "/isa/ISA.md"));
}

}  // namespace
