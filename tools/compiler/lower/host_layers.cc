// Work that goes through the host interface: steps the chip has no unit for
// (softmax, layer normalization), constant tensors, and attention's product of
// two activations, whose second operand the host turns into weight tiles.

#include <algorithm>

#include "isa/host_ops.h"
#include "tools/compiler/lower/layer_lowering.h"

namespace tpu::compiler {

namespace {

class HostLayers : public LayerLowering {
 public:
  bool handles(const Layer& l) const override {
    return l.op == Op::kSoftmax || l.op == Op::kLayerNorm || l.op == Op::kConstant || l.op == Op::kMatMul;
  }
  void lower(ProgramBuilder& b, int layer) const override {
    switch (b.layer(layer).op) {
      case Op::kSoftmax: host_step(b, layer, isa::HostFn::softmax); break;
      case Op::kLayerNorm: host_step(b, layer, isa::HostFn::layernorm); break;
      case Op::kConstant: b.transfer(layer, isa::Opcode::rhm, b.host.constant.at(layer)); break;
      default: matmul(b, layer); break;
    }
  }

 private:
  static void host_step(ProgramBuilder& b, int layer, isa::HostFn fn);
  static void matmul(ProgramBuilder& b, int layer);
};

// The tensor goes to the host, the host computes, the result comes back.
void HostLayers::host_step(ProgramBuilder& b, int layer, isa::HostFn fn) {
  const Layer& l = b.layer(layer);
  const uint64_t cols = static_cast<uint64_t>(l.shape.back()), bytes = b.tensor_bytes(layer);
  const uint64_t scratch = b.host.scratch;
  b.transfer(l.inputs[0], isa::Opcode::whm, scratch, layer);
  if (cols > isa::host::kMaxOperandBytes)
    throw ModelError(b.where(layer) + "rows of " + std::to_string(cols) + " values exceed what one host operation takes");
  // In as many host operations as the operand limit asks (rows are independent).
  const uint64_t rows = bytes / cols, per = isa::host::kMaxOperandBytes / cols;
  for (uint64_t r = 0; r < rows; r += per)
    b.add(layer, instruction(isa::Opcode::hop, {{"fn", static_cast<uint64_t>(fn)},
                                           {"src", scratch + r * cols},
                                           {"dst", scratch + bytes + r * cols},
                                           {"rows", std::min(per, rows - r)},
                                           {"cols", cols},
                                           {"params", b.host.params.at(layer)}}));
  b.transfer(layer, isa::Opcode::rhm, scratch + bytes);
}

// The product of two activations (Layer::heads). Per sample, the host takes
// b out of the unified buffer (transposing it for attention scores) and
// loads it into weight DRAM as tiles; the matrix unit then multiplies a by
// them as by any weights.
void HostLayers::matmul(ProgramBuilder& b, int layer) {
  const Layer& l = b.layer(layer);
  const Buffer& a = b.buffer(l.inputs[0]);
  const Buffer& bt = b.buffer(l.inputs[1]);
  const Buffer& y = b.buffer(layer);
  const uint64_t R = b.R, C = b.C, half = b.half;
  if (a.padded() || bt.padded() || y.padded())
    throw ModelError(b.where(layer) + "matmul of tensors that a padded conv2d or pool also reads is not supported");
  const uint64_t H = static_cast<uint64_t>(l.heads), T = static_cast<uint64_t>(bt.w), F = static_cast<uint64_t>(bt.c);
  const uint64_t d = F / H, S = static_cast<uint64_t>(a.w);
  const uint64_t depth = l.transpose_b ? d : T, width = l.transpose_b ? T : d;  // of each head's b
  const uint64_t row = l.transpose_b ? T : F;  // bytes per row of b as the host holds it
  const uint64_t in = b.host.scratch, tr = b.host.scratch + T * F;
  LayerReport& rep = b.report(layer);
  rep.macs += static_cast<uint64_t>(a.n) * H * S * depth * width;
  for (int64_t n = 0; n < a.n; ++n) {
    b.dma(layer, isa::Opcode::whm, bt.at(n, 0, 0), in, F, T, F);
    if (l.transpose_b) {
      b.add(layer, instruction(isa::Opcode::hop, {{"fn", static_cast<uint64_t>(isa::HostFn::transpose)},
                                             {"src", in},
                                             {"dst", tr},
                                             {"rows", T},
                                             {"cols", F}}));
    }
    // Tiles in the order the multiplies take them; head h's b (depth x width)
    // lies in host memory from `base`, `row` bytes per row.
    std::vector<int64_t> tiles;
    for (uint64_t h = 0; h < H; ++h) {
      const uint64_t base = l.transpose_b ? tr + h * d * T : in + h * d;
      for (uint64_t nt = 0; nt < ceil_div(width, C); ++nt)
        for (uint64_t kt = 0; kt < ceil_div(depth, R); ++kt) {
          tiles.push_back(b.weights.loaded_tile(std::min(R, depth - kt * R), std::min(C, width - nt * C)));
          b.load_tile(layer, tiles.back(), base + kt * R * row + nt * C, row);
        }
    }
    b.flush_loads(layer);
    // Rows of a in chunks that fit half the accumulators; every chunk after the first reads the
    // tiles again (new FIFO entries for the same DRAM).
    const uint64_t NT = ceil_div(width, C), KT = ceil_div(depth, R);
    for (uint64_t h = 0; h < H; ++h)
      for (uint64_t s0 = 0; s0 < S; s0 += half)
        for (uint64_t nt = 0; nt < NT; ++nt) {
          const uint64_t rows = std::min(half, S - s0), acc = b.next_half();
          std::vector<std::function<void()>> mm;
          for (uint64_t kt = 0; kt < KT; ++kt) {
            int64_t t = tiles[(h * NT + nt) * KT + kt];
            if (s0 > 0) t = b.weights.again(t);
            ++rep.tiles;
            const int64_t r0 = static_cast<int64_t>(s0);
            const uint64_t x =
                l.transpose_b ? a.at(n, 0, r0) + h * d + kt * R : a.at(n, static_cast<int64_t>(h), r0) + kt * R;
            const auto m = b.mmul(x, acc, rows, 1, static_cast<uint64_t>(a.c), 0, true, kt > 0);
            mm.push_back([=, &b] { b.add_mmul(layer, m, b.weights[t].k, t); });
          }
          b.interleave(mm);
          const uint64_t w = std::min(C, width - nt * C), lane0 = l.transpose_b ? nt * C : h * d + nt * C;
          const int64_t r0 = static_cast<int64_t>(s0);
          const uint64_t out = (l.transpose_b ? y.at(n, static_cast<int64_t>(h), r0) : y.at(n, 0, r0)) + lane0;
          b.defer([=, &b] { b.activate(layer, acc, rows, w, out, static_cast<uint64_t>(y.c), lane0, true); });
        }
  }
  b.flush_deferred();
}

}  // namespace

std::unique_ptr<LayerLowering> host_layers() { return std::make_unique<HostLayers>(); }

}  // namespace tpu::compiler
