#include "tools/train/gemm.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tools/train/gemm_tile.h"

namespace tpu::train {

namespace {

using Kernel = void (*)(const gemm_detail::Task&, bool columns, int64_t from, int64_t to);

struct Available {
  std::string name;
  Kernel run;
};

const std::vector<Available>& available() {
  static const std::vector<Available> kernels = [] {
    std::vector<Available> k;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) k.push_back({"avx512", gemm_detail::run_avx512});
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k.push_back({"avx2", gemm_detail::run_avx2});
    k.push_back({"portable", gemm_detail::run_portable});
    return k;
  }();
  return kernels;
}

const Available*& chosen() {
  static const Available* c = &available().front();
  return c;
}

// Threads that wait for a share of a product: share i runs on thread i (0 the caller's). Between
// products a worker spins a little (products come a fraction of a millisecond apart in training,
// and waking a sleeping thread costs about as much), then sleeps, so an idle pool takes no core
// from the rest of the program (such as the chip's runs).
class Workers {
 public:
  ~Workers() { resize(1); }
  int size() const { return static_cast<int>(threads_.size()) + 1; }
  void resize(int n) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    stop_ = false;
    for (int i = 1; i < n; ++i) threads_.emplace_back([this, i, g = generation_.load()] { serve(i, g); });
  }
  void run(const std::function<void(int)>& share) {
    job_ = &share;
    pending_ = size() - 1;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    share(0);
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  }

 private:
  void serve(int i, uint64_t seen) {
    for (;;) {
      for (int spin = 0; spin < 2000 && generation_.load(std::memory_order_acquire) == seen && !stop_; ++spin)
        std::this_thread::yield();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
        if (stop_) return;
        seen = generation_.load();
      }
      (*job_)(i);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  const std::function<void(int)>* job_ = nullptr;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;  // written under mutex_
};

Workers& workers() {
  static Workers w;
  return w;
}

}  // namespace

void set_gemm_threads(int threads) {
  if (threads < 1) throw std::invalid_argument("matrix threads: " + std::to_string(threads) + " (at least 1)");
  workers().resize(threads);
}

int gemm_threads() { return workers().size(); }

void gemm(int64_t m, int64_t n, int64_t k, const float* a, bool a_transposed, const float* b, bool b_transposed,
          float* c, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  // The tile reads rows of B; a transposed B is laid out so first (n k floats, small beside the product).
  std::vector<float> packed;
  if (b_transposed) {
    packed.resize(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) packed[static_cast<size_t>(p * n + j)] = b[j * k + p];
    b = packed.data();
  }
  const gemm_detail::Task t{m, n, k, a, a_transposed ? 1 : k, a_transposed ? m : 1, b, c, accumulate};
  // A C narrower than a vector fills the vectors with its rows instead, where A's columns are rows
  // of memory (A stored transposed). Either tile gives the same bits; this is only speed.
  const bool columns = a_transposed && n < 16 && m > n;
  // Threads share C's rows (columns, for column tiles) in runs of whole tiles; each element is still
  // one thread's ordered sum, so the bits do not depend on the threads.
  const int64_t other = columns ? n : m;
  const int threads = gemm_threads();
  const Kernel run = chosen()->run;
  if (threads == 1 || m * n * k < (int64_t{1} << 17) || other < 12) return run(t, columns, 0, other);
  // Shares in whole 6-row tiles (the vector kernels'; the portable kernel's 4-row tiles only change
  // where a share's last tile ends, not any element's sum).
  const int64_t tiles = (other + 5) / 6, per = (tiles + threads - 1) / threads;
  workers().run([&](int i) {
    const int64_t from = std::min(other, i * per * 6), to = std::min(other, (i + 1) * per * 6);
    if (from < to) run(t, columns, from, to);
  });
}

std::vector<std::string> gemm_kernels() {
  std::vector<std::string> names;
  for (const Available& k : available()) names.push_back(k.name);
  return names;
}

const std::string& gemm_kernel() { return chosen()->name; }

void set_gemm_kernel(const std::string& name) {
  for (const Available& k : available())
    if (k.name == name) {
      chosen() = &k;
      return;
    }
  std::string have;
  for (const Available& k : available()) have += (have.empty() ? "" : ", ") + k.name;
  throw std::invalid_argument("no matrix kernel '" + name + "' on this machine (it has " + have + ")");
}

}  // namespace tpu::train
