#pragma once

// Files for tests: a whole file as text (to compare what a command wrote; "" when it is missing),
// and the files of a folder of the source tree.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tpu::test {

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

#ifdef TPUSIM_SOURCE_DIR
// The files under `folder` (relative to the source tree, searched recursively) ending in `extension`, sorted.
inline std::vector<std::string> source_files(const std::string& folder, const std::string& extension) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(TPUSIM_SOURCE_DIR) + "/" + folder))
    if (e.path().extension() == extension) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}
#endif

}  // namespace tpu::test
