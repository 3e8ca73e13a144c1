#pragma once

// Image layouts: ONNX orders an image N, C, H, W (or N, C, L, one pixel high)
// and the chip N, H, W, C. One place maps the two orders onto each other.

#include <cstdint>
#include <vector>

namespace tpu::tensor_io {

// [N, C, L] is the image [N, C, 1, L]; 4-D dims pass unchanged.
inline std::vector<int64_t> as_nchw(const std::vector<int64_t>& dims) {
  return dims.size() == 3 ? std::vector<int64_t>{dims[0], dims[1], 1, dims[2]} : dims;
}

// Calls f(nchw, nhwc), the flat indices of each element of an image with
// NCHW dims `d` in the two orders.
template <class F>
void for_each_nchw_nhwc(const std::vector<int64_t>& d, F&& f) {
  for (int64_t n = 0; n < d[0]; ++n)
    for (int64_t c = 0; c < d[1]; ++c)
      for (int64_t y = 0; y < d[2]; ++y)
        for (int64_t x = 0; x < d[3]; ++x)
          f(static_cast<size_t>(((n * d[1] + c) * d[2] + y) * d[3] + x),
            static_cast<size_t>(((n * d[2] + y) * d[3] + x) * d[1] + c));
}

}  // namespace tpu::tensor_io
