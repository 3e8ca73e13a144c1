#include "tools/compiler/compress.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace tpu::compiler {

std::vector<float> prune(const std::vector<float>& weights, double density) {
  const size_t keep = static_cast<size_t>(std::llround(std::clamp(density, 0.0, 1.0) * double(weights.size())));
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min(keep, order.size())),
                   order.end(), [&](size_t a, size_t b) {
                     const float ma = std::fabs(weights[a]), mb = std::fabs(weights[b]);
                     return ma != mb ? ma > mb : a < b;
                   });
  std::vector<float> out(weights.size(), 0.0f);
  for (size_t i = 0; i < keep && i < order.size(); ++i) out[order[i]] = weights[order[i]];
  return out;
}

SharedWeights share_weights(const std::vector<float>& weights, int clusters) {
  SharedWeights s;
  s.indices.assign(weights.size(), 0);
  std::vector<float> values;
  for (float w : weights)
    if (w != 0) values.push_back(w);
  std::sort(values.begin(), values.end());
  std::vector<float> distinct = values;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<double> centroids;
  if (static_cast<int>(distinct.size()) <= clusters) {
    centroids.assign(distinct.begin(), distinct.end());
  } else {
    // Sorted values: each cluster is a contiguous run, found from the midpoints between centroids;
    // prefix sums give each run's mean at once.
    std::vector<double> prefix(values.size() + 1, 0);
    for (size_t i = 0; i < values.size(); ++i) prefix[i + 1] = prefix[i] + values[i];
    const double lo = values.front(), hi = values.back();
    for (int c = 0; c < clusters; ++c) centroids.push_back(clusters == 1 ? (lo + hi) / 2 : lo + (hi - lo) * c / (clusters - 1));
    for (int iteration = 0; iteration < 1000; ++iteration) {
      std::vector<double> next = centroids;
      size_t begin = 0;
      for (int c = 0; c < clusters; ++c) {
        // Values nearer this centroid than the next (ties to this, the lower one).
        size_t end = values.size();
        if (c + 1 < clusters) {
          const double mid = (centroids[c] + centroids[c + 1]) / 2;
          end = static_cast<size_t>(std::upper_bound(values.begin(), values.end(), mid,
                                                     [](double m, float v) { return m < v; }) -
                                    values.begin());
          end = std::max(end, begin);
        }
        if (end > begin) next[c] = (prefix[end] - prefix[begin]) / double(end - begin);
        begin = end;
      }
      if (next == centroids) break;
      centroids = std::move(next);
    }
  }
  s.codebook.push_back(0.0f);
  for (double c : centroids) s.codebook.push_back(static_cast<float>(c));
  // Each non-zero weight to its nearest shared value (ties to the lower).
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0) continue;
    size_t best = 1;
    for (size_t c = 2; c < s.codebook.size(); ++c)
      if (std::fabs(double(weights[i]) - s.codebook[c]) < std::fabs(double(weights[i]) - s.codebook[best])) best = c;
    s.indices[i] = static_cast<uint8_t>(best);
  }
  return s;
}

}  // namespace tpu::compiler

namespace tpu::compiler {

std::vector<float> compressed(const std::vector<float>& weights, double density, int clusters) {
  const SharedWeights s = share_weights(prune(weights, density), clusters);
  std::vector<float> out(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) out[i] = s.codebook[s.indices[i]];
  return out;
}

}  // namespace tpu::compiler
