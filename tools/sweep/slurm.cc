#include "tools/sweep/slurm.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "isa/program.h"
#include "tools/report/workload.h"
#include "tools/sweep/runner.h"

namespace tpu::sweep {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

namespace {

namespace fs = std::filesystem;

// Runs a Slurm client command, returning its standard output; a non-zero status or no answer
// within the timeout is an error.
std::string slurm_command(const std::string& command) {
  char err_path[] = "/tmp/tpusim-slurm-XXXXXX";
  const int fd = mkstemp(err_path);
  if (fd >= 0) close(fd);
  const std::string cmd = "timeout 60 " + command + " 2>" + err_path;
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) throw SweepError("--backend slurm: cannot run " + command);
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = pclose(pipe);
  std::string err;
  if (FILE* f = std::fopen(err_path, "r")) {
    while (size_t n = fread(buf.data(), 1, buf.size(), f)) err.append(buf.data(), n);
    std::fclose(f);
  }
  std::remove(err_path);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 124)
    throw SweepError("--backend slurm: no answer from Slurm within 60 s (is slurmctld running and reachable?)");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw SweepError("--backend slurm: " + (err.empty() ? out : err));
  return out;
}

// Submits with sbatch --parsable; returns the job id (the last line it printed, before any ";cluster").
std::string sbatch(const std::string& arguments) {
  std::string out = slurm_command("sbatch --parsable " + arguments);
  if (const size_t nl = out.rfind('\n'); nl != std::string::npos) out = out.substr(nl + 1);
  return out.substr(0, out.find(';'));
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (std::string dirs = path ? path : ""; !dirs.empty();) {
    const size_t colon = dirs.find(':');
    const std::string dir = dirs.substr(0, colon);
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    dirs = colon == std::string::npos ? "" : dirs.substr(colon + 1);
  }
  return false;
}

// Jobs of this sweep's submissions, by id and name, as slurm/jobs.txt lists them (a line each).
struct Job {
  std::string id, name;
  bool operator==(const Job& o) const { return id == o.id && name == o.name; }
};

// Lines "id name", as jobs.txt and `squeue -o '%F %j'` both write them.
std::vector<Job> jobs_of(const std::string& text) {
  std::vector<Job> jobs;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (const size_t space = line.find(' '); space != std::string::npos)
      jobs.push_back({line.substr(0, space), line.substr(space + 1)});
  return jobs;
}

void record_jobs(const std::string& jobs_file, const std::vector<Job>& jobs) {
  std::string text;
  for (const Job& j : jobs) text += j.id + " " + j.name + "\n";
  isa::write_file_atomically(jobs_file, text);
}

// The recorded jobs Slurm still has in any state short of finished: the user's own, in every
// partition, whatever the SQUEUE_* variables say (the flags override them). A job matches by id
// and name, so an id Slurm has since given to another job does not.
std::vector<Job> live_jobs(const std::vector<Job>& recorded) {
  if (recorded.empty()) return {};
  // %F: the job's array id (its own id when it is not an array), as sbatch gave it.
  const std::vector<Job> listed = jobs_of(slurm_command(
      "squeue --me --all -h -o '%F %j' -t "
      "PENDING,RUNNING,SUSPENDED,COMPLETING,CONFIGURING,STOPPED,RESIZING,REQUEUED,REQUEUE_HOLD,REQUEUE_FED,"
      "SIGNALING,STAGE_OUT"));
  std::vector<Job> live;
  for (const Job& j : recorded)
    if (std::find(listed.begin(), listed.end(), j) != listed.end() &&
        std::find(live.begin(), live.end(), j) == live.end())
      live.push_back(j);
  return live;
}

void require_sbatch() {
  if (!on_path("sbatch"))
    throw SweepError("--backend slurm: sbatch is not on PATH (install slurm-client, or use --backend local)");
}

}  // namespace

SlurmSubmission submit_slurm(const SweepSpec& spec, const SlurmOptions& o) {
  require_sbatch();
  claim_directory(spec, o.out_dir);
  const std::string file = fs::absolute(spec.path).lexically_normal().string();
  const std::string dir = fs::absolute(o.out_dir).lexically_normal().string();
  return submit_array({spec.name, dir, shell_quote(self_executable()) + " sweep " + shell_quote(file) + " --out " + shell_quote(dir) + " -q -j 1",
                       missing_runs(spec, expand(spec), o.out_dir)},
                      o);
}

std::string self_executable() {
  std::error_code ec;
  const std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) throw SweepError("--backend slurm: cannot find the tpusim executable");
  return self;
}

SlurmSubmission submit_array(const ArrayJob& job, const SlurmOptions& o) {
  require_sbatch();
  SlurmSubmission sub;
  const std::vector<size_t>& missing = job.missing;
  sub.missing = missing.size();
  if (sub.missing == 0) return sub;
  const std::string& dir = job.dir;
  // The runs an earlier submission has not finished count as missing; submitting them again would
  // run them twice.
  const std::string jobs_file = dir + "/slurm/jobs.txt";
  std::vector<Job> jobs = live_jobs(jobs_of(isa::read_file(jobs_file)));
  if (!jobs.empty()) {
    std::string listed, spaced;
    for (const Job& j : jobs) {
      listed += (listed.empty() ? "" : ",") + j.id;
      spaced += " " + j.id;
    }
    throw SweepError("--backend slurm: jobs " + listed + " of an earlier submission into " + dir +
                     " are still queued or running; wait for them (squeue --jobs=" + listed +
                     ") or cancel them (scancel" + spaced + ") and submit again");
  }
  fs::create_directories(dir + "/slurm");
  // The runs to do, listed for the tasks to share out (named by their list: a later submission for
  // what this one leaves gets its own).
  std::string list;
  for (const size_t i : missing) list += std::to_string(i) + "\n";
  const std::string name = report::hex(report::fnv1a(list));
  const std::string runs_file = dir + "/slurm/runs-" + name + ".txt";
  isa::write_file_atomically(runs_file, list);
  const uint64_t tasks = std::min<uint64_t>(sub.missing, o.tasks > 0 ? static_cast<uint64_t>(o.tasks) : 100);
  std::string options;
  if (!o.partition.empty()) options += " --partition=" + shell_quote(o.partition);
  if (!o.time_limit.empty()) options += " --time=" + shell_quote(o.time_limit);
  if (!o.memory.empty()) options += " --mem=" + shell_quote(o.memory);
  const std::string& sweep = job.command;
  const std::string script = dir + "/slurm/shard-" + name + ".sh";
  isa::write_file_atomically(script, "#!/bin/sh\n# A shard of " + job.name +
                                         ": of the runs " + runs_file + " lists, those at K, K + N, ...\n" + "exec " +
                                         sweep + " --runs " + shell_quote(runs_file) + " --shard \"$SLURM_ARRAY_TASK_ID/" +
                                         std::to_string(tasks) + "\"\n");
  const std::string array = "0-" + std::to_string(tasks - 1) + (o.at_once > 0 ? "%" + std::to_string(o.at_once) : "");
  // Each job recorded as soon as it is submitted (the results job's submission may still fail).
  const std::string array_name = "tpusim-" + job.name, results_name = array_name + "-results";
  sub.array_job = sbatch("--job-name=" + shell_quote(array_name) + " --array=" + array + options +
                         " --output=" + shell_quote(dir + "/slurm/shard-" + name + "-%a.out") + " " + shell_quote(script));
  jobs.push_back({sub.array_job, array_name});
  record_jobs(jobs_file, jobs);
  // Failed runs are in the records; the job itself succeeds.
  sub.aggregate_job = sbatch("--job-name=" + shell_quote(results_name) +
                             " --dependency=afterany:" + sub.array_job + options + " --output=" +
                             shell_quote(dir + "/slurm/results.out") + " --wrap=" + shell_quote(sweep + " --aggregate-only || true"));
  jobs.push_back({sub.aggregate_job, results_name});
  record_jobs(jobs_file, jobs);
  // Until the results job has left the queue (squeue no longer knows a job long finished).
  if (o.wait)
    for (;;) {
      std::string state;
      try {
        state = slurm_command("squeue -h -o %i --jobs=" + sub.aggregate_job);
      } catch (const SweepError& e) {
        if (std::string(e.what()).find("Invalid job id") != std::string::npos) break;
        throw;
      }
      if (state.empty()) break;
      sleep(1);
    }
  return sub;
}

}  // namespace tpu::sweep
