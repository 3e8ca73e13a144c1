// One-shot compression of a layer's weights: magnitude pruning to an exact
// count, weight sharing that keeps a small codebook as given, and k-means that
// finds well-separated clusters' means from a linear start.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "tools/compiler/compress.h"

namespace tpu::compiler {
namespace {

TEST(Prune, KeepsTheLargestMagnitudesToTheDensity) {
  const std::vector<float> w = {0.5f, -3, 2, 0.1f, -0.2f, 4, 1, -1, 0.3f, 0.05f};
  // 0.3 of 10 keeps three: 4, -3 and 2.
  EXPECT_EQ(prune(w, 0.3), (std::vector<float>{0, -3, 2, 0, 0, 4, 0, 0, 0, 0}));
  EXPECT_EQ(prune(w, 0.04), std::vector<float>(10, 0)) << "round(0.4) keeps none";
  EXPECT_EQ(prune(w, 1.0), w);
  // Ties go to the lower index: of four equal magnitudes, half keeps the first two.
  EXPECT_EQ(prune({1, -1, 1, -1}, 0.5), (std::vector<float>{1, -1, 0, 0}));
}

// The radix selection against the definition: sort by magnitude (descending, ties by index), keep
// the first round(density x n). Magnitudes drawn from few values (many ties, zeros among them), from
// wide ranges (the two histogram passes split them differently) and with negative zeros.
TEST(Prune, AgreesWithSortingByMagnitude) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    const size_t n = 1 + rng() % 2000;
    std::vector<float> w(n);
    const int kind = trial % 3;
    for (float& v : w) {
      if (kind == 0) v = static_cast<float>(static_cast<int>(rng() % 7) - 3) * 0.5f;
      if (kind == 1) v = std::ldexp(static_cast<float>(rng() % 1000) - 500, static_cast<int>(rng() % 40) - 20);
      if (kind == 2) v = rng() % 4 == 0 ? -0.0f : std::nextafter(1.0f, 2.0f) + static_cast<float>(rng() % 3) * 1e-7f;
    }
    const double density = static_cast<double>(rng() % 1001) / 1000;
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return std::fabs(w[a]) > std::fabs(w[b]); });
    std::vector<float> expect(n, 0.0f);
    const size_t keep = static_cast<size_t>(std::llround(density * double(n)));
    for (size_t i = 0; i < keep; ++i) expect[order[i]] = w[order[i]];
    const std::vector<float> got = prune(w, density);
    ASSERT_EQ(got, expect) << "trial " << trial << ": n " << n << ", density " << density;
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(std::signbit(got[i]), std::signbit(expect[i])) << trial << " " << i;
  }
}

// Each start converges to a k-means fixed point (every centroid its weights' mean). On weights
// nine in ten near -1 and one in ten near +1, density starts (and ends) with more centroids among
// the many than linear does; random is the same for a seed and another for another.
TEST(ShareWeights, EachStartEndsAtAFixedPointAndDensityFollowsTheWeights) {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> near(0, 0.05f);
  std::vector<float> w(5000);
  for (size_t i = 0; i < w.size(); ++i) w[i] = (i % 10 ? -1.0f : 1.0f) + near(rng);
  auto negative = [](const SharedWeights& s) {
    int n = 0;
    for (float c : s.codebook) n += c < 0;
    return n;
  };
  for (CentroidInit init : {CentroidInit::kLinear, CentroidInit::kDensity, CentroidInit::kRandom}) {
    const SharedWeights s = share_weights(w, 15, init, 3);
    std::vector<double> sum(s.codebook.size(), 0);
    std::vector<int> count(s.codebook.size(), 0);
    for (size_t i = 0; i < w.size(); ++i) {
      sum[s.indices[i]] += w[i];
      ++count[s.indices[i]];
    }
    for (size_t c = 1; c < s.codebook.size(); ++c)
      if (count[c] > 0) {
        EXPECT_NEAR(s.codebook[c], sum[c] / count[c], 1e-5) << "init " << int(init) << " centroid " << c;
      }
  }
  EXPECT_GT(negative(share_weights(w, 15, CentroidInit::kDensity)), negative(share_weights(w, 15, CentroidInit::kLinear)));
  EXPECT_EQ(share_weights(w, 15, CentroidInit::kRandom, 3).codebook, share_weights(w, 15, CentroidInit::kRandom, 3).codebook);
  EXPECT_NE(share_weights(w, 15, CentroidInit::kRandom, 3).codebook, share_weights(w, 15, CentroidInit::kRandom, 4).codebook);
}

TEST(ShareWeights, KeepsAFewDistinctValuesExactly) {
  const std::vector<float> w = {0, 0.25f, -0.5f, 0.25f, 0, 1.5f, -0.5f};
  const SharedWeights s = share_weights(w, 15);
  EXPECT_EQ(s.codebook, (std::vector<float>{0, -0.5f, 0.25f, 1.5f}));
  for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(s.codebook[s.indices[i]], w[i]) << i;
}

TEST(ShareWeights, LinearStartFindsTwoGroupsMeans) {
  const SharedWeights s = share_weights({1, 2, 3, 10, 11, 12}, 2);
  EXPECT_EQ(s.codebook, (std::vector<float>{0, 2, 11}));
  EXPECT_EQ(s.indices, (std::vector<uint8_t>{1, 1, 1, 2, 2, 2}));
}

// Fifteen well-separated groups: the centroids are the groups' means, each weight in its group's.
TEST(ShareWeights, FindsFifteenSeparatedClusters) {
  std::mt19937 rng(2);
  std::normal_distribution<double> noise(0, 0.01);
  std::vector<float> w;
  std::vector<double> sums(15, 0);
  std::vector<int> group;
  for (int i = 0; i < 3000; ++i) {
    const int g = i % 15;
    const float v = static_cast<float>(-1.4 + 0.2 * g + noise(rng));
    w.push_back(v);
    sums[g] += v;
    group.push_back(g);
  }
  const SharedWeights s = share_weights(w, 15);
  ASSERT_EQ(s.codebook.size(), 16u);
  for (int g = 0; g < 15; ++g) EXPECT_NEAR(s.codebook[g + 1], sums[g] / 200, 1e-6) << g;
  for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(s.indices[i], group[i] + 1) << i;
}

TEST(ShareWeights, ZeroWeightsStayZeroAndEveryOtherGetsAnEntry) {
  std::mt19937 rng(4);
  std::normal_distribution<float> d(0, 1);
  std::vector<float> w(5000);
  for (float& v : w) v = d(rng);
  w = prune(w, 0.1);
  const SharedWeights s = share_weights(w, 15);
  EXPECT_EQ(s.codebook.size(), 16u);
  EXPECT_TRUE(std::is_sorted(s.codebook.begin() + 1, s.codebook.end()));
  for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(s.indices[i] == 0, w[i] == 0) << i;
}

}  // namespace
}  // namespace tpu::compiler
