#pragma once

// A whole file as text, for tests that compare what a command wrote ("" when it is missing).

#include <fstream>
#include <sstream>
#include <string>

namespace tpu::test {

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace tpu::test
