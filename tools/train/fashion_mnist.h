#pragma once

// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 60,000 training and 10,000
// test images of 28 x 28 grey pixels in 10 classes of clothing, as Debian's
// dataset-fashion-mnist installs them (gzipped IDX files).

#include <cstdint>
#include <string>
#include <vector>

#include "tools/train/idx.h"

namespace tpu::train {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr int kFashionMnistClasses = 10;
inline constexpr int64_t kFashionMnistTrainPerClass = 6000;  // the training file's images of each class
// Each label's name, as the data set's documentation gives them.
inline constexpr const char* kFashionMnistClassNames[kFashionMnistClasses] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

struct Dataset {
  int64_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count x rows x cols, row-major
  std::vector<uint8_t> labels;  // count, each below kFashionMnistClasses
};

enum class Split { kTrain, kTest };

// Throws DataError: the data set not installed (naming the package that installs it), a file
// missing or corrupt (read_idx), images and labels that do not match, a label out of range.
Dataset load_fashion_mnist(Split split, const std::string& dir = kFashionMnistDir);

// The images of `data` at `indices`, in their order, with their labels; throws std::out_of_range
// for an index past its end.
Dataset subset(const Dataset& data, const std::vector<int64_t>& indices);

}  // namespace tpu::train
