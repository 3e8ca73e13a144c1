// tpusim sweep (and train continual) --backend slurm on a real one-node Slurm that the test starts
// (munged, slurmctld, slurmd under a temporary directory) and stops by their
// pids: the results equal the local backend's byte for byte, a rerun submits
// nothing, and an unreachable Slurm is a clear error.

#include <gtest/gtest.h>

#include <algorithm>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/cli_runner.h"
#include "tests/support/files.h"

namespace tpu::test {
namespace {

namespace fs = std::filesystem;
const std::string kSrc = TPUSIM_SOURCE_DIR;
const std::string kCluster = kSrc + "/tests/support/slurm_cluster.sh";

std::string read(const std::string& path) { return read_file(path); }

class Slurm : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = testing::TempDir() + "slurm_" + std::to_string(::getpid());
    fs::remove_all(base_);
    // Ports of this process's own, so that other runs of the test do not meet it.
    const int port = 20000 + ::getpid() % 20000;
    const std::string env = "SLURMCTLD_PORT=" + std::to_string(port) + " SLURMD_PORT=" + std::to_string(port + 1);
    started_ = std::system((env + " " + kCluster + " start " + base_ + " >" + base_ + ".log 2>&1").c_str()) == 0;
    setenv("SLURM_CONF", (base_ + "/etc/slurm.conf").c_str(), 1);
  }
  static void TearDownTestSuite() { std::system((kCluster + " stop " + base_).c_str()); }

  std::string sweep_file(const std::string& dir) {
    fs::create_directories(dir);
    const std::string path = dir + "/s.yaml";
    std::ofstream(path) << "config: " << kSrc << "/configs/tiny.yaml\nworkloads:\n  - {model: " << kSrc
                        << "/models/lenet_300_100.yaml, batch: 1}\ngrid:\n  matrix_unit.rows: [8, 16]\n"
                        << "  weight_memory.bandwidth_gb_s: [5, 10, 20]\nmetrics:\n  cycles: cycles\n";
    return path;
  }

  static std::string base_;
  static bool started_;
};
std::string Slurm::base_;
bool Slurm::started_ = false;

TEST_F(Slurm, AJobArrayGivesTheLocalResultsByteForByteAndARerunSubmitsNothing) {
  ASSERT_TRUE(started_) << "the one-node Slurm did not start:\n" << read(base_ + ".log");
  const std::string dir = base_ + "/work";
  const std::string file = sweep_file(dir);
  const Outcome slurm = tpusim("sweep " + file + " --backend slurm --wait --tasks 3 -q --out " + dir + "/slurm");
  ASSERT_EQ(slurm.status, 0) << slurm.output;
  EXPECT_NE(slurm.output.find("6 runs submitted as job array"), std::string::npos) << slurm.output;
  // The array ran them all: the command itself only wrote the results files.
  EXPECT_NE(slurm.output.find("6 runs (0 run now, 6 done before), 0 failed"), std::string::npos) << slurm.output;
  ASSERT_EQ(tpusim("sweep " + file + " -j 2 -q --out " + dir + "/local").status, 0);
  for (const char* f : {"/results.csv", "/results.jsonl"}) {
    EXPECT_FALSE(read(dir + "/slurm" + f).empty()) << f;
    EXPECT_EQ(read(dir + "/slurm" + f), read(dir + "/local" + f)) << f;
  }
  // Every run was made by one of the three array tasks.
  size_t outputs = 0;
  for (const auto& e : fs::directory_iterator(dir + "/slurm/slurm")) outputs += e.path().extension() == ".out";
  EXPECT_EQ(outputs, 4u) << "three tasks and the results job";
  const Outcome again = tpusim("sweep " + file + " --backend slurm --wait -q --out " + dir + "/slurm");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("nothing missing"), std::string::npos) << again.output;
  // Two records lost: a rerun submits those two runs alone, as two tasks, and the results come back.
  std::vector<fs::path> records;
  for (const auto& e : fs::directory_iterator(dir + "/slurm/runs")) records.push_back(e.path());
  std::sort(records.begin(), records.end());
  fs::remove(records[1]);
  fs::remove(records[4]);
  const Outcome rest = tpusim("sweep " + file + " --backend slurm --wait -q --out " + dir + "/slurm");
  ASSERT_EQ(rest.status, 0) << rest.output;
  EXPECT_NE(rest.output.find("2 runs submitted as job array"), std::string::npos) << rest.output;
  size_t lists = 0;
  for (const auto& e : fs::directory_iterator(dir + "/slurm/slurm"))
    if (e.path().filename().string().rfind("runs-", 0) == 0 && read(e.path().string()) == "1\n4\n") ++lists;
  EXPECT_EQ(lists, 1u) << "the resubmission lists exactly the two missing runs";
  for (const char* f : {"/results.csv", "/results.jsonl"}) EXPECT_EQ(read(dir + "/slurm" + f), read(dir + "/local" + f)) << f;
}

// A continual study as a job array: the same results as on this machine, byte for byte.
TEST_F(Slurm, AContinualStudyRunsAsAJobArray) {
  ASSERT_TRUE(started_) << "the one-node Slurm did not start:\n" << read(base_ + ".log");
  const std::string dir = base_ + "/continual";
  fs::create_directories(dir);
  const std::string file = dir + "/tiny.yaml";
  std::ofstream(file) << "model: " << kSrc << "/models/lenet_300_100.yaml\nbootstraps: 2\ninitial: {epochs: 2, lr: 0.05}\n"
                      << "scenarios: {new_classes: {initial_classes: 8, initial_per_class: 30, update_size: 20}}\n"
                      << "experiments: {iterations: {constant: [3, 6]}}\ntest_per_class: 10\n"
                      << "deploy: {chip: " << kSrc << "/configs/tpu_v1.yaml, batch: 50}\n";
  const Outcome slurm = tpusim("train continual " + file + " --backend slurm --wait --tasks 2 -q --out " + dir + "/slurm");
  ASSERT_EQ(slurm.status, 0) << slurm.output;
  EXPECT_NE(slurm.output.find("4 runs submitted as job array"), std::string::npos) << slurm.output;
  EXPECT_NE(slurm.output.find("4 runs (0 run now, 4 done before), 0 failed"), std::string::npos) << slurm.output;
  ASSERT_EQ(tpusim("train continual " + file + " -j 2 -q --out " + dir + "/local").status, 0);
  for (const char* f : {"/results.csv", "/results.jsonl"}) {
    EXPECT_FALSE(read(dir + "/slurm" + f).empty()) << f;
    EXPECT_EQ(read(dir + "/slurm" + f), read(dir + "/local" + f)) << f;
  }
}

// Leaves the node as the other tests need it, whatever an assertion cut short: resumed, with no
// job of the test's left.
struct Drained {
  Drained() { ok = std::system("scontrol update nodename=localhost state=drain reason=test") == 0; }
  ~Drained() {
    std::system("scancel -u \"$(id -un)\" >/dev/null 2>&1");
    std::system("scontrol update nodename=localhost state=resume >/dev/null 2>&1");
  }
  bool ok;
};

// A submission whose jobs are still queued (the node drained, so the test does not race them) is
// not submitted again: a rerun is refused, naming the jobs, and once they have run there is
// nothing left to submit.
TEST_F(Slurm, ARerunWhileAnEarlierSubmissionIsQueuedIsRefused) {
  ASSERT_TRUE(started_) << "the one-node Slurm did not start:\n" << read(base_ + ".log");
  const std::string dir = base_ + "/queued";
  const std::string file = sweep_file(dir);
  const std::string submit = "sweep " + file + " --backend slurm -q --out " + dir + "/out";
  Drained drained;
  ASSERT_TRUE(drained.ok);
  const Outcome queued = tpusim(submit);
  ASSERT_EQ(queued.status, 0) << queued.output;
  // Each job by id and name, the array first.
  std::istringstream lines(read(dir + "/out/slurm/jobs.txt"));
  std::string array, array_name, results, results_name;
  lines >> array >> array_name >> results >> results_name;
  EXPECT_EQ(array_name, "tpusim-s");
  EXPECT_EQ(results_name, "tpusim-s-results");
  const Outcome again = tpusim(submit);
  EXPECT_EQ(again.status, 1) << again.output;
  EXPECT_NE(again.output.find("jobs " + array + "," + results + " of an earlier submission"), std::string::npos)
      << again.output;
  EXPECT_NE(again.output.find("(scancel " + array + " " + results + ")"), std::string::npos) << again.output;
  EXPECT_TRUE(fs::is_empty(dir + "/out/runs")) << "nothing ran yet";
  ASSERT_EQ(std::system("scontrol update nodename=localhost state=resume"), 0);
  Outcome after;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  do {  // refused until the earlier jobs have left the queue
    after = tpusim(submit);
    if (after.status == 0) break;
    ASSERT_NE(after.output.find("of an earlier submission"), std::string::npos) << after.output;
    ::usleep(200000);
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(after.status, 0) << after.output;
  EXPECT_NE(after.output.find("nothing missing"), std::string::npos) << after.output;
  EXPECT_EQ(read(dir + "/out/slurm/jobs.txt"), array + " tpusim-s\n" + results + " tpusim-s-results\n")
      << "one submission";
}

TEST(SlurmErrors, AnUnreachableOrMissingSlurmIsAClearError) {
  const std::string dir = testing::TempDir() + "slurm_dead_" + std::to_string(::getpid());
  fs::create_directories(dir);
  const std::string file = dir + "/s.yaml";
  std::ofstream(file) << "config: " << kSrc << "/configs/tiny.yaml\nworkloads:\n  - {model: " << kSrc
                      << "/models/lenet_300_100.yaml, batch: 1}\n";
  // A configuration whose controller listens nowhere.
  std::ofstream(dir + "/dead.conf") << "ClusterName=local\nSlurmctldHost=localhost\nSlurmctldPort=1\n"
                                    << "AuthType=auth/munge\nAuthInfo=socket=" << dir << "/no-munge.socket\n"
                                    << "NodeName=localhost CPUs=1 State=UNKNOWN\nPartitionName=debug Nodes=localhost\n";
  const Outcome dead = tpusim("sweep " + file + " --backend slurm -q --out " + dir + "/out", "SLURM_CONF=" + dir + "/dead.conf");
  EXPECT_EQ(dead.status, 1) << dead.output;
  EXPECT_NE(dead.output.find("--backend slurm:"), std::string::npos) << dead.output;
  EXPECT_NE(dead.output.find("Unable to contact slurm controller"), std::string::npos) << dead.output;
  const Outcome missing = tpusim("sweep " + file + " --backend slurm -q --out " + dir + "/out2", "PATH=/nonexistent");
  EXPECT_EQ(missing.status, 1) << missing.output;
  EXPECT_NE(missing.output.find("sbatch is not on PATH"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace tpu::test
