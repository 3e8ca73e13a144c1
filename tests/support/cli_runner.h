#pragma once

// Runs the tpusim command as a user would, capturing its exit status and
// everything it prints.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace tpu::test {

struct Outcome {
  int status;
  std::string output;  // stdout and stderr together
};

// `env`: assignments (NAME=VALUE ...) for the command's environment.
inline Outcome tpusim(const std::string& args, const std::string& env = "") {
  const std::string cmd = (env.empty() ? "" : "env " + env + " ") + std::string(TPUSIM_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace tpu::test
