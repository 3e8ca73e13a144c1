// Max, average and global average pooling: the input passes through an
// identity tile into the accumulators, and `act` pools it on the way out.

#include <algorithm>

#include "tools/compiler/lower/layer_lowering.h"

namespace tpu::compiler {

namespace {

class PoolingLayers : public LayerLowering {
 public:
  bool handles(const Layer& l) const override {
    return l.op == Op::kMaxPool || l.op == Op::kGlobalAvgPool || (l.op == Op::kAvgPool && !l.averages_valid_taps());
  }
  void lower(ProgramBuilder& b, int layer) const override;
};

void PoolingLayers::lower(ProgramBuilder& b, int layer) const {
  const Layer& l = b.layer(layer);
  const Buffer& x = b.buffer(l.inputs[0]);
  const Buffer& y = b.buffer(layer);
  const uint64_t half = b.half;
  const bool global = l.op == Op::kGlobalAvgPool;
  const uint64_t kh = global ? static_cast<uint64_t>(x.h) : static_cast<uint64_t>(l.kh);
  const uint64_t kw = global ? static_cast<uint64_t>(x.w) : static_cast<uint64_t>(l.kw);
  const uint64_t sh = global ? 1 : static_cast<uint64_t>(l.sh), sw = global ? 1 : static_cast<uint64_t>(l.sw);
  // A padded pool reads its input's border as part of each line.
  const int64_t pt = global ? 0 : l.pad_top, pl = global ? 0 : l.pad_left;
  const uint64_t W = static_cast<uint64_t>(x.w + pl + (global ? 0 : l.pad_right)), C = static_cast<uint64_t>(x.c);
  const uint64_t OH = global ? 1 : static_cast<uint64_t>(y.h), OW = global ? 1 : static_cast<uint64_t>(y.w);
  if (kh > 255 || kw > 255) throw ModelError(b.where(layer) + "pooling windows are limited to 255 x 255");
  // Output lines per item: whole windows in half the accumulators; one line when the output is padded
  // sideways. When even one line of windows across the image does not fit, strips of `strip` output
  // columns go one at a time.
  uint64_t per = (half / W >= kh) ? (half / W - kh) / sh + 1 : 0;
  uint64_t strip = OW;
  const bool striped = per == 0;
  if (striped) {
    if (global || half / kh < kw)
      throw ModelError(b.where(layer) + "one " + std::to_string(kh) + " x " + std::to_string(kw) +
                       " pooling window does not fit half the accumulators (" + std::to_string(half) + " rows)");
    strip = (half / kh - kw) / sw + 1;
    per = 1;
  }
  if (y.pl || y.pr) per = 1;
  const uint64_t block = std::min({b.R, b.C, C});
  const isa::Pool kind = l.op == Op::kMaxPool ? isa::Pool::max : isa::Pool::avg;
  for (uint64_t cb = 0; cb < ceil_div(C, block); ++cb) {
    const uint64_t ch = std::min(block, C - cb * block);
    for (uint64_t n = 0; n < static_cast<uint64_t>(x.n); ++n)
      for (uint64_t oy = 0; oy < OH; oy += per)
        for (uint64_t ox = 0; ox < OW; ox += strip) {
          const uint64_t lines = std::min(per, OH - oy), in_lines = (lines - 1) * sh + kh;
          // A strip reads the columns its windows cover; a whole line reads every column of the image.
          const uint64_t cols = std::min(strip, OW - ox), width = striped ? (cols - 1) * sw + kw : W;
          const int64_t t = b.weights.tile("identity" + std::to_string(ch), ch, ch,
                                           [](uint64_t r, uint64_t c) -> int8_t { return r == c ? 1 : 0; });
          const uint64_t acc = b.next_half();
          b.add_mmul(layer,
                     b.mmul(x.at(static_cast<int64_t>(n), static_cast<int64_t>(oy * sh) - pt,
                                 static_cast<int64_t>(ox * sw) - pl) +
                                cb * block,
                            acc, width, in_lines, C, static_cast<uint64_t>(x.wp()) * C, true, false),
                     ch, t);
          b.prepare_output(layer);
          const uint64_t dst =
              global ? y.base + n * static_cast<uint64_t>(y.c) + cb * block
                     : y.at(static_cast<int64_t>(n), static_cast<int64_t>(oy), static_cast<int64_t>(ox)) + cb * block;
          const auto act = instruction(isa::Opcode::act, {{"acc", acc},
                                                     {"ub", dst},
                                                     {"rows", in_lines * width},
                                                     {"cols", ch},
                                                     {"stride", y.c},
                                                     {"pool", static_cast<uint64_t>(kind)},
                                                     {"pool_h", kh},
                                                     {"pool_w", kw},
                                                     {"pool_sy", sh},
                                                     {"pool_sx", sw},
                                                     {"width", width},
                                                     {"mult", kIdentityMult},
                                                     {"shift", kIdentityShift}});
          b.add(layer, act);
        }
  }
}

}  // namespace

std::unique_ptr<LayerLowering> pooling_layers() { return std::make_unique<PoolingLayers>(); }

}  // namespace tpu::compiler
