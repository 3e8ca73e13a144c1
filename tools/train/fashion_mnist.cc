#include "tools/train/fashion_mnist.h"

#include <filesystem>
#include <stdexcept>

namespace tpu::train {

Dataset load_fashion_mnist(Split split, const std::string& dir) {
  if (!std::filesystem::is_directory(dir))
    throw DataError(dir + ": Fashion-MNIST is not installed: it comes with the Debian package dataset-fashion-mnist "
                          "(bash tools/setup.sh installs it)");
  const std::string stem = split == Split::kTrain ? "train" : "t10k";
  const std::string images_file = dir + "/" + stem + "-images-idx3-ubyte.gz";
  const std::string labels_file = dir + "/" + stem + "-labels-idx1-ubyte.gz";
  for (const std::string& f : {images_file, labels_file})
    if (!std::filesystem::exists(f))
      throw DataError(f + ": missing from the Fashion-MNIST data set (reinstall dataset-fashion-mnist)");
  IdxArray images = read_idx(images_file), labels = read_idx(labels_file);
  if (images.dims.size() != 3)
    throw DataError(images_file + ": " + std::to_string(images.dims.size()) + " dimensions; images have 3 (count, rows, columns)");
  if (labels.dims.size() != 1)
    throw DataError(labels_file + ": " + std::to_string(labels.dims.size()) + " dimensions; labels have 1");
  if (images.dims[0] != labels.dims[0])
    throw DataError(images_file + " holds " + std::to_string(images.dims[0]) + " images but " + labels_file + " " +
                    std::to_string(labels.dims[0]) + " labels");
  for (size_t i = 0; i < labels.data.size(); ++i)
    if (labels.data[i] >= kFashionMnistClasses)
      throw DataError(labels_file + ": label " + std::to_string(labels.data[i]) + " of image " + std::to_string(i) +
                      " is not a class 0 to " + std::to_string(kFashionMnistClasses - 1));
  Dataset d;
  d.count = images.dims[0];
  d.rows = images.dims[1];
  d.cols = images.dims[2];
  d.pixels = std::move(images.data);
  d.labels = std::move(labels.data);
  return d;
}

Dataset subset(const Dataset& data, const std::vector<int64_t>& indices) {
  const auto pixels = static_cast<size_t>(data.rows * data.cols);
  Dataset s{static_cast<int64_t>(indices.size()), data.rows, data.cols, {}, {}};
  s.pixels.reserve(indices.size() * pixels);
  s.labels.reserve(indices.size());
  for (const int64_t i : indices) {
    if (i < 0 || i >= data.count)
      throw std::out_of_range("image " + std::to_string(i) + " of a set of " + std::to_string(data.count));
    const auto at = data.pixels.begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(i) * pixels);
    s.pixels.insert(s.pixels.end(), at, at + static_cast<std::ptrdiff_t>(pixels));
    s.labels.push_back(data.labels[static_cast<size_t>(i)]);
  }
  return s;
}

}  // namespace tpu::train
