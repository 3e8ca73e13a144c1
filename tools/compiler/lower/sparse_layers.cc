// Dense layers compressed for the sparse engine: the layer's codebook indices
// encoded as the engine's image (isa/sparse_image.h) for the chip's PEs, placed
// in weight DRAM once, and one spmv per sample (the image stays resident after
// the first). A layer too large for a PE's SRAMs is an error naming it.

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
  static sp::SparseLayer encode(ProgramBuilder& b, int layer);
};

sp::SparseLayer SparseLayers::encode(ProgramBuilder& b, int layer) {
  const Layer& l = b.layer(layer);
  const QLayer& ql = b.qlayer(layer);
  const CompileTarget& t = b.target;
  if (t.sparse_pes == 0)
    throw ModelError(b.where(layer) + "is placed on the sparse engine (engine: sparse), which this chip has not "
                                      "(sparse_engine.pes: 0)");
  const uint32_t K = static_cast<uint32_t>(b.layer(l.inputs[0]).shape.back()), M = static_cast<uint32_t>(l.units);
  // The engine's rows are the layer's outputs: W[j][k] is the weight of input k in output j.
  std::vector<uint8_t> rows_first(uint64_t{M} * K);
  for (uint32_t k = 0; k < K; ++k)
    for (uint32_t j = 0; j < M; ++j) rows_first[uint64_t{j} * K + k] = ql.codebook_indices[uint64_t{k} * M + j];
  std::array<int16_t, sp::kCodebookEntries> codebook{};
  std::copy(ql.codebook.begin(), ql.codebook.end(), codebook.begin());
  sp::SparseLayer image;
  try {
    image = sp::encode(rows_first, M, K, static_cast<uint32_t>(t.sparse_pes), codebook,
                       static_cast<int>(ql.codebook.size()), ql.bias);
  } catch (const isa::ProgramError& e) {
    throw ModelError(b.where(layer) + "does not fit the sparse engine: " + e.what());
  }
  if (const std::string e = sp::sram_problem(M, K, image.pes, static_cast<uint64_t>(t.sparse_spmat_bytes),
                                             static_cast<uint64_t>(t.sparse_pointer_bytes),
                                             static_cast<uint64_t>(t.sparse_activation_bytes), &image);
      !e.empty())
    throw ModelError(b.where(layer) + "does not fit the sparse engine: " + e);
  return image;
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
  const sp::SparseLayer image = encode(b, layer);
  const std::vector<uint8_t> bytes = sp::serialize(image);
  // Layers with the same image share it (an LSTM gate at a later step has the first step's weights,
  // but its biases are in steps of its own input's scale).
  const uint64_t before = b.weights.bytes();
  const uint64_t dram = b.weights.image(bytes);
  LayerReport& rep = b.report(layer);
  rep.sparse = true;
  rep.macs += N * K * M / b.planes(layer);
  if (b.weights.bytes() != before) {  // a new image (a shared one counts for the layer that placed it)
    for (uint32_t p = 0; p < image.pes; ++p) {
      rep.index_bytes += image.entries(p);
      rep.pointer_bytes += 2 * (K + 1);
      for (uint8_t e : image.pe[p].entries) rep.fillers += sp::entry_index(e) == 0;
    }
    rep.nonzeros = rep.index_bytes - rep.fillers;
    rep.image_bytes = bytes.size();
    rep.weight_bytes = bytes.size();
  }
  const int zin = b.qlayer(l.inputs[0]).zp;
  for (uint64_t n = 0; n < N; ++n) {
    b.prepare_output(layer);
    b.add(layer, instruction(isa::Opcode::spmv, {{"dram", int64_t(dram)},
                                                 {"in", int64_t(x.base + n * K)},
                                                 {"out", int64_t(y.base + n * M)},
                                                 {"func", int64_t(ql.func)},
                                                 {"mult", ql.requant[0].mult},
                                                 {"shift", ql.requant[0].shift},
                                                 {"zin", zin},
                                                 {"zp", ql.act_zp},
                                                 {"frac", ql.frac},
                                                 {"rows", int64_t(M)},
                                                 {"cols", int64_t(K)},
                                                 {"bytes", int64_t(bytes.size())}}));
  }
}

}  // namespace

std::unique_ptr<LayerLowering> sparse_layers() { return std::make_unique<SparseLayers>(); }

}  // namespace tpu::compiler
