#include "tools/train/fashion_mnist.h"

#include <filesystem>

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

}  // namespace tpu::train
