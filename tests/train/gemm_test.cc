// The trainer's matrix kernels against the plain definition of their order:
// each element of C from C's old value (or zero), one std::fma per term,
// p = 0 .. k - 1. Every kernel the machine has must give exactly those bits,
// on shapes with every kind of edge (tails of vectors and of row tiles,
// narrow C that takes column tiles, k of 1), transposed or not, accumulating or not.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <tuple>

#include "tools/train/gemm.h"
#include "tools/train/trainer.h"

namespace tpu::train {
namespace {

std::vector<float> reference(int64_t m, int64_t n, int64_t k, const std::vector<float>& a, bool at,
                             const std::vector<float>& b, bool bt, std::vector<float> c, bool accumulate) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float s = accumulate ? c[static_cast<size_t>(i * n + j)] : 0.0f;
      for (int64_t p = 0; p < k; ++p) {
        const float x = at ? a[static_cast<size_t>(p * m + i)] : a[static_cast<size_t>(i * k + p)];
        const float y = bt ? b[static_cast<size_t>(j * k + p)] : b[static_cast<size_t>(p * n + j)];
        s = std::fma(x, y, s);
      }
      c[static_cast<size_t>(i * n + j)] = s;
    }
  return c;
}

class KernelChoice {
 public:
  explicit KernelChoice(const std::string& name) : old_(gemm_kernel()) { set_gemm_kernel(name); }
  ~KernelChoice() { set_gemm_kernel(old_); }

 private:
  std::string old_;
};

TEST(Gemm, EveryKernelGivesTheBitsOfTheOrderedSum) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  auto random = [&](size_t count) {
    std::vector<float> v(count);
    for (float& x : v) x = u(rng);
    return v;
  };
  const std::vector<int64_t> sizes = {1, 2, 5, 6, 7, 8, 13, 16, 17, 31, 64, 65, 100};
  std::uniform_int_distribution<size_t> pick(0, sizes.size() - 1);
  for (const std::string& kernel : gemm_kernels()) {
    KernelChoice choice(kernel);
    for (int trial = 0; trial < 120; ++trial) {
      const int64_t m = sizes[pick(rng)], n = sizes[pick(rng)], k = sizes[pick(rng)];
      const bool at = trial & 1, bt = trial & 2, acc = trial & 4;
      const std::vector<float> a = random(static_cast<size_t>(m * k)), b = random(static_cast<size_t>(k * n));
      std::vector<float> c = random(static_cast<size_t>(m * n));
      const std::vector<float> want = reference(m, n, k, a, at, b, bt, c, acc);
      gemm(m, n, k, a.data(), at, b.data(), bt, c.data(), acc);
      ASSERT_EQ(std::memcmp(c.data(), want.data(), c.size() * sizeof(float)), 0)
          << kernel << " m " << m << " n " << n << " k " << k << " a^T " << at << " b^T " << bt << " accumulate " << acc;
    }
  }
}

TEST(Gemm, AnyNumberOfThreadsGivesTheSameBits) {
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<float> u(-1, 1);
  struct Reset {
    ~Reset() { set_gemm_threads(1); }
  } reset;
  for (const int threads : {2, 3, 5}) {
    set_gemm_threads(threads);
    for (const auto& [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{64, 300, 784}, {301, 7, 150}, {97, 129, 65}}) {
      for (const bool at : {false, true}) {
        std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n)), c(static_cast<size_t>(m * n));
        for (float& x : a) x = u(rng);
        for (float& x : b) x = u(rng);
        const std::vector<float> want = reference(m, n, k, a, at, b, false, c, false);
        gemm(m, n, k, a.data(), at, b.data(), false, c.data(), false);
        ASSERT_EQ(std::memcmp(c.data(), want.data(), c.size() * sizeof(float)), 0) << threads << " threads, m " << m;
      }
    }
  }
  set_gemm_threads(1);
  EXPECT_EQ(gemm_threads(), 1);
  EXPECT_THROW(set_gemm_threads(0), std::invalid_argument);
}

// End to end: a LeNet-5 trained briefly by each kernel, and by two threads, has the same weights.
TEST(Gemm, EveryKernelAndThreadCountTrainsTheSameWeights) {
  const compiler::Graph g = compiler::load_model(std::string(TPUSIM_SOURCE_DIR) + "/models/lenet5.yaml", 1, false);
  const Dataset train = load_fashion_mnist(Split::kTrain), test = load_fashion_mnist(Split::kTest);
  TrainConfig c;
  c.train_images = 256;
  c.test_images = 64;
  auto trained = [&](const std::string& kernel, int threads) {
    KernelChoice choice(kernel);
    set_gemm_threads(threads);
    Network net = Network::from_graph(g, 5);
    Trainer(net, c).epoch(train, test);
    set_gemm_threads(1);
    std::vector<float> all;
    for (const Param* p : net.params()) all.insert(all.end(), p->value.begin(), p->value.end());
    return all;
  };
  const std::vector<float> want = trained("portable", 1);
  for (const std::string& kernel : gemm_kernels())
    for (const int threads : {1, 2}) {
      const std::vector<float> got = trained(kernel, threads);
      ASSERT_EQ(got.size(), want.size());
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0) << kernel << " " << threads;
    }
}

TEST(Gemm, TheFastestKernelRunsAndAnUnknownOneIsNamed) {
  const std::vector<std::string> kernels = gemm_kernels();
  ASSERT_FALSE(kernels.empty());
  EXPECT_EQ(kernels.back(), "portable");
  EXPECT_EQ(gemm_kernel(), kernels.front());
  try {
    set_gemm_kernel("sse9");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'sse9'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("portable"), std::string::npos) << e.what();
  }
  EXPECT_EQ(gemm_kernel(), kernels.front());
}

}  // namespace
}  // namespace tpu::train
