#pragma once

// One-shot Deep Compression of a layer's weights (Han, Mao, Dally, ICLR 2016):
// pruning by magnitude to a target density, then weight sharing by k-means
// over the surviving weights. The result is a codebook (entry 0 the zero
// weight) and an index per weight, which the sparse engine's image encodes.
// Retraining after either step comes with the training harness.

#include <cstdint>
#include <vector>

namespace tpu::compiler {

// The weights kept at `density` (in (0, 1]): the round(density * n) of largest magnitude, ties
// to the lower index; the others become 0. The weights are finite (the model reader checks).
std::vector<float> prune(std::vector<float> weights, double density);

struct SharedWeights {
  std::vector<float> codebook;   // codebook[0] = 0, then the shared values, ascending
  std::vector<uint8_t> indices;  // per weight: its codebook entry (0 for a zero weight)
};

// Where k-means starts (Deep Compression, Sec. 3.1, compares them): linear, evenly over
// [min, max] of the non-zero weights (one cluster: at the middle); density, at the quantiles
// (c + 1/2) / clusters of the non-zero weights; random, at `clusters` of their distinct values
// drawn from `seed`.
enum class CentroidInit { kLinear, kDensity, kRandom };

// The non-zero weights shared among at most `clusters` values. Weights with no more distinct
// non-zero values than that keep exactly those values; otherwise k-means in one dimension from
// `init`, iterated to convergence (each weight to the nearest centroid, ties to the lower; each
// centroid to its weights' mean; a centroid left without weights keeps its place).
SharedWeights share_weights(const std::vector<float>& weights, int clusters, CentroidInit init = CentroidInit::kLinear,
                            uint64_t seed = 1);

// The weights as the compressed layer has them: pruned, each then its shared value. Compressing
// them again changes nothing, so the network can be calibrated as it will run.
std::vector<float> compressed(std::vector<float> weights, double density, int clusters);

}  // namespace tpu::compiler
