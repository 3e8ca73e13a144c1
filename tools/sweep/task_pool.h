#pragma once

// Runs a set of tasks on this machine, each in its own process, `jobs` at
// once: each task writes its own record (a JSON file), atomically, and a task
// whose record exists is not run again, so a pool killed at any moment resumes
// where it stopped. A task whose process dies before writing its record gets
// a record saying so ("status": "crashed"), and is run again next time. The
// sweep runner and the continual study run their points through it; the
// Slurm backend runs shards of it (`--shard K/N`, `--runs FILE`).

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tpu::sweep {

struct Task {
  std::string record;   // the file its process writes
  std::string label;    // for progress lines ("point 3, mlp0")
  nlohmann::json crash;  // the fields a crashed record starts from (what the task was)
};

struct PoolOptions {
  int jobs = 1;
  bool progress = true;  // a line per task on stderr (a bar on a terminal)
};

struct PoolOutcome {
  uint64_t runs = 0;     // tasks asked for
  uint64_t reused = 0;   // found done
  uint64_t ran = 0;
  uint64_t failed = 0;   // of all asked for, a record whose exit_status is not 0
  uint64_t missing = 0;  // without a record (aggregate_only)
};

// A record that is there, whole, and not of a task that died.
bool finished(const std::string& record);

// The positions (of `total` tasks) a shard takes: every shards-th from `shard`, of all of them or
// of those `runs_file` lists (one position a line). Throws SweepError naming a bad line.
std::vector<size_t> shard_positions(size_t total, int shard, int shards, const std::string& runs_file);

// Runs the tasks at `positions` without a finished record (none, with aggregate_only): `work(i)`
// runs in the child process for task i and must write its record; the child exits after it.
// `stop`, when given, is asked of each new record: a reason stops the pool (its running tasks
// killed) and is thrown as a SweepError.
PoolOutcome run_tasks(const std::vector<Task>& tasks, const std::vector<size_t>& positions, bool aggregate_only,
                      const PoolOptions& options, const std::function<void(size_t)>& work,
                      const std::function<std::string(const nlohmann::json&)>& stop = {});

// For the child: dies with its parent (even one killed by SIGKILL), so no record is written after
// the pool has gone. Returns false when the parent is already gone.
bool die_with_parent(int parent_pid);

}  // namespace tpu::sweep
