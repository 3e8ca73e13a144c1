#pragma once

// A number in a report's text, by a printf format ("%.2f", "%+.1f", "%gx").

#include <cstdio>
#include <string>

namespace tpu::report {

inline std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace tpu::report
