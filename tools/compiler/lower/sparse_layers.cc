// Dense layers compressed for the sparse engine: the layer's codebook indices
// encoded as the engine's image (isa/sparse_image.h) for the chip's PEs, placed
// in weight DRAM once, and one spmv per sample (the image stays resident after
// the first). A layer too large for a PE's SRAMs is an error naming it, unless
// it may run in column slices (`slices: true`): one spmv per slice per sample,
// the sums carried from slice to slice (isa SparsePart), each slice loaded again
// whenever the others have pushed it out of the SRAMs.

#include <algorithm>

#include "isa/sparse_image.h"
#include "tools/compiler/lower/layer_lowering.h"

namespace tpu::compiler {

namespace {

namespace sp = isa::sparse;

class SparseLayers : public LayerLowering {
 public:
  bool handles(const Layer& l) const override { return l.op == Op::kDense && l.sparse; }
  void lower(ProgramBuilder& b, int layer) const override;

 private:
  // The layer's images: one, or with `slices: true` when one does not fit, the fewest column slices
  // of equal width that each do. Throws ModelError naming the layer when it does not fit.
  static std::vector<std::pair<uint32_t, sp::SparseLayer>> encode(ProgramBuilder& b, int layer);
  // Why columns [c0, c1) do not fit a PE's SRAMs (or ""); their image in *image.
  static std::string encode_slice(ProgramBuilder& b, int layer, uint32_t c0, uint32_t c1, sp::SparseLayer* image);
};

std::string SparseLayers::encode_slice(ProgramBuilder& b, int layer, uint32_t c0, uint32_t c1,
                                       sp::SparseLayer* image) {
  const Layer& l = b.layer(layer);
  const QLayer& ql = b.qlayer(layer);
  const CompileTarget& t = b.target;
  const uint32_t M = static_cast<uint32_t>(l.units), K = c1 - c0;
  // The engine's rows are the layer's outputs: W[j][k] is the weight of input k in output j.
  std::vector<uint8_t> rows_first(uint64_t{M} * K);
  for (uint32_t k = 0; k < K; ++k)
    for (uint32_t j = 0; j < M; ++j)
      rows_first[uint64_t{j} * K + k] = ql.codebook_indices[uint64_t{c0 + k} * M + j];
  std::array<int16_t, sp::kCodebookEntries> codebook{};
  std::copy(ql.codebook.begin(), ql.codebook.end(), codebook.begin());
  // The bias goes with the first slice; the later ones add to its sums.
  const std::vector<int32_t> bias = c0 == 0 ? ql.bias : std::vector<int32_t>(M, 0);
  try {
    *image = sp::encode(rows_first, M, K, static_cast<uint32_t>(t.sparse_pes), codebook,
                        static_cast<int>(ql.codebook.size()), bias);
  } catch (const isa::ProgramError& e) {
    return e.what();
  }
  return sp::sram_problem(M, K, image->pes, static_cast<uint64_t>(t.sparse_spmat_bytes),
                          static_cast<uint64_t>(t.sparse_pointer_bytes),
                          static_cast<uint64_t>(t.sparse_activation_bytes), image);
}

std::vector<std::pair<uint32_t, sp::SparseLayer>> SparseLayers::encode(ProgramBuilder& b, int layer) {
  const Layer& l = b.layer(layer);
  if (b.target.sparse_pes == 0)
    throw ModelError(b.where(layer) + "is placed on the sparse engine (engine: sparse), which this chip has not "
                                      "(sparse_engine.pes: 0)");
  const uint32_t K = static_cast<uint32_t>(b.layer(l.inputs[0]).shape.back());
  std::string whole_problem;
  for (uint32_t slices = 1; slices <= K; ++slices) {
    const uint32_t width = (K + slices - 1) / slices;
    std::vector<std::pair<uint32_t, sp::SparseLayer>> images;
    std::string problem;
    for (uint32_t c0 = 0; c0 < K && problem.empty(); c0 += width) {
      images.emplace_back(c0, sp::SparseLayer{});
      problem = encode_slice(b, layer, c0, std::min(K, c0 + width), &images.back().second);
    }
    if (problem.empty()) return images;
    if (slices == 1) whole_problem = problem;
    if (!l.slices)
      throw ModelError(b.where(layer) + "does not fit the sparse engine: " + whole_problem +
                       "; give the layer `slices: true` (or compile with --sparse-slices) to run it in column "
                       "slices, each loaded from weight DRAM every inference");
  }
  throw ModelError(b.where(layer) + "does not fit the sparse engine even one column at a time: " + whole_problem);
}

void SparseLayers::lower(ProgramBuilder& b, int layer) const {
  const Layer& l = b.layer(layer);
  const QLayer& ql = b.qlayer(layer);
  const Buffer& x = b.buffer(l.inputs[0]);
  const Buffer& y = b.buffer(layer);
  if (x.padded() || y.padded())
    throw ModelError(b.where(layer) + "a sparse dense layer on an image that a padded conv2d or pool also reads is "
                                      "not supported");
  if (ql.raw) throw ModelError(b.where(layer) + "an int32 output does not come from the sparse engine");
  const uint64_t K = static_cast<uint64_t>(x.c), M = static_cast<uint64_t>(l.units);
  const uint64_t N = static_cast<uint64_t>(x.n * x.h * x.w);
  LayerReport& rep = b.report(layer);
  rep.sparse = true;
  rep.macs += N * K * M / b.planes(layer);
  struct Slice {
    uint64_t c0, cols, dram, bytes;
  };
  std::vector<Slice> slices;
  for (const auto& [c0, image] : encode(b, layer)) {
    const std::vector<uint8_t> bytes = sp::serialize(image);
    // Layers with the same image share it (an LSTM gate at a later step has the first step's
    // weights, but its biases are in steps of its own input's scale).
    const uint64_t before = b.weights.bytes();
    slices.push_back({c0, image.cols, b.weights.image(bytes), bytes.size()});
    if (b.weights.bytes() == before) continue;  // a shared image counts for the layer that placed it
    for (uint32_t p = 0; p < image.pes; ++p) {
      rep.index_bytes += image.entries(p);
      rep.pointer_bytes += 2 * (uint64_t{image.cols} + 1);
      for (uint8_t e : image.pe[p].entries) rep.fillers += sp::entry_index(e) == 0;
    }
    rep.image_bytes += bytes.size();
    rep.weight_bytes += bytes.size();
  }
  rep.nonzeros = rep.index_bytes - rep.fillers;
  rep.slices = slices.size();
  const int zin = b.qlayer(l.inputs[0]).zp;
  for (uint64_t n = 0; n < N; ++n) {
    b.prepare_output(layer);
    for (size_t s = 0; s < slices.size(); ++s) {
      const isa::SparsePart part = slices.size() == 1      ? isa::SparsePart::whole
                                   : s == 0                ? isa::SparsePart::first
                                   : s + 1 < slices.size() ? isa::SparsePart::middle
                                                           : isa::SparsePart::last;
      b.add(layer, instruction(isa::Opcode::spmv, {{"dram", int64_t(slices[s].dram)},
                                                   {"in", int64_t(x.base + n * K + slices[s].c0)},
                                                   {"out", int64_t(y.base + n * M)},
                                                   {"func", int64_t(ql.func)},
                                                   {"mult", ql.requant[0].mult},
                                                   {"shift", ql.requant[0].shift},
                                                   {"zin", zin},
                                                   {"zp", ql.act_zp},
                                                   {"frac", ql.frac},
                                                   {"rows", int64_t(M)},
                                                   {"cols", int64_t(slices[s].cols)},
                                                   {"bytes", int64_t(slices[s].bytes)},
                                                   {"part", int64_t(part)}}));
    }
  }
}

}  // namespace

std::unique_ptr<LayerLowering> sparse_layers() { return std::make_unique<SparseLayers>(); }

}  // namespace tpu::compiler
