#pragma once

// Temporary copies of the shipped configuration tables, edited, for tests of
// their readers, and the message a reader gives for a bad one.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "sim/base/config.h"
#include "sim/base/params.h"

namespace tpu::test {

inline const std::string kConfigs = std::string(TPUSIM_SOURCE_DIR) + "/configs/";

// A shipped configuration (`file` under configs/) with `sets` applied.
inline sim::ChipParams shipped_chip(const std::string& file, const std::vector<std::string>& sets = {}) {
  sim::Config c = sim::Config::load(kConfigs + file);
  for (const std::string& s : sets) c.set(s);
  return sim::read_chip_params(c);
}

inline std::string write_table(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

// The line (from 1) of configs/`shipped` that holds `text`, or 0 for none; so that a
// test names a line of a shipped table without copying its number.
inline int line_of(const std::string& shipped, const std::string& text) {
  std::ifstream f(kConfigs + shipped);
  std::string line;
  for (int n = 1; std::getline(f, line); ++n)
    if (line.find(text) != std::string::npos) return n;
  ADD_FAILURE() << "configs/" << shipped << " has no line with " << text;
  return 0;
}

// configs/`shipped` with `from` replaced by `to` (a regular expression), as the temporary file `name`.
inline std::string edited_copy(const std::string& shipped, const std::string& name, const std::string& from,
                               const std::string& to) {
  std::ifstream f(kConfigs + shipped);
  const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  const std::string changed = std::regex_replace(text, std::regex(from), to);
  EXPECT_NE(changed, text) << from;
  return write_table(name, changed);
}

// What `load` says of the table at `path` (a sim::ConfigError), or "" if it takes it.
template <class Load>
std::string config_error_of(Load load, const std::string& path) {
  try {
    load(path);
  } catch (const sim::ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace tpu::test
