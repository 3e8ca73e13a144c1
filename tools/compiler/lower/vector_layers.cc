// Layers the vector unit computes from the unified buffer: element-wise add,
// multiply and activation (with the dense gates, the LSTM cells), concat,
// a sequence's token, and tensors of zeros.

#include <algorithm>

#include "tools/compiler/lower/layer_lowering.h"

namespace tpu::compiler {

namespace {

class VectorLayers : public LayerLowering {
 public:
  bool handles(const Layer& l) const override {
    switch (l.op) {
      case Op::kAdd:
      case Op::kMul:
      case Op::kActivation:
      case Op::kConcat:
      case Op::kToken:
      case Op::kZeros: return true;
      default: return false;
    }
  }
  void lower(ProgramBuilder& b, int layer) const override;

 private:
  static void token(ProgramBuilder& b, int layer);
  static void concat(ProgramBuilder& b, int layer);
  // Calls emit(a, b, dst, len) over whole tensors, or row by row where a buffer is padded.
  template <class Emit>
  static void elementwise(ProgramBuilder& b, int layer, int in_a, int in_b, Emit&& emit);
};

void VectorLayers::lower(ProgramBuilder& b, int layer) const {
  const Layer& l = b.layer(layer);
  const QLayer& ql = b.qlayer(layer);
  auto zp_of = [&](size_t input) { return b.qlayer(l.inputs[input]).zp; };
  switch (l.op) {
    case Op::kAdd:
      elementwise(b, layer, l.inputs[0], l.inputs[1], [&](uint64_t pa, uint64_t pb, uint64_t py, uint64_t len) {
        b.vop(layer, isa::VecOp::add, pa, pb, py, len, zp_of(0), zp_of(1), ql.ma, ql.mb, ql.add, ql.func, ql.act_zp,
              ql.frac);
      });
      break;
    case Op::kMul:
      elementwise(b, layer, l.inputs[0], l.inputs[1], [&](uint64_t pa, uint64_t pb, uint64_t py, uint64_t len) {
        b.vop(layer, isa::VecOp::mul, pa, pb, py, len, zp_of(0), zp_of(1), 1, 1, ql.add, ql.func, ql.act_zp,
              ql.frac);
      });
      break;
    case Op::kActivation:
      elementwise(b, layer, l.inputs[0], l.inputs[0], [&](uint64_t pa, uint64_t, uint64_t py, uint64_t len) {
        b.vop(layer, isa::VecOp::add, pa, pa, py, len, zp_of(0), 0, 1, 0, ql.add, ql.func, ql.act_zp, ql.frac);
      });
      break;
    case Op::kConcat: concat(b, layer); break;
    case Op::kToken: token(b, layer); break;
    case Op::kZeros: b.zero_fill(layer, layer); break;
    default: break;
  }
}

// One token of each sequence, copied by a vop per sample (a - zp + zp).
void VectorLayers::token(ProgramBuilder& b, int layer) {
  const Layer& l = b.layer(layer);
  const Buffer& x = b.buffer(l.inputs[0]);
  const Buffer& y = b.buffer(layer);
  const int zp = b.qlayer(layer).zp;
  for (int64_t n = 0; n < x.n; ++n)
    b.vop(layer, isa::VecOp::add, x.at(n, 0, l.index), x.at(n, 0, l.index), y.at(n, 0, 0), static_cast<uint64_t>(x.c),
          zp, 0, 1, 0, Requant{kIdentityMult, kIdentityShift}, isa::ActFunc::identity, zp, 0);
}

// Concatenation along the last axis: each input's rows copied (and requantized) into their slice.
void VectorLayers::concat(ProgramBuilder& b, int layer) {
  const Layer& l = b.layer(layer);
  const QLayer& ql = b.qlayer(layer);
  const Buffer& y = b.buffer(layer);
  uint64_t off = 0;
  for (size_t k = 0; k < l.inputs.size(); ++k) {
    const Buffer& x = b.buffer(l.inputs[k]);
    const uint64_t width = static_cast<uint64_t>(x.c);
    for (int64_t n = 0; n < y.n; ++n)
      for (int64_t r = 0; r < y.h; ++r)
        for (int64_t c = 0; c < y.w; ++c)
          b.vop(layer, isa::VecOp::add, x.at(n, r, c), x.at(n, r, c), y.at(n, r, c) + off, width,
                b.qlayer(l.inputs[k]).zp, 0, 1, 0, ql.requant[k], isa::ActFunc::identity, ql.act_zp, 0);
    off += width;
  }
}

template <class Emit>
void VectorLayers::elementwise(ProgramBuilder& b, int layer, int in_a, int in_b, Emit&& emit) {
  const Buffer& a = b.buffer(in_a);
  const Buffer& bb = b.buffer(in_b);
  const Buffer& y = b.buffer(layer);
  const uint64_t row = static_cast<uint64_t>(y.w * y.c);
  if (!a.padded() && !bb.padded() && !y.padded()) {
    const uint64_t total = y.bytes();
    for (uint64_t off = 0; off < total; off += kMaxLen)
      emit(a.base + off, bb.base + off, y.base + off, std::min(kMaxLen, total - off));
    return;
  }
  for (int64_t n = 0; n < y.n; ++n)
    for (int64_t r = 0; r < y.h; ++r) emit(a.at(n, r, 0), bb.at(n, r, 0), y.at(n, r, 0), row);
}

}  // namespace

std::unique_ptr<LayerLowering> vector_layers() { return std::make_unique<VectorLayers>(); }

}  // namespace tpu::compiler
