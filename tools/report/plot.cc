#include "tools/report/plot.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "isa/program.h"

namespace tpu::report {

std::string gnuplot_text(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '"' ? std::string("\\\"") : c == '\\' ? std::string("\\\\") : std::string(1, c);
  return out;
}

std::string gnuplot_path(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out;
}

namespace {

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}

const char* kTerminal = "set terminal svg size 720,440 dynamic noenhanced font 'sans,12' background rgb 'white'\n";

// Runs gnuplot on dir/script in dir (the script names its files without a folder, so it redraws
// from wherever the charts are copied); the script writes the SVG itself.
void run_gnuplot(const std::string& dir, const std::string& script) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) throw PlotError(std::string("cannot run gnuplot: ") + std::strerror(errno));
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(out[0]);
    close(out[1]);
    throw PlotError(std::string("cannot run gnuplot: ") + std::strerror(err));
  }
  if (pid == 0) {
    // The child: output to the pipe, no input, in the chart folder; 126/127 say what failed.
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    const int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0) dup2(null, STDIN_FILENO);  // the duplicate is inherited, the original closes at exec
    if (chdir(dir.c_str()) != 0) _exit(126);
    execlp("gnuplot", "gnuplot", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  pid_t waited;
  while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited < 0) throw PlotError(std::string("gnuplot: ") + std::strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) throw PlotError("cannot run gnuplot (install gnuplot-nox)");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 126) throw PlotError("cannot enter the chart folder " + dir);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw PlotError("gnuplot failed on " + dir + "/" + script + ": " + text);
}

void write(const std::string& path, const std::string& text) { isa::write_file_atomically(path, text); }

}  // namespace

std::string data_text(const Chart& c) {
  std::string data;
  for (const Series& one : c.series) {
    if (one.points.empty()) continue;
    if (!one.band.empty() && one.band.size() != one.points.size())
      throw PlotError(c.name + ": series '" + one.title + "' has a band of another length than its points");
    for (size_t i = 0; i < one.points.size(); ++i) {
      data += number(one.points[i].first) + " " + number(one.points[i].second);
      if (!one.band.empty()) data += " " + number(one.band[i].first) + " " + number(one.band[i].second);
      data += "\n";
    }
    data += "\n\n";  // a new gnuplot data block
  }
  return data;
}

bool draw(const std::string& dir, const Chart& c) {
  size_t points = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& one : c.series)
    for (const auto& [x, y] : one.points) {
      ++points;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  if (points == 0) return false;
  const std::string base = dir + "/" + c.name;
  write(base + ".dat", data_text(c));
  std::string gp = std::string(kTerminal) + "set output '" + gnuplot_path(c.name + ".svg") +
                   "'\nset grid\nset key " + c.key + " font ',10'\nset xlabel \"" + gnuplot_text(c.xlabel) +
                   "\"\nset ylabel \"" + gnuplot_text(c.ylabel) + "\"\n";
  if (c.log_x.value_or(lo > 0 && hi / lo >= 10)) gp += "set logscale x " + std::to_string(c.log_x_base) + "\n";
  if (c.log_y.value_or(false)) gp += "set logscale y 10\n";
  if (c.x_range) gp += "set xrange [" + number(c.x_range->first) + ":" + number(c.x_range->second) + "]\n";
  if (c.y_range) gp += "set yrange [" + number(c.y_range->first) + ":" + number(c.y_range->second) + "]\n";
  for (const std::string& e : c.extra) gp += e + "\n";
  gp += "plot ";
  // Series without points have no data block (gnuplot would merge their blank lines into one gap).
  size_t block = 0;
  for (const Series& one : c.series) {
    if (one.points.empty()) continue;
    const std::string data = "'" + gnuplot_path(c.name + ".dat") + "' index " + std::to_string(block);
    // A band and its points in one colour: the series' own line type.
    const std::string colour = one.band.empty() ? "" : " lt " + std::to_string(block + 1);
    gp += block ? ", " : "";
    if (!one.band.empty())
      gp += data + " using 1:3:4 with filledcurves fillstyle transparent solid 0.18 noborder" + colour + " notitle, ";
    gp += data + (one.band.empty() ? "" : " using 1:2") + " " + one.style + colour + " title \"" + gnuplot_text(one.title) + "\"";
    ++block;
  }
  gp += "\n";
  write(base + ".gp", gp);
  run_gnuplot(dir, c.name + ".gp");
  return true;
}

bool draw(const std::string& dir, const Heatmap& m) {
  bool any = false;
  std::string data;
  for (const auto& row : m.z) {
    for (size_t x = 0; x < row.size(); ++x) {
      data += (x ? " " : "") + number(row[x] ? *row[x] : NAN);
      any = any || row[x].has_value();
    }
    data += "\n";
  }
  if (!any || m.xs.size() < 2 || m.ys.size() < 2) return false;  // gnuplot draws images of 2 x 2 cells or more
  const std::string base = dir + "/" + m.name;
  write(base + ".dat", data);
  auto tics = [](const std::vector<std::string>& labels) {
    std::string t = "(";
    for (size_t i = 0; i < labels.size(); ++i)
      t += std::string(i ? ", " : "") + "\"" + gnuplot_text(labels[i]) + "\" " + std::to_string(i);
    return t + ")";
  };
  const std::string file = "'" + gnuplot_path(m.name + ".dat") + "'";
  std::string gp = std::string(kTerminal) + "set output '" + gnuplot_path(m.name + ".svg") + "'\nset xlabel \"" +
                   gnuplot_text(m.xlabel) + "\"\nset ylabel \"" + gnuplot_text(m.ylabel) + "\"\nset cblabel \"" +
                   gnuplot_text(m.zlabel) + "\"\nset xtics " + tics(m.xs) + "\nset ytics " + tics(m.ys) +
                   "\nset xrange [-0.5:" + number(static_cast<double>(m.xs.size()) - 0.5) + "]\nset yrange [-0.5:" +
                   number(static_cast<double>(m.ys.size()) - 0.5) +
                   "]\nset palette defined (0 '#ffffcc', 1 '#a1dab4', 2 '#41b6c4', 3 '#2c7fb8')\n"
                   "set datafile missing 'NaN'\nunset key\n"
                   "plot " + file + " matrix with image pixels, " + file +
                   " matrix using 1:2:($3 == $3 ? sprintf('%.4g', $3) : '') with labels font ',10'\n";
  write(base + ".gp", gp);
  run_gnuplot(dir, m.name + ".gp");
  return true;
}

}  // namespace tpu::report
