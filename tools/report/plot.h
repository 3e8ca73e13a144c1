#pragma once

// Charts for the reports, drawn by gnuplot (Debian gnuplot-nox) as SVG: each
// chart leaves its data (.dat), its script (.gp) and the picture (.svg) side
// by side, so a reader can redraw or restyle it.

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tpu::report {

class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Series {
  std::string title;
  std::vector<std::pair<double, double>> points;
  std::string style = "with points pointsize 1.2";  // gnuplot's, after the data
  // A band around the points (a confidence interval), low and high at each point: drawn shaded
  // beneath them in their colour. Empty: none.
  std::vector<std::pair<double, double>> band;
};

struct Chart {
  std::string name;  // file stem in the chart folder
  std::string xlabel, ylabel;
  std::vector<Series> series;
  // Log axes; unset: log x when the x values are positive and span a decade.
  std::optional<bool> log_x, log_y;
  int log_x_base = 2;
  std::optional<std::pair<double, double>> x_range, y_range;
  std::vector<std::string> extra;  // gnuplot commands before the plot (labels, arrows)
  std::string key = "outside right top";  // where gnuplot puts the legend
};

// Draws `chart` into dir/NAME.svg; false (nothing drawn) when it has no points. Throws PlotError
// when gnuplot is missing or fails.
bool draw(const std::string& dir, const Chart& chart);
// The chart's data as draw writes it to NAME.dat (a block per series), for tests.
std::string data_text(const Chart& chart);

// A heat map of z over a grid of (x, y) cells, each labelled with its value; x and y are the grid's
// values (drawn evenly spaced, in the order given). false (nothing drawn) when no cell has a value
// or an axis has fewer than two values.
struct Heatmap {
  std::string name, xlabel, ylabel, zlabel;
  std::vector<std::string> xs, ys;              // tick labels
  std::vector<std::vector<std::optional<double>>> z;  // z[y][x]
};
bool draw(const std::string& dir, const Heatmap& map);

// Text for a gnuplot double-quoted string, and a path for a single-quoted one.
std::string gnuplot_text(const std::string& s);
std::string gnuplot_path(const std::string& s);

}  // namespace tpu::report
