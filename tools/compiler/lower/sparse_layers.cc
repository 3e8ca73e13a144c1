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
  // that each do (as wide as they can be, from the left). Throws ModelError naming the layer when
  // it does not fit.
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
                          static_cast<uint64_t>(t.sparse_activation_bytes), *image);
}

std::vector<std::pair<uint32_t, sp::SparseLayer>> SparseLayers::encode(ProgramBuilder& b, int layer) {
  const Layer& l = b.layer(layer);
  const CompileTarget& t = b.target;
  if (t.sparse_pes == 0)
    throw ModelError(b.where(layer) + "is placed on the sparse engine (engine: sparse), which this chip has not "
                                      "(sparse_engine.pes: 0)");
  const uint32_t K = static_cast<uint32_t>(b.layer(l.inputs[0]).shape.back()), M = static_cast<uint32_t>(l.units);
  std::vector<std::pair<uint32_t, sp::SparseLayer>> images(1);
  const std::string problem = encode_slice(b, layer, 0, K, &images[0].second);
  if (problem.empty()) return images;
  if (!l.slices)
    throw ModelError(b.where(layer) + "does not fit the sparse engine: " + problem +
                     "; give the layer `slices: true` (or compile with --sparse-slices) to run it in column slices, "
                     "each loaded from weight DRAM every inference");
  // The widest slices that fit, from the left: each column's entries per PE (a column's encoding
  // does not depend on the others), added until one more column would not fit.
  const std::vector<uint8_t>& indices = b.qlayer(layer).codebook_indices;  // [K][M]
  const uint32_t pes = static_cast<uint32_t>(t.sparse_pes);
  auto problem_of = [&](uint64_t cols, const std::vector<uint64_t>& entries) {
    return sp::sram_problem(M, cols, pes, static_cast<uint64_t>(t.sparse_spmat_bytes),
                            static_cast<uint64_t>(t.sparse_pointer_bytes),
                            static_cast<uint64_t>(t.sparse_activation_bytes), &entries);
  };
  std::vector<uint32_t> cuts = {0};
  std::vector<uint64_t> entries(pes, 0), with(pes);
  for (uint32_t k = 0; k < K; ++k) {
    with = entries;
    sp::add_column_entries(&indices[uint64_t{k} * M], 1, M, pes, with.data());
    if (!problem_of(k + 1 - cuts.back(), with).empty()) {
      std::fill(with.begin(), with.end(), 0);
      sp::add_column_entries(&indices[uint64_t{k} * M], 1, M, pes, with.data());
      if (const std::string e = problem_of(1, with); !e.empty())
        throw ModelError(b.where(layer) + "does not fit the sparse engine even one column at a time: column " +
                         std::to_string(k) + ": " + e);
      cuts.push_back(k);
    }
    entries.swap(with);
  }
  cuts.push_back(K);
  images.assign(cuts.size() - 1, {});
  for (size_t s = 0; s + 1 < cuts.size(); ++s) {
    images[s].first = cuts[s];
    if (const std::string e = encode_slice(b, layer, cuts[s], cuts[s + 1], &images[s].second); !e.empty())
      throw ModelError(b.where(layer) + "slice [" + std::to_string(cuts[s]) + ", " + std::to_string(cuts[s + 1]) +
                       ") does not fit the sparse engine: " + e);
  }
  return images;
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
