#pragma once

// What a continual study measures of each run: the accuracy of every class
// after every step, and from it forgetting and backward transfer as the
// continual-learning literature defines them (forgetting: Chaudhry et al.,
// ECCV 2018; backward transfer: Lopez-Paz and Ranzato, NeurIPS 2017).

#include <cstdint>
#include <vector>

namespace tpu::continual {

// acc[t][j]: after step t (0: the initial model) the accuracy on output j's test images, for the
// outputs known then; learned[j]: the step output j was first trained at (0 for the initial ones).
struct AccuracyMatrix {
  std::vector<std::vector<double>> acc;
  std::vector<int64_t> learned;
};

// Per output, the fraction of its images classified right (`outputs` labels, the network's answers).
std::vector<double> per_class_accuracy(const std::vector<uint8_t>& labels, const std::vector<uint8_t>& predictions,
                                       int64_t outputs);

// Forgetting of output j after the last step T: its best accuracy at a step from learned[j] to
// T - 1, less its accuracy at T; per output learned before T (others: 0).
std::vector<double> forgetting(const AccuracyMatrix& m);
// The mean forgetting over the outputs learned before the last step.
double mean_forgetting(const AccuracyMatrix& m);
// Backward transfer: over the outputs learned before the last step, the mean of acc[T][j] less
// acc[learned[j]][j] (negative: training on later steps lost accuracy on earlier classes).
double backward_transfer(const AccuracyMatrix& m);

}  // namespace tpu::continual
