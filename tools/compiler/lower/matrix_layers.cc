// Dense and conv2d layers on the matrix unit: weight tiles of at most R x C
// in the order the multiplies take them, work items (rows of samples, or
// runs of output lines) packed into accumulator halves, and activations of
// one half interleaved with the multiplies into the other.

#include <algorithm>

#include "tools/compiler/lower/layer_lowering.h"

namespace tpu::compiler {

namespace {

class MatrixLayers : public LayerLowering {
 public:
  bool handles(const Layer& l) const override {
    return (l.op == Op::kDense && !l.sparse) || l.op == Op::kConv2d || (l.op == Op::kAvgPool && l.averages_valid_taps());
  }
  void lower(ProgramBuilder& b, int layer) const override {
    if (b.layer(layer).op == Op::kDense)
      dense(b, layer);
    else
      conv(b, layer);
  }

 private:
  static void dense(ProgramBuilder& b, int layer);
  static void conv(ProgramBuilder& b, int layer);
  static void write_rows(ProgramBuilder& b, int layer, uint64_t n, uint64_t oy, uint64_t lines, uint64_t ox0,
                         uint64_t width, uint64_t acc, uint64_t cols, uint64_t ch0, bool per_lane);
  static void write_averages(ProgramBuilder& b, int layer, uint64_t n, uint64_t oy, uint64_t lines, uint64_t ox0,
                             uint64_t width, uint64_t acc, uint64_t cols, uint64_t ch0);
};

void MatrixLayers::dense(ProgramBuilder& b, int layer) {
  const Layer& l = b.layer(layer);
  const QLayer& ql = b.qlayer(layer);
  const Buffer& x = b.buffer(l.inputs[0]);
  const Buffer& y = b.buffer(layer);
  const uint64_t R = b.R, C = b.C, half = b.half;
  const uint64_t K = static_cast<uint64_t>(x.c), M = static_cast<uint64_t>(l.units);
  const uint64_t N = static_cast<uint64_t>(x.n * x.h * x.w);  // rows: samples, or every pixel (token)
  const uint64_t e = b.elem_bytes(layer);
  if (x.padded() || y.padded())
    throw ModelError(b.where(layer) + "dense on an image that a padded conv2d or pool also reads is not supported");
  struct Item {
    uint64_t b0, rows, off = 0;
  };
  std::vector<Item> items;
  for (uint64_t n = 0; n < N; n += half) items.push_back({n, std::min(half, N - n)});
  LayerReport& rep = b.report(layer);
  rep.macs += N * K * M / b.planes(layer);
  // An LSTM gate at a later time step reads the tiles of the first step's when its weights are the same.
  const bool shared = ql.same_weights;
  const int owner = shared ? l.shares : layer;
  rep.weight_bytes = shared ? 0 : K * M;
  for (auto& p : b.pack(items, layer)) {
    uint64_t off = 0;
    for (Item& it : p) it.off = off, off += it.rows;
    for (uint64_t nt = 0; nt < ceil_div(M, C); ++nt) {
      const uint64_t n = std::min(C, M - nt * C), acc = b.next_half();
      std::vector<std::function<void()>> mm;
      for (uint64_t kt = 0; kt < ceil_div(K, R); ++kt) {
        const uint64_t k = std::min(R, K - kt * R);
        const int64_t t =
            b.weights.tile("d" + std::to_string(owner) + "." + std::to_string(kt) + "." + std::to_string(nt), k, n,
                           [&](uint64_t r, uint64_t c) { return ql.weights[(kt * R + r) * M + nt * C + c]; });
        ++rep.tiles;
        for (size_t i = 0; i < p.size(); ++i) {
          const auto m = b.mmul(x.base + p[i].b0 * K + kt * R, acc + p[i].off, p[i].rows, 1, K, 0, i == 0, kt > 0);
          mm.push_back([=, &b] { b.add_mmul(layer, m, k, t); });
        }
      }
      b.interleave(mm);
      for (const Item& it : p)
        b.defer([=, &b] {
          b.activate(layer, acc + it.off, it.rows, n, y.base + (it.b0 * M + nt * C) * e, M * e, nt * C, true);
        });
    }
  }
  b.flush_deferred();
}

void MatrixLayers::conv(ProgramBuilder& b, int layer) {
  const Layer& l = b.layer(layer);
  const QLayer& ql = b.qlayer(layer);
  const Buffer& x = b.buffer(l.inputs[0]);
  const Buffer& y = b.buffer(layer);
  const uint64_t R = b.R, C = b.C, half = b.half;
  const uint64_t OH = static_cast<uint64_t>(y.h), OW = static_cast<uint64_t>(y.w);
  // An average pool over the taps inside the image runs as a depthwise convolution by ones.
  const bool averages = l.averages_valid_taps();
  const uint64_t Cin = static_cast<uint64_t>(x.c), Cout = averages ? Cin : static_cast<uint64_t>(l.units);
  const uint64_t groups = averages ? Cin : static_cast<uint64_t>(l.groups);
  const uint64_t cin_g = Cin / groups, cout_g = Cout / groups;
  const bool depthwise = groups > 1 && cin_g == 1 && cout_g == 1;
  LayerReport& rep = b.report(layer);
  rep.macs += averages ? 0
                       : static_cast<uint64_t>(y.n) * OH * OW * Cout * cin_g * static_cast<uint64_t>(l.kh * l.kw) /
                             b.planes(layer);
  rep.weight_bytes = averages ? 0 : static_cast<uint64_t>(weight_elements(b.g, l));
  // Work items: runs of output lines of one image; when one line exceeds half the accumulators,
  // strips of a line (ox0 and width).
  struct Item {
    uint64_t n, oy, lines, rows, ox0, width, off = 0;
  };
  const uint64_t max_lines = std::max<uint64_t>(1, half / OW), strip = std::min(OW, half);
  std::vector<Item> items;
  for (uint64_t n = 0; n < static_cast<uint64_t>(y.n); ++n)
    for (uint64_t oy = 0; oy < OH; oy += max_lines)
      for (uint64_t ox = 0; ox < OW; ox += strip) {
        const uint64_t lines = std::min(max_lines, OH - oy), width = std::min(strip, OW - ox);
        items.push_back({n, oy, lines, lines * width, ox, width});
      }
  // Channel blocks: a group of groups for depthwise (diagonal tiles), else one group at a time.
  const uint64_t block = depthwise ? std::min(R, C) : 0;
  const uint64_t passes = depthwise ? ceil_div(Cin, block) : groups;
  for (auto& p : b.pack(items, layer)) {
    uint64_t off = 0;
    for (Item& it : p) it.off = off, off += it.rows;
    for (uint64_t gi = 0; gi < passes; ++gi) {
      const uint64_t in0 = depthwise ? gi * block : gi * cin_g;
      const uint64_t out0 = depthwise ? gi * block : gi * cout_g;
      const uint64_t in_ch = depthwise ? std::min(block, Cin - in0) : cin_g;
      const uint64_t out_ch = depthwise ? in_ch : cout_g;
      for (uint64_t nt = 0; nt < ceil_div(out_ch, C); ++nt) {
        const uint64_t n = std::min(C, out_ch - nt * C), acc = b.next_half();
        bool first = true;
        std::vector<std::function<void()>> mm;
        // With unit dilation and all channels in one group, the kw taps of a kernel row are
        // contiguous bytes of the input row: they form one contraction of kw * Cin values,
        // so a layer with few channels still fills the array's rows.
        const bool fused = !depthwise && groups == 1 && l.dw == 1;
        const uint64_t taps_x = fused ? 1 : static_cast<uint64_t>(l.kw);
        const uint64_t depth = fused ? static_cast<uint64_t>(l.kw) * in_ch : in_ch;
        for (int64_t dy = 0; dy < l.kh; ++dy)
          for (uint64_t dx = 0; dx < taps_x; ++dx)
            for (uint64_t kt = 0; kt < ceil_div(depth, R); ++kt) {
              const uint64_t k = std::min(R, depth - kt * R);
              const std::string key = "c" + std::to_string(layer) + "." + std::to_string(gi) + "." +
                                      std::to_string(nt) + "." + std::to_string(dy) + "." + std::to_string(dx) + "." +
                                      std::to_string(kt);
              const int64_t t = b.weights.tile(key, k, n, [&](uint64_t r, uint64_t c) -> int8_t {
                const uint64_t oc = out0 + nt * C + c;
                if (depthwise) return r + kt * R == nt * C + c ? ql.weights[(dy * l.kw + dx) * Cout + oc] : 0;
                // Row f of the contraction: tap dx + f / cin_g, channel f % cin_g (fused: dx is 0).
                return ql.weights[((dy * l.kw + static_cast<int64_t>(dx)) * cin_g + kt * R + r) * Cout + oc];
              });
              ++rep.tiles;
              for (size_t i = 0; i < p.size(); ++i) {
                const Item& it = p[i];
                const uint64_t ub =
                    x.at(static_cast<int64_t>(it.n), static_cast<int64_t>(it.oy) * l.sh + dy * l.dh - l.pad_top,
                         static_cast<int64_t>(it.ox0) * l.sw + static_cast<int64_t>(dx) * l.dw - l.pad_left) +
                    in0 + kt * R;
                const auto m = b.mmul(ub, acc + it.off, it.width, it.lines, static_cast<uint64_t>(l.sw) * Cin,
                                      static_cast<uint64_t>(l.sh * x.wp()) * Cin, i == 0, !first);
                mm.push_back([=, &b] { b.add_mmul(layer, m, k, t); });
              }
              first = false;
            }
        b.interleave(mm);
        for (const Item& it : p)
          b.defer([=, &b] {
            if (averages)
              write_averages(b, layer, it.n, it.oy, it.lines, it.ox0, it.width, acc + it.off, n, out0 + nt * C);
            else
              write_rows(b, layer, it.n, it.oy, it.lines, it.ox0, it.width, acc + it.off, n, out0 + nt * C, true);
          });
      }
    }
  }
  b.flush_deferred();
}

// Activates `lines` output lines of image n, pixels [ox0, ox0 + width) of
// each, from acc: one act when the output rows are contiguous, else one per line.
void MatrixLayers::write_rows(ProgramBuilder& b, int layer, uint64_t n, uint64_t oy, uint64_t lines, uint64_t ox0,
                              uint64_t width, uint64_t acc, uint64_t cols, uint64_t ch0, bool per_lane) {
  const Buffer& y = b.buffer(layer);
  const uint64_t stride = static_cast<uint64_t>(y.c), e = b.elem_bytes(layer);
  const int64_t x0 = static_cast<int64_t>(ox0);
  if (y.pl == 0 && y.pr == 0 && (lines == 1 || width == static_cast<uint64_t>(y.w))) {
    b.activate(layer, acc, lines * width, cols, y.at(static_cast<int64_t>(n), static_cast<int64_t>(oy), x0) + ch0 * e,
               stride, ch0, per_lane);
    return;
  }
  for (uint64_t line = 0; line < lines; ++line)
    b.activate(layer, acc + line * width, width, cols,
               y.at(static_cast<int64_t>(n), static_cast<int64_t>(oy + line), x0) + ch0 * e, stride, ch0, per_lane);
}

// Window sums of an average pool that does not count its padding, each
// divided by its taps inside the image: one act per run of output pixels
// with the same count.
void MatrixLayers::write_averages(ProgramBuilder& b, int layer, uint64_t n, uint64_t oy, uint64_t lines,
                                  uint64_t ox0, uint64_t width, uint64_t acc, uint64_t cols, uint64_t ch0) {
  const Layer& l = b.layer(layer);
  const Buffer& x = b.buffer(l.inputs[0]);
  const Buffer& y = b.buffer(layer);
  // Taps of a window starting at `start` (padded coordinates made unpadded) inside [0, size).
  auto inside = [](int64_t start, int64_t k, int64_t size) {
    return std::max<int64_t>(0, std::min(start + k, size) - std::max<int64_t>(start, 0));
  };
  for (uint64_t line = 0; line < lines; ++line) {
    const int64_t yy = static_cast<int64_t>(oy + line);
    const int64_t rows_in = inside(yy * l.sh - l.pad_top, l.kh, x.h);
    for (uint64_t ox = ox0; ox < ox0 + width;) {
      const auto count = [&](uint64_t px) {
        return rows_in * inside(static_cast<int64_t>(px) * l.sw - l.pad_left, l.kw, x.w);
      };
      uint64_t end = ox + 1;
      while (end < ox0 + width && count(end) == count(ox)) ++end;
      b.activate(layer, acc + line * width + (ox - ox0), end - ox, cols,
                 y.at(static_cast<int64_t>(n), yy, static_cast<int64_t>(ox)) + ch0, static_cast<uint64_t>(y.c), ch0,
                 false, divide_by(count(ox)));
      ox = end;
    }
  }
}

}  // namespace

std::unique_ptr<LayerLowering> matrix_layers() { return std::make_unique<MatrixLayers>(); }

}  // namespace tpu::compiler
