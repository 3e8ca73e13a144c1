#pragma once

// A fixed-size array of zeros for a chip memory, mapped from the OS (anonymous memory): its pages
// are supplied, zeroed, only when first touched, however the allocator has been used before. A
// timing-only run, which never touches the unified buffer's or the accumulators' contents, costs
// no page of them.

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace tpu::sim {

template <class T>
class ZeroedArray {
  static_assert(std::is_trivial_v<T>, "zero bytes must be a valid T");

 public:
  explicit ZeroedArray(size_t n) : size_(n), bytes_((n == 0 ? 1 : n) * sizeof(T)) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_alloc();
    // NORESERVE: pages never touched are not counted against a strict overcommit limit.
    void* p = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
  }
  ~ZeroedArray() { munmap(data_, bytes_); }
  ZeroedArray(const ZeroedArray&) = delete;
  ZeroedArray& operator=(const ZeroedArray&) = delete;

  size_t size() const { return size_; }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  size_t size_;
  size_t bytes_;
  T* data_ = nullptr;
};

}  // namespace tpu::sim
