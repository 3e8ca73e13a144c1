#include "tools/continual/metrics.h"

#include <algorithm>
#include <stdexcept>

namespace tpu::continual {

std::vector<double> per_class_accuracy(const std::vector<uint8_t>& labels, const std::vector<uint8_t>& predictions,
                                       int64_t outputs) {
  if (labels.size() != predictions.size()) throw std::invalid_argument("a prediction per label");
  std::vector<int64_t> right(static_cast<size_t>(outputs)), of(static_cast<size_t>(outputs));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= outputs) throw std::invalid_argument("a label past the outputs");
    ++of[labels[i]];
    right[labels[i]] += predictions[i] == labels[i];
  }
  std::vector<double> a(static_cast<size_t>(outputs));
  for (size_t j = 0; j < a.size(); ++j) a[j] = of[j] ? double(right[j]) / double(of[j]) : 0;
  return a;
}

namespace {
// Outputs learned before the last step (those whose forgetting and transfer are defined).
template <class F>
void for_each_earlier(const AccuracyMatrix& m, F&& f) {
  if (m.acc.empty()) return;
  const auto last = static_cast<int64_t>(m.acc.size() - 1);
  for (size_t j = 0; j < m.learned.size() && j < m.acc.back().size(); ++j)
    if (m.learned[j] < last) f(j, m.learned[j], last);
}
}  // namespace

std::vector<double> forgetting(const AccuracyMatrix& m) {
  std::vector<double> f(m.learned.size(), 0.0);
  for_each_earlier(m, [&](size_t j, int64_t from, int64_t last) {
    double best = 0;
    for (int64_t t = from; t < last; ++t) best = std::max(best, m.acc[static_cast<size_t>(t)][j]);
    f[j] = best - m.acc[static_cast<size_t>(last)][j];
  });
  return f;
}

double mean_forgetting(const AccuracyMatrix& m) {
  const std::vector<double> f = forgetting(m);
  double sum = 0;
  int64_t n = 0;
  for_each_earlier(m, [&](size_t j, int64_t, int64_t) { sum += f[j], ++n; });
  return n ? sum / double(n) : 0;
}

double backward_transfer(const AccuracyMatrix& m) {
  double sum = 0;
  int64_t n = 0;
  for_each_earlier(m, [&](size_t j, int64_t from, int64_t last) {
    sum += m.acc[static_cast<size_t>(last)][j] - m.acc[static_cast<size_t>(from)][j];
    ++n;
  });
  return n ? sum / double(n) : 0;
}

}  // namespace tpu::continual
