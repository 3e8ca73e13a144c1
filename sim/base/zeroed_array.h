#pragma once

// A fixed-size array of zeros for a chip memory: taken from calloc, so a large one comes as
// untouched pages the OS supplies (zeroed) only when first written or read. A timing-only run,
// which never touches the unified buffer's or the accumulators' contents, costs no page of them.

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>

namespace tpu::sim {

template <class T>
class ZeroedArray {
 public:
  explicit ZeroedArray(size_t n) : data_(static_cast<T*>(std::calloc(n == 0 ? 1 : n, sizeof(T)))), size_(n) {
    if (data_ == nullptr) throw std::bad_alloc();
  }
  size_t size() const { return size_; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](size_t i) { return data_.get()[i]; }
  const T& operator[](size_t i) const { return data_.get()[i]; }

 private:
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T, Free> data_;
  size_t size_;
};

}  // namespace tpu::sim
