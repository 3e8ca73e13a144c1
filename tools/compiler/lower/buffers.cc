#include "tools/compiler/lower/buffers.h"

#include <algorithm>

#include "isa/footprint.h"

namespace tpu::compiler {

namespace {

std::string where(const Graph& g, size_t layer) { return g.where(g.layers[layer]); }

}  // namespace

BufferPlan plan_buffers(const QGraph& q, const CompileTarget& target) {
  const Graph& g = *q.graph;
  const size_t L = g.layers.size();
  BufferPlan plan;
  std::vector<Buffer>& bufs = plan.buffers;
  std::vector<int>& alias = plan.alias;
  bufs.resize(L);
  alias.assign(L, -1);
  std::vector<int> last_use(L, 0);
  for (size_t i = 0; i < L; ++i) last_use[i] = static_cast<int>(i);
  for (size_t i = 1; i < L; ++i)
    for (int in : g.layers[i].inputs) last_use[static_cast<size_t>(in)] = static_cast<int>(i);
  for (int o : g.outputs) last_use[static_cast<size_t>(o)] = static_cast<int>(L);
  // Geometry and the padding every convolution reading the tensor needs.
  for (size_t i = 0; i < L; ++i) {
    const auto& s = g.layers[i].shape;
    Buffer& b = bufs[i];
    if (s.size() == 4) {
      b.n = s[0], b.h = s[1], b.w = s[2], b.c = s[3];
    } else {
      b.n = s[0], b.c = s[1];
    }
    b.c *= elem_bytes(q, static_cast<int>(i));  // c counts bytes
    for (int input : g.layers[i].inputs)
      if (q.layers[static_cast<size_t>(input)].raw)
        throw ModelError(where(g, i) + "reads the int32 output of '" + g.layers[static_cast<size_t>(input)].name +
                         "'; int32 results only leave the chip");
  }
  for (size_t i = 1; i < L; ++i) {
    const Layer& l = g.layers[i];
    if (l.op != Op::kConv2d && l.op != Op::kMaxPool && l.op != Op::kAvgPool) continue;
    if (!l.padded()) continue;
    Buffer& in = bufs[static_cast<size_t>(l.inputs[0])];
    // A conv2d's or average pool's border is a real 0 (the zero point); a max pool's is -128, below any value.
    const int border = l.op == Op::kMaxPool ? -128 : q.layers[static_cast<size_t>(l.inputs[0])].zp;
    if (in.border && *in.border != border)
      throw ModelError(where(g, i) + "its input's padding would need to hold " + std::to_string(border) +
                       " and, for another reader, " + std::to_string(*in.border) + "; pad one of them explicitly");
    in.border = border;
    in.pt = std::max(in.pt, l.pad_top);
    in.pl = std::max(in.pl, l.pad_left);
    in.pb = std::max(in.pb, l.pad_bottom);
    in.pr = std::max(in.pr, l.pad_right);
  }
  // A flatten reads its input's bytes as they are.
  for (size_t i = 1; i < L; ++i) {
    const Layer& l = g.layers[i];
    if (l.op != Op::kFlatten) continue;
    int src = l.inputs[0];
    while (alias[static_cast<size_t>(src)] >= 0) src = alias[static_cast<size_t>(src)];
    if (bufs[static_cast<size_t>(src)].padded())
      throw ModelError(where(g, i) + "flatten of a tensor a padded conv2d also reads is not supported");
    alias[i] = src;
    last_use[static_cast<size_t>(src)] = std::max(last_use[static_cast<size_t>(src)], last_use[i]);
  }
  // Per-lane tables first, for the whole run; then tensors, first fit by liveness.
  uint64_t table_bytes = 0;
  for (size_t i = 1; i < L; ++i) {
    const Layer& l = g.layers[i];
    if ((l.op == Op::kDense && !l.sparse) || l.op == Op::kConv2d || l.op == Op::kMatMul) {  // a sparse layer's are in its image
      plan.table_at[static_cast<int>(i)] = table_bytes;
      table_bytes += isa::kLaneParamBytes * static_cast<uint64_t>(l.shape.back());
    }
  }
  struct Live {
    uint64_t lo, hi;
    int until;
  };
  std::vector<Live> live;
  uint64_t peak = align(table_bytes);
  const uint64_t ub_size = static_cast<uint64_t>(target.unified_buffer_bytes);
  for (size_t i = 0; i < L; ++i) {
    if (alias[i] >= 0) {
      bufs[i].base = bufs[static_cast<size_t>(alias[i])].base;
      continue;
    }
    live.erase(std::remove_if(live.begin(), live.end(), [&](const Live& v) { return v.until < static_cast<int>(i); }),
               live.end());
    std::sort(live.begin(), live.end(), [](const Live& a, const Live& b) { return a.lo < b.lo; });
    const uint64_t need = align(bufs[i].bytes());
    uint64_t at = align(table_bytes);
    for (const Live& v : live) {
      if (at + need <= v.lo) break;
      at = std::max(at, v.hi);
    }
    if (at + need > ub_size)
      throw UnifiedBufferOverflow(where(g, i) + "needs " + std::to_string(need) + " bytes of unified buffer at offset " +
                                  std::to_string(at) + ", beyond the chip's " + std::to_string(ub_size) +
                                  " (a smaller batch may fit)");
    bufs[i].base = at;
    live.push_back({at, at + need, last_use[i]});
    peak = std::max(peak, at + need);
  }
  plan.peak_bytes = peak;
  plan.tables_bytes = table_bytes;
  return plan;
}

}  // namespace tpu::compiler
