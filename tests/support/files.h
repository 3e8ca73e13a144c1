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
// The files under `folder` (relative to the source tree, searched recursively) ending in `extension`, sorted,
// but for those under `skip` (a subfolder of it).
inline std::vector<std::string> source_files(const std::string& folder, const std::string& extension,
                                             const std::string& skip = "") {
  std::vector<std::string> files;
  const std::string root = std::string(TPUSIM_SOURCE_DIR) + "/" + folder, skipped = root + "/" + skip + "/";
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.path().extension() == extension && (skip.empty() || e.path().string().rfind(skipped, 0) != 0))
      files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// The zoo: models/, but for models/eie (the EIE paper's single benchmark layers, which need a sparse
// engine; tests/report/eie_test.cc runs them).
inline std::vector<std::string> zoo_models() { return source_files("models", ".yaml", "eie"); }
#endif

}  // namespace tpu::test
