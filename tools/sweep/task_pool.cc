#include "tools/sweep/task_pool.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <csignal>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "isa/program.h"
#include "tools/sweep/sweep_spec.h"

namespace tpu::sweep {

namespace fs = std::filesystem;

bool finished(const std::string& record) {
  if (!fs::exists(record)) return false;
  const nlohmann::json rec = nlohmann::json::parse(isa::read_file(record), nullptr, false);
  return !rec.is_discarded() && rec.value("status", "") != "crashed";
}

std::vector<size_t> shard_positions(size_t total, int shard, int shards, const std::string& runs_file) {
  std::vector<size_t> listed;
  if (runs_file.empty()) {
    for (size_t i = 0; i < total; ++i) listed.push_back(i);
  } else {
    if (!fs::is_regular_file(runs_file)) throw SweepError(runs_file + ": no such runs file");
    std::istringstream lines(isa::read_file(runs_file));
    std::set<size_t> seen;
    size_t line_no = 0;
    for (std::string line; std::getline(lines, line);) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      char* end = nullptr;
      const unsigned long long v = std::strtoull(line.c_str(), &end, 10);
      const std::string where = runs_file + ":" + std::to_string(line_no) + ": '" + line + "' ";
      if (line.empty() || *end != '\0' || v >= total)
        throw SweepError(where + "is not the position of a run of this sweep (" +
                         (total == 0 ? std::string("it has none") : "0 to " + std::to_string(total - 1)) + ")");
      if (!seen.insert(static_cast<size_t>(v)).second) throw SweepError(where + "is listed twice");
      listed.push_back(static_cast<size_t>(v));
    }
  }
  std::vector<size_t> mine;
  for (size_t j = 0; j < listed.size(); ++j)
    if (static_cast<int>(j % static_cast<size_t>(shards)) == shard) mine.push_back(listed[j]);
  return mine;
}

bool die_with_parent(int parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  return getppid() == parent;
}

PoolOutcome run_tasks(const std::vector<Task>& tasks, const std::vector<size_t>& positions, bool aggregate_only,
                      const PoolOptions& o, const std::function<void(size_t)>& work,
                      const std::function<std::string(const nlohmann::json&)>& stop) {
  PoolOutcome out;
  std::vector<size_t> todo;
  for (const size_t i : positions) {
    ++out.runs;
    if (finished(tasks[i].record)) {
      ++out.reused;
    } else if (!aggregate_only) {
      todo.push_back(i);
      ++out.ran;
    } else {
      ++out.missing;
    }
  }
  const bool tty = o.progress && isatty(STDERR_FILENO);
  std::map<pid_t, size_t> running;
  size_t next = 0, completed = 0, failures = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::cout.flush();
  std::cerr.flush();
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && running.size() < static_cast<size_t>(std::max(1, o.jobs))) {
      const size_t i = todo[next++];
      const pid_t parent = getpid();
      const pid_t pid = fork();
      if (pid < 0) throw SweepError("cannot start a process for " + tasks[i].label);
      if (pid == 0) {
        if (!die_with_parent(parent)) _exit(6);
        try {
          work(i);
        } catch (...) {
          _exit(1);  // no record: the parent writes a crashed one
        }
        std::cout.flush();
        _exit(0);
      }
      running[pid] = i;
    }
    int wstatus = 0;
    const pid_t pid = waitpid(-1, &wstatus, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) throw SweepError(std::string("waiting for the runs: ") + std::strerror(errno));
    const Task& t = tasks[running.at(pid)];
    running.erase(pid);
    ++completed;
    if (!fs::exists(t.record)) {
      // The process died before writing its record: record why, so the pool goes on.
      nlohmann::json rec = t.crash;
      rec["status"] = "crashed";
      rec["exit_status"] = 4;
      rec["reason"] = WIFSIGNALED(wstatus) ? "the run was killed by signal " + std::to_string(WTERMSIG(wstatus))
                                           : "the run exited with status " + std::to_string(WEXITSTATUS(wstatus));
      isa::write_file_atomically(t.record, rec.dump(1) + "\n");
    }
    const nlohmann::json rec = nlohmann::json::parse(isa::read_file(t.record), nullptr, false);
    failures += rec.is_discarded() || rec.value("exit_status", 1) != 0;
    if (const std::string reason = stop && !rec.is_discarded() ? stop(rec) : ""; !reason.empty()) {
      for (const auto& [child, i] : running) kill(child, SIGKILL);
      while (!running.empty())
        if (waitpid(-1, nullptr, 0) > 0 || errno != EINTR) running.erase(running.begin());
      throw SweepError(reason);
    }
    if (o.progress) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double rate = completed / std::max(s, 1e-9);
      const double eta = (todo.size() - completed) / std::max(rate, 1e-9);
      char line[200];
      std::snprintf(line, sizeof line, "%s[%zu/%zu] %zu failed; %s  %.1f runs/s, %.0f s left%s", tty ? "\r" : "",
                    completed, todo.size(), failures, t.label.c_str(), rate, eta, tty ? "\033[K" : "");
      std::cerr << line << (tty ? "" : "\n") << std::flush;
    }
  }
  if (tty) std::cerr << "\n";
  for (const size_t i : positions) {
    if (!fs::exists(tasks[i].record)) continue;  // missing (aggregate_only)
    const nlohmann::json rec = nlohmann::json::parse(isa::read_file(tasks[i].record), nullptr, false);
    if (rec.is_discarded() || rec.value("exit_status", 1) != 0) ++out.failed;
  }
  return out;
}

}  // namespace tpu::sweep
