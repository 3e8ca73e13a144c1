#include "tools/compiler/compress.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

namespace tpu::compiler {

std::vector<float> prune(std::vector<float> weights, double density) {
  const size_t n = weights.size();
  const size_t keep = static_cast<size_t>(std::llround(std::clamp(density, 0.0, 1.0) * double(n)));
  if (keep >= n) return weights;
  // The keep-th largest magnitude by radix selection on its bits (which order like the values for
  // non-negative floats): its top 16 bits from one histogram, its low 16 from a second.
  auto key = [&](size_t i) {
    uint32_t k;
    const float m = std::fabs(weights[i]);
    std::memcpy(&k, &m, sizeof k);
    return k;
  };
  size_t wanted = keep;  // still to keep at or below the threshold found so far
  uint32_t threshold = 0;
  for (int pass = 0; pass < 2 && keep > 0; ++pass) {
    std::vector<size_t> histogram(1 << 16, 0);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t k = key(i);
      if (pass == 0 || k >> 16 == threshold >> 16) ++histogram[pass == 0 ? k >> 16 : k & 0xffff];
    }
    uint32_t bucket = 0xffff;
    while (histogram[bucket] < wanted) wanted -= histogram[bucket--];
    threshold = pass == 0 ? bucket << 16 : (threshold & 0xffff0000u) | bucket;
  }
  // Above the threshold all stay; at it, the first `wanted` (ties to the lower index).
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = key(i);
    if (keep > 0 && (k > threshold || (k == threshold && wanted > 0))) {
      if (k == threshold) --wanted;
    } else {
      weights[i] = 0.0f;
    }
  }
  return weights;
}

SharedWeights share_weights(const std::vector<float>& weights, int clusters, CentroidInit init, uint64_t seed) {
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
    if (init == CentroidInit::kLinear) {
      for (int c = 0; c < clusters; ++c)
        centroids.push_back(clusters == 1 ? (lo + hi) / 2 : lo + (hi - lo) * c / (clusters - 1));
    } else if (init == CentroidInit::kDensity) {
      for (int c = 0; c < clusters; ++c)
        centroids.push_back(values[static_cast<size_t>((c + 0.5) / clusters * double(values.size()))]);
    } else {
      std::mt19937_64 rng(seed);
      for (int c = 0; c < clusters; ++c) {  // a partial Fisher-Yates over the distinct values
        const size_t pick = static_cast<size_t>(c) + rng() % (distinct.size() - static_cast<size_t>(c));
        std::swap(distinct[static_cast<size_t>(c)], distinct[pick]);
        centroids.push_back(distinct[static_cast<size_t>(c)]);
      }
      std::sort(centroids.begin(), centroids.end());
    }
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

std::vector<float> compressed(std::vector<float> weights, double density, int clusters) {
  weights = prune(std::move(weights), density);
  const SharedWeights s = share_weights(weights, clusters);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = s.codebook[s.indices[i]];
  return weights;
}

}  // namespace tpu::compiler
