#include "tools/compiler/lower.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <optional>

#include "isa/encoding.h"
#include "isa/footprint.h"
#include "isa/host_ops.h"
#include "tools/compiler/syncs.h"

namespace tpu::compiler {

namespace {

constexpr uint64_t kAlign = 64;
using isa::kLaneParamBytes;
constexpr uint64_t kMaxLen = (uint64_t{1} << 24) - 1;  // len fields are 24 bits
constexpr int32_t kIdentityMult = int32_t{1} << 30;    // with shift -1: t * 2^30 / 2^30 = t
constexpr int32_t kIdentityShift = -1;

uint64_t align(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }
uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// Where a tensor lives in the unified buffer: NHWC with a border of padding
// (zeros) that convolutions reading it need. Vectors are N x 1 x 1 x F.
struct Buffer {
  uint64_t base = 0;
  int64_t n = 1, h = 1, w = 1, c = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;
  std::optional<int> border;  // what the padding holds, once a reader asks for it
  int64_t hp() const { return h + pt + pb; }
  int64_t wp() const { return w + pl + pr; }
  uint64_t bytes() const { return static_cast<uint64_t>(n * hp() * wp() * c); }
  bool padded() const { return pt || pl || pb || pr; }
  // Address of pixel (y, x) of image b, in unpadded coordinates (the border is at negative ones).
  uint64_t at(int64_t b, int64_t y, int64_t x) const {
    return base + static_cast<uint64_t>(((b * hp() + y + pt) * wp() + x + pl) * c);
  }
};

// An instruction before scheduling: the tile it swaps in (if any) and what memory it touches.
struct Pending {
  isa::Instruction insn;
  int64_t tile = -1;
  isa::Footprint footprint;
  int layer = -1;
};

struct Tile {
  uint64_t k, n, dram;
  int64_t fill = -1;  // a tile the program loads (ldw): the pending instruction that writes it last
};

class Lowering {
 public:
  Lowering(const QGraph& q, const CompileTarget& target, int64_t passes)
      : passes_(passes),
        q_(q),
        g_(*q.graph),
        target_(target),
        R_(static_cast<uint64_t>(target.rows)),
        C_(static_cast<uint64_t>(target.cols)),
        half_(static_cast<uint64_t>(target.accumulator_entries) / 2) {
    // Room for the int8 weights (a hint: depthwise and pooling tiles take more).
    if (q_.values) {
      uint64_t weights = 0;
      for (const QLayer& l : q_.layers) weights += l.weights.size();
      run_.reserve(std::min<uint64_t>(weights, kRunBytes + R_ * C_));
    }
  }

  Lowered run() {
    plan_buffers();
    emit_program();
    schedule();
    // The network's own work, for throughput: a layer's MACs by its shapes (a convolution's taps
    // over padding included, as is usual), not the identity tiles of pooling or the zeros of
    // depthwise diagonal tiles. Per layer for one pass (each pass's rows add up); in total for all.
    uint64_t macs = 0;
    for (size_t i = 0; i < g_.layers.size(); ++i) {
      const uint64_t m = out_.report.layers[i].macs;
      if (m)
        out_.program.metadata.emplace_back("macs." + std::to_string(i),
                                           std::to_string(m / static_cast<uint64_t>(passes_)));
      macs += m;
    }
    out_.program.metadata.emplace_back("macs", std::to_string(macs));
    return std::move(out_);
  }

 private:
  // ---------------------------------------------------------------- helpers

  std::string where(int layer) const { return g_.where(g_.layers[static_cast<size_t>(layer)]); }

  isa::Instruction make(isa::Opcode op) { return isa::make_instruction(isa::spec_of(op)); }
  // An instruction with the named fields set.
  isa::Instruction make(isa::Opcode op, std::initializer_list<std::pair<const char*, int64_t>> fields) {
    isa::Instruction insn = make(op);
    for (const auto& [name, value] : fields) insn.set(name, value);
    return insn;
  }

  // An instruction in program order; an mmul multiplies by a tile of `tile_k` rows (the
  // tile it swaps in, `tile`, or the one active).
  void add(int layer, isa::Instruction insn, int64_t tile = -1, uint64_t tile_k = 0) {
    for (size_t i = 0; i < insn.fields().size; ++i) {
      const std::string problem = isa::check_value(insn.fields()[i], insn.values[i]);
      if (!problem.empty())
        throw ModelError(where(layer) + "does not fit the instruction set: " + std::string(insn.spec->mnemonic) + " " +
                         problem);
    }
    pending_.push_back({insn, tile, isa::footprint(isa::encode(insn), isa::ChipShape{tile_k}), layer});
    ++out_.report.layers[static_cast<size_t>(layer)].instructions;
  }

  // A weight tile: rows [r0, r0 + k) x columns [c0, c0 + n) of `w`, a matrix
  // `cols` wide, placed in DRAM once per distinct key.
  template <class Weight>
  int64_t tile(const std::string& key, uint64_t k, uint64_t n, Weight&& w) {
    auto it = tile_at_.find(key);
    uint64_t dram;
    if (it != tile_at_.end()) {
      dram = it->second;
    } else {
      dram = dram_top_;
      if (q_.values) {
        if (run_.size() >= kRunBytes) flush_weights();  // bounded: the image holds the rest
        if (run_.empty()) run_at_ = dram;
        const size_t at = run_.size();
        run_.resize(at + k * n);
        for (uint64_t r = 0; r < k; ++r)
          for (uint64_t c = 0; c < n; ++c) run_[at + r * n + c] = static_cast<uint8_t>(w(r, c));
      }
      dram_top_ += k * n;
      tile_at_[key] = dram;
    }
    tiles_.push_back({k, n, dram});
    return static_cast<int64_t>(tiles_.size()) - 1;
  }

  // The weight tiles placed back to back since the last gap, written into the program's DRAM image
  // in one piece (tile by tile, the image would grow and copy its segment again and again).
  void flush_weights() {
    if (!run_.empty()) out_.program.dram.write(run_at_, run_);
    run_.clear();
  }

  // A tile whose bytes the program itself writes into DRAM (through ldw) before reading it.
  int64_t loaded_tile(uint64_t k, uint64_t n) {
    flush_weights();  // its bytes are not in the image
    tiles_.push_back({k, n, dram_top_});
    dram_top_ += k * n;
    return static_cast<int64_t>(tiles_.size()) - 1;
  }

  uint64_t next_half() { return (half_flip_ ^= 1) * half_; }

  // ---------------------------------------------------------------- buffers

  void plan_buffers() {
    const size_t L = g_.layers.size();
    bufs_.resize(L);
    alias_.assign(L, -1);
    std::vector<int> last_use(L, 0);
    for (size_t i = 0; i < L; ++i) last_use[i] = static_cast<int>(i);
    for (size_t i = 1; i < L; ++i)
      for (int in : g_.layers[i].inputs) last_use[static_cast<size_t>(in)] = static_cast<int>(i);
    for (int o : g_.outputs) last_use[static_cast<size_t>(o)] = static_cast<int>(L);
    // Geometry and the padding every convolution reading the tensor needs.
    for (size_t i = 0; i < L; ++i) {
      const auto& s = g_.layers[i].shape;
      Buffer& b = bufs_[i];
      if (s.size() == 4) {
        b.n = s[0], b.h = s[1], b.w = s[2], b.c = s[3];
      } else {
        b.n = s[0], b.c = s[1];
      }
      b.c *= elem_bytes(static_cast<int>(i));  // c counts bytes
      for (int input : g_.layers[i].inputs)
        if (q_.layers[static_cast<size_t>(input)].raw)
          throw ModelError(where(static_cast<int>(i)) + "reads the int32 output of '" +
                           g_.layers[static_cast<size_t>(input)].name + "'; int32 results only leave the chip");
    }
    for (size_t i = 1; i < L; ++i) {
      const Layer& l = g_.layers[i];
      if (l.op != Op::kConv2d && l.op != Op::kMaxPool && l.op != Op::kAvgPool) continue;
      if (!l.padded()) continue;
      Buffer& in = bufs_[static_cast<size_t>(l.inputs[0])];
      // A conv2d's or average pool's border is a real 0 (the zero point); a max pool's is -128, below any value.
      const int border = l.op == Op::kMaxPool ? -128 : q_.layers[static_cast<size_t>(l.inputs[0])].zp;
      if (in.border && *in.border != border)
        throw ModelError(where(static_cast<int>(i)) + "its input's padding would need to hold " +
                         std::to_string(border) + " and, for another reader, " + std::to_string(*in.border) +
                         "; pad one of them explicitly");
      in.border = border;
      in.pt = std::max(in.pt, l.pad_top);
      in.pl = std::max(in.pl, l.pad_left);
      in.pb = std::max(in.pb, l.pad_bottom);
      in.pr = std::max(in.pr, l.pad_right);
    }
    // A flatten reads its input's bytes as they are.
    for (size_t i = 1; i < L; ++i) {
      const Layer& l = g_.layers[i];
      if (l.op != Op::kFlatten) continue;
      int src = l.inputs[0];
      while (alias_[static_cast<size_t>(src)] >= 0) src = alias_[static_cast<size_t>(src)];
      if (bufs_[static_cast<size_t>(src)].padded())
        throw ModelError(where(static_cast<int>(i)) +
                         "flatten of a tensor a padded conv2d also reads is not supported");
      alias_[i] = src;
      last_use[static_cast<size_t>(src)] = std::max(last_use[static_cast<size_t>(src)], last_use[i]);
    }
    // Per-lane tables first, for the whole run; then tensors, first fit by liveness.
    uint64_t table_bytes = 0;
    for (size_t i = 1; i < L; ++i) {
      const Layer& l = g_.layers[i];
      if (l.op == Op::kDense || l.op == Op::kConv2d || l.op == Op::kMatMul) {
        table_at_[static_cast<int>(i)] = table_bytes;
        table_bytes += kLaneParamBytes * static_cast<uint64_t>(l.shape.back());
      }
    }
    table_base_ = 0;
    struct Live {
      uint64_t lo, hi;
      int until;
    };
    std::vector<Live> live;
    uint64_t peak = align(table_bytes);
    const uint64_t ub_size = static_cast<uint64_t>(target_.unified_buffer_bytes);
    for (size_t i = 0; i < L; ++i) {
      if (alias_[i] >= 0) {
        Buffer& b = bufs_[i];
        b.base = bufs_[static_cast<size_t>(alias_[i])].base;
        continue;
      }
      live.erase(std::remove_if(live.begin(), live.end(), [&](const Live& v) { return v.until < static_cast<int>(i); }),
                 live.end());
      std::sort(live.begin(), live.end(), [](const Live& a, const Live& b) { return a.lo < b.lo; });
      const uint64_t need = align(bufs_[i].bytes());
      uint64_t at = align(table_bytes);
      for (const Live& v : live) {
        if (at + need <= v.lo) break;
        at = std::max(at, v.hi);
      }
      if (at + need > ub_size)
        throw UnifiedBufferOverflow(where(static_cast<int>(i)) + "needs " + std::to_string(need) +
                                    " bytes of unified buffer at offset " + std::to_string(at) +
                                    ", beyond the chip's " + std::to_string(ub_size) + " (a smaller batch may fit)");
      bufs_[i].base = at;
      live.push_back({at, at + need, last_use[i]});
      peak = std::max(peak, at + need);
    }
    out_.report.ub_peak_bytes = peak;
    tables_bytes_ = table_bytes;
  }

  // ---------------------------------------------------------------- code

  void emit_program() {
    out_.report.layers.resize(g_.layers.size());
    for (size_t i = 0; i < g_.layers.size(); ++i) {
      out_.report.layers[i].name = g_.layers[i].name;
      out_.report.layers[i].op = op_name(g_.layers[i].op);
    }
    auto& meta = out_.program.metadata;
    meta.emplace_back("model", g_.name);
    meta.emplace_back("batch", std::to_string(g_.layers[0].shape[0] * passes_));
    if (!q_.values) meta.emplace_back(isa::kTimingOnlyKey, "yes");
    for (size_t i = 0; i < g_.layers.size(); ++i) meta.emplace_back("layer." + std::to_string(i), g_.layers[i].name);

    // Host memory: the input, then the outputs, then the per-lane tables.
    uint64_t host = 0;
    const Layer& in = g_.layers[0];
    const uint64_t passes = static_cast<uint64_t>(passes_);
    add_tensor(in.name, isa::TensorRole::kInput, 0, host);
    host = align(host + static_cast<uint64_t>(elements(in.shape)) * passes);
    for (int o : g_.outputs) {
      output_host_[o] = host;
      add_tensor(g_.layers[static_cast<size_t>(o)].name, isa::TensorRole::kOutput, o, host);
      host = align(host + tensor_bytes(o) * passes);
    }
    const uint64_t tables_host = host;
    write_tables(tables_host);
    host = align(tables_host + tables_bytes_);
    // Constant tensors travel in the host image too.
    for (size_t i = 1; i < g_.layers.size(); ++i) {
      if (g_.layers[i].op != Op::kConstant) continue;
      const auto& data = q_.layers[i].weights;
      if (q_.values) out_.program.host.write(host, reinterpret_cast<const uint8_t*>(data.data()), data.size());
      constant_host_[static_cast<int>(i)] = host;
      host = align(host + tensor_bytes(static_cast<int>(i)));
    }
    // Parameters of the host's steps, then the one scratch area they all use in turn
    // (the host interface runs its instructions in order).
    uint64_t scratch = 0;
    for (size_t i = 1; i < g_.layers.size(); ++i) {
      const Layer& l = g_.layers[i];
      const auto& params = q_.layers[i].host_params;
      if (!params.empty()) {
        if (q_.values) out_.program.host.write(host, params);
        params_host_[static_cast<int>(i)] = host;
        host = align(host + params.size());
      }
      if (l.op == Op::kSoftmax || l.op == Op::kLayerNorm)
        scratch = std::max(scratch, 2 * tensor_bytes(static_cast<int>(i)));
      if (l.op == Op::kMatMul) {  // one sample's b and, for transpose_b, its transpose
        const auto& b = g_.layers[static_cast<size_t>(l.inputs[1])].shape;
        scratch = std::max(scratch, 2 * static_cast<uint64_t>(b[2] * b[3]));
      }
    }
    scratch_host_ = host;
    host = align(host + scratch);

    tag(0);
    if (q_.rounding != isa::Rounding::half_away) {
      add(0, make(isa::Opcode::setcfg, {{"reg", int64_t(isa::CfgReg::round)}, {"value", int64_t(q_.rounding)}}));
    }
    if (tables_bytes_ > 0) {
      dma(0, isa::Opcode::rhm, table_base_, tables_host, tables_bytes_, 1, 0);
    }
    for (uint64_t pass = 0; pass < passes; ++pass) {
      // Zero borders are checked again: another pass's buffers may have overwritten them.
      prepared_.clear();
      if (pass > 0) tag(0);
      transfer(0, isa::Opcode::rhm, pass * static_cast<uint64_t>(elements(in.shape)));
      emit_layers();
      for (int o : g_.outputs) transfer(o, isa::Opcode::whm, output_host_[o] + pass * tensor_bytes(o));
    }
    pending_.push_back({make(isa::Opcode::halt), -1, {}, static_cast<int>(g_.layers.size()) - 1});
  }

  void emit_layers() {
    for (size_t i = 1; i < g_.layers.size(); ++i) {
      const int l = static_cast<int>(i);
      tag(l);
      switch (g_.layers[i].op) {
        case Op::kInput: break;
        case Op::kDense: dense(l); break;
        case Op::kConv2d: conv(l); break;
        case Op::kMaxPool: pool(l); break;
        case Op::kAvgPool: g_.layers[i].averages_valid_taps() ? conv(l) : pool(l); break;
        case Op::kGlobalAvgPool: pool(l); break;
        case Op::kAdd: add_layer(l); break;
        case Op::kMul: mul_layer(l); break;
        case Op::kActivation: activation_layer(l); break;
        case Op::kConcat: concat(l); break;
        case Op::kZeros: zero_fill(l, l); break;
        case Op::kConstant: transfer(l, isa::Opcode::rhm, constant_host_.at(l)); break;
        case Op::kFlatten: break;
        case Op::kMatMul: matmul(l); break;
        case Op::kSoftmax: host_step(l, isa::HostFn::softmax); break;
        case Op::kLayerNorm: host_step(l, isa::HostFn::layernorm); break;
        case Op::kToken: token(l); break;
      }
    }
  }

  void add_tensor(const std::string& name, isa::TensorRole role, int layer, uint64_t host) {
    isa::TensorDesc t;
    t.name = name;
    t.role = role;
    t.dtype = q_.layers[static_cast<size_t>(layer)].raw ? isa::DType::kI32 : isa::DType::kI8;
    t.shape = g_.layers[static_cast<size_t>(layer)].shape;
    t.shape[0] *= passes_;
    t.space = isa::Space::kHost;
    t.addr = host;
    t.scale = q_.layers[static_cast<size_t>(layer)].scale;
    t.zero_point = q_.layers[static_cast<size_t>(layer)].zp;
    out_.program.tensors.push_back(t);
  }

  void write_tables(uint64_t host) {
    std::vector<uint8_t> bytes(tables_bytes_);
    auto put = [&](uint64_t at, int32_t v) {
      for (int b = 0; b < 4; ++b) bytes[at + b] = static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * b));
    };
    for (const auto& [layer, off] : table_at_) {
      const QLayer& ql = q_.layers[static_cast<size_t>(layer)];
      for (size_t j = 0; j < ql.bias.size(); ++j) {
        put(off + kLaneParamBytes * j, ql.bias[j]);
        put(off + kLaneParamBytes * j + 4, ql.requant[j].mult);
        put(off + kLaneParamBytes * j + 8, ql.requant[j].shift);
      }
    }
    if (!bytes.empty() && q_.values) out_.program.host.write(host, bytes);
  }

  void tag(int layer) { add(layer, make(isa::Opcode::tag, {{"id", layer}})); }

  // Sets [lo, hi) of the unified buffer to `value`: a product by 0 plus the output zero point.
  void fill_range(int layer, uint64_t lo, uint64_t hi, int value = 0) {
    for (uint64_t at = lo; at < hi; at += kMaxLen) {
      const uint64_t len = std::min(kMaxLen, hi - at);
      const auto v = make(isa::Opcode::vop, {{"op", int64_t(isa::VecOp::mul)},
                                             {"a", int64_t(at)},
                                             {"b", int64_t(at)},
                                             {"dst", int64_t(at)},
                                             {"len", int64_t(len)},
                                             {"mult", 0},
                                             {"zp", value}});
      add(layer, v);
    }
  }

  void zero_fill(int layer, int tensor) {
    const Buffer& b = bufs_[static_cast<size_t>(tensor)];
    fill_range(layer, b.base, b.base + b.bytes());
  }

  // Before a layer's first write to its buffer: a padded buffer needs a border
  // of the tensor's zero point, a real 0 (its producer writes only the
  // interior). A border set earlier for a buffer of the same shape and zero
  // point at the same place, and untouched since, still holds.
  void prepare_output(int layer) {
    if (prepared_[layer] || alias_[static_cast<size_t>(layer)] >= 0) return;
    prepared_[layer] = true;
    const Buffer& b = bufs_[static_cast<size_t>(layer)];
    const int zp = b.border.value_or(0);
    const std::array<int64_t, 10> shape = {b.n, b.h, b.w, b.c, b.pt, b.pl, b.pb, b.pr, static_cast<int64_t>(b.base),
                                           zp};
    for (auto it = zeroed_.begin(); it != zeroed_.end();) {
      const Buffer& z = it->second.first;
      const bool same = it->second.second == shape;
      if (!same && z.base < b.base + b.bytes() && b.base < z.base + z.bytes())
        it = zeroed_.erase(it);
      else
        ++it;
    }
    if (!b.padded()) return;
    if (zeroed_.count(b.base) && zeroed_[b.base].second == shape) return;
    for (int64_t n = 0; n < b.n; ++n) {
      fill_range(layer, b.at(n, -b.pt, -b.pl), b.at(n, 0, 0), zp);
      for (int64_t r = 0; r + 1 < b.h; ++r) fill_range(layer, b.at(n, r, b.w), b.at(n, r + 1, 0), zp);
      fill_range(layer, b.at(n, b.h - 1, b.w), b.at(n, b.h + b.pb - 1, b.w + b.pr), zp);
    }
    zeroed_[b.base] = {b, shape};
  }

  // rhm of the input or whm of an output: one block per image row of the unpadded tensor.
  // Its instructions count for `layer` (by default the tensor's own).
  void transfer(int tensor, isa::Opcode op, uint64_t host, int layer = -1) {
    if (op == isa::Opcode::rhm) prepare_output(tensor);
    const Buffer& b = bufs_[static_cast<size_t>(tensor)];
    const uint64_t row = static_cast<uint64_t>(b.w * b.c);
    const int by = layer >= 0 ? layer : tensor;
    if (!b.padded() && row * static_cast<uint64_t>(b.h * b.n) <= kMaxLen) {
      dma(by, op, b.base, host, row * static_cast<uint64_t>(b.h * b.n), 1, 0);
      return;
    }
    for (int64_t n = 0; n < b.n; ++n)
      dma(by, op, b.at(n, 0, 0), host + static_cast<uint64_t>(n * b.h) * row, row, static_cast<uint64_t>(b.h),
          static_cast<uint64_t>(b.wp() * b.c));
  }

  // One rhm or whm: `repeat` blocks of `len` bytes, `ub_stride` apart in the
  // unified buffer and back to back in host memory.
  void dma(int layer, isa::Opcode op, uint64_t ub, uint64_t host, uint64_t len, uint64_t repeat, uint64_t ub_stride) {
    const auto x = make(
        op,
        {{"host", host}, {"ub", ub}, {"len", len}, {"repeat", repeat}, {"host_stride", len}, {"ub_stride", ub_stride}});
    add(layer, x);
  }

  // Int8 weight planes a layer's weights run as (ONNX integer weights outside int8), each over a
  // copy of the input: the network's products are a plane's share of the array's.
  uint64_t planes(int layer) const {
    const auto& given = g_.layers[static_cast<size_t>(layer)].given;
    return given ? static_cast<uint64_t>(given->planes) : 1;
  }

  // Bytes per element of a layer's output: 4 for int32 sums, else 1.
  uint64_t elem_bytes(int layer) const { return q_.layers[static_cast<size_t>(layer)].raw ? 4 : 1; }
  // Bytes of a layer's whole (unpadded) output in host memory.
  uint64_t tensor_bytes(int layer) const {
    return static_cast<uint64_t>(elements(g_.layers[static_cast<size_t>(layer)].shape)) * elem_bytes(layer);
  }

  // One activation of `rows` accumulator rows (from acc) to unified-buffer rows `stride` apart.
  // Without the per-lane table, the requantization is `r` (by default the identity).
  void activate(int layer, uint64_t acc, uint64_t rows, uint64_t cols, uint64_t ub, uint64_t stride, uint64_t lane0,
                bool per_lane, const Requant& r = {kIdentityMult, kIdentityShift}) {
    prepare_output(layer);
    const QLayer& ql = q_.layers[static_cast<size_t>(layer)];
    auto a = make(isa::Opcode::act, {{"acc", int64_t(acc)},
                                     {"ub", int64_t(ub)},
                                     {"rows", int64_t(rows)},
                                     {"cols", int64_t(cols)},
                                     {"stride", int64_t(stride)},
                                     {"func", int64_t(ql.func)},
                                     {"zp", ql.act_zp},
                                     {"frac", ql.frac},
                                     {"raw", ql.raw}});
    if (per_lane) {
      a.set("perlane", 1);
      a.set("params", static_cast<int64_t>(table_base_ + table_at_.at(layer) + kLaneParamBytes * lane0));
      a.set("mult", 0);
    } else {
      a.set("mult", r.mult);
      a.set("shift", r.shift);
    }
    add(layer, a);
  }

  isa::Instruction mmul(uint64_t ub, uint64_t acc, uint64_t rows, uint64_t lines, uint64_t stride, uint64_t line_stride,
                        bool swap, bool accumulate) {
    return make(isa::Opcode::mmul, {{"ub", ub},
                                    {"acc", acc},
                                    {"rows", rows},
                                    {"lines", lines},
                                    {"stride", stride},
                                    {"line_stride", line_stride},
                                    {"swap", swap},
                                    {"accumulate", accumulate}});
  }

  // An mmul by tile `tile_id` of k rows (which it swaps in, or which is active).
  void add_mmul(int layer, const isa::Instruction& m, uint64_t k, int64_t tile_id) {
    add(layer, m, m.get("swap") ? tile_id : -1, k);
  }

  // Software pipelining: the activations of one accumulator half go out
  // interleaved with the multiplies into the other half. The first
  // activation comes first, so the sync before it waits only for the
  // multiplies it reads; the rest keep both units' queues fed in step.
  void interleave(std::vector<std::function<void()>>& multiplies) {
    std::vector<std::function<void()>> acts;
    acts.swap(deferred_);
    size_t i = 0, j = 0;
    while (i < acts.size() || j < multiplies.size()) {
      if (i < acts.size() && (j >= multiplies.size() || i * multiplies.size() <= j * acts.size()))
        acts[i++]();
      else
        multiplies[j++]();
    }
  }

  void flush_deferred() {
    std::vector<std::function<void()>> work;
    work.swap(deferred_);
    for (auto& w : work) w();
  }

  // ---------------------------------------------------------------- layers

  // A group of work items sharing the weights of one pass: each item needs
  // `rows` accumulator rows; items are packed into one accumulator half.
  template <class Item>
  std::vector<std::vector<Item>> pack(const std::vector<Item>& items, int layer) {
    std::vector<std::vector<Item>> packs;
    uint64_t used = half_;
    for (const Item& it : items) {
      if (it.rows > half_)
        throw ModelError(where(layer) + "one work item needs " + std::to_string(it.rows) +
                         " accumulator rows; the chip's half of the accumulators holds " + std::to_string(half_));
      if (used + it.rows > half_) {
        packs.emplace_back();
        used = 0;
      }
      packs.back().push_back(it);
      used += it.rows;
    }
    return packs;
  }

  void dense(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const QLayer& ql = q_.layers[static_cast<size_t>(layer)];
    const Buffer& x = bufs_[static_cast<size_t>(l.inputs[0])];
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
    const uint64_t K = static_cast<uint64_t>(x.c), M = static_cast<uint64_t>(l.units);
    const uint64_t N = static_cast<uint64_t>(x.n * x.h * x.w);  // rows: samples, or every pixel (token)
    const uint64_t e = elem_bytes(layer);
    if (x.padded() || y.padded())
      throw ModelError(where(layer) + "dense on an image that a padded conv2d or pool also reads is not supported");
    struct Item {
      uint64_t b0, rows, off = 0;
    };
    std::vector<Item> items;
    for (uint64_t b = 0; b < N; b += half_) items.push_back({b, std::min(half_, N - b)});
    LayerReport& rep = out_.report.layers[static_cast<size_t>(layer)];
    rep.macs += N * K * M / planes(layer);
    // An LSTM gate at a later time step reads the tiles of the first step's when its weights are the same.
    const bool shared = ql.same_weights;
    const int owner = shared ? l.shares : layer;
    rep.weight_bytes = shared ? 0 : K * M;
    for (auto& p : pack(items, layer)) {
      uint64_t off = 0;
      for (Item& it : p) it.off = off, off += it.rows;
      for (uint64_t nt = 0; nt < ceil_div(M, C_); ++nt) {
        const uint64_t n = std::min(C_, M - nt * C_), acc = next_half();
        std::vector<std::function<void()>> mm;
        for (uint64_t kt = 0; kt < ceil_div(K, R_); ++kt) {
          const uint64_t k = std::min(R_, K - kt * R_);
          const int64_t t =
              tile("d" + std::to_string(owner) + "." + std::to_string(kt) + "." + std::to_string(nt), k, n,
                   [&](uint64_t r, uint64_t c) { return ql.weights[(kt * R_ + r) * M + nt * C_ + c]; });
          ++rep.tiles;
          for (size_t i = 0; i < p.size(); ++i) {
            const auto m = mmul(x.base + p[i].b0 * K + kt * R_, acc + p[i].off, p[i].rows, 1, K, 0, i == 0, kt > 0);
            mm.push_back([=] { add_mmul(layer, m, k, t); });
          }
        }
        interleave(mm);
        for (const Item& it : p)
          deferred_.push_back([=] {
            activate(layer, acc + it.off, it.rows, n, y.base + (it.b0 * M + nt * C_) * e, M * e, nt * C_, true);
          });
      }
    }
    flush_deferred();
  }

  void conv(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const QLayer& ql = q_.layers[static_cast<size_t>(layer)];
    const Buffer& x = bufs_[static_cast<size_t>(l.inputs[0])];
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
    const uint64_t OH = static_cast<uint64_t>(y.h), OW = static_cast<uint64_t>(y.w);
    // An average pool over the taps inside the image runs as a depthwise convolution by ones.
    const bool averages = l.averages_valid_taps();
    const uint64_t Cin = static_cast<uint64_t>(x.c), Cout = averages ? Cin : static_cast<uint64_t>(l.units);
    const uint64_t groups = averages ? Cin : static_cast<uint64_t>(l.groups);
    const uint64_t cin_g = Cin / groups, cout_g = Cout / groups;
    const bool depthwise = groups > 1 && cin_g == 1 && cout_g == 1;
    LayerReport& rep = out_.report.layers[static_cast<size_t>(layer)];
    rep.macs += averages ? 0
                         : static_cast<uint64_t>(y.n) * OH * OW * Cout * cin_g * static_cast<uint64_t>(l.kh * l.kw) /
                               planes(layer);
    rep.weight_bytes = averages ? 0 : static_cast<uint64_t>(weight_elements(g_, l));
    // Work items: runs of output lines of one image; when one line exceeds half the accumulators,
    // strips of a line (ox0 and width).
    struct Item {
      uint64_t n, oy, lines, rows, ox0, width, off = 0;
    };
    const uint64_t max_lines = std::max<uint64_t>(1, half_ / OW), strip = std::min(OW, half_);
    std::vector<Item> items;
    for (uint64_t n = 0; n < static_cast<uint64_t>(y.n); ++n)
      for (uint64_t oy = 0; oy < OH; oy += max_lines)
        for (uint64_t ox = 0; ox < OW; ox += strip) {
          const uint64_t lines = std::min(max_lines, OH - oy), width = std::min(strip, OW - ox);
          items.push_back({n, oy, lines, lines * width, ox, width});
        }
    // Channel blocks: a group of groups for depthwise (diagonal tiles), else one group at a time.
    const uint64_t block = depthwise ? std::min(R_, C_) : 0;
    const uint64_t passes = depthwise ? ceil_div(Cin, block) : groups;
    for (auto& p : pack(items, layer)) {
      uint64_t off = 0;
      for (Item& it : p) it.off = off, off += it.rows;
      for (uint64_t gi = 0; gi < passes; ++gi) {
        const uint64_t in0 = depthwise ? gi * block : gi * cin_g;
        const uint64_t out0 = depthwise ? gi * block : gi * cout_g;
        const uint64_t in_ch = depthwise ? std::min(block, Cin - in0) : cin_g;
        const uint64_t out_ch = depthwise ? in_ch : cout_g;
        for (uint64_t nt = 0; nt < ceil_div(out_ch, C_); ++nt) {
          const uint64_t n = std::min(C_, out_ch - nt * C_), acc = next_half();
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
              for (uint64_t kt = 0; kt < ceil_div(depth, R_); ++kt) {
                const uint64_t k = std::min(R_, depth - kt * R_);
                const std::string key = "c" + std::to_string(layer) + "." + std::to_string(gi) + "." +
                                        std::to_string(nt) + "." + std::to_string(dy) + "." + std::to_string(dx) + "." +
                                        std::to_string(kt);
                const int64_t t = tile(key, k, n, [&](uint64_t r, uint64_t c) -> int8_t {
                  const uint64_t oc = out0 + nt * C_ + c;
                  if (depthwise) return r + kt * R_ == nt * C_ + c ? ql.weights[(dy * l.kw + dx) * Cout + oc] : 0;
                  // Row f of the contraction: tap dx + f / cin_g, channel f % cin_g (fused: dx is 0).
                  return ql.weights[((dy * l.kw + static_cast<int64_t>(dx)) * cin_g + kt * R_ + r) * Cout + oc];
                });
                ++rep.tiles;
                for (size_t i = 0; i < p.size(); ++i) {
                  const Item& it = p[i];
                  const uint64_t ub =
                      x.at(static_cast<int64_t>(it.n), static_cast<int64_t>(it.oy) * l.sh + dy * l.dh - l.pad_top,
                           static_cast<int64_t>(it.ox0) * l.sw + static_cast<int64_t>(dx) * l.dw - l.pad_left) +
                      in0 + kt * R_;
                  const auto m = mmul(ub, acc + it.off, it.width, it.lines, static_cast<uint64_t>(l.sw) * Cin,
                                      static_cast<uint64_t>(l.sh * x.wp()) * Cin, i == 0, !first);
                  mm.push_back([=] { add_mmul(layer, m, k, t); });
                }
                first = false;
              }
          interleave(mm);
          for (const Item& it : p)
            deferred_.push_back([=] {
              if (averages)
                write_averages(layer, it.n, it.oy, it.lines, it.ox0, it.width, acc + it.off, n, out0 + nt * C_);
              else
                write_rows(layer, it.n, it.oy, it.lines, it.ox0, it.width, acc + it.off, n, out0 + nt * C_, true);
            });
        }
      }
    }
    flush_deferred();
  }

  // Activates `lines` output lines of image n, pixels [ox0, ox0 + width) of
  // each, from acc: one act when the output rows are contiguous, else one per line.
  void write_rows(int layer, uint64_t n, uint64_t oy, uint64_t lines, uint64_t ox0, uint64_t width, uint64_t acc,
                  uint64_t cols, uint64_t ch0, bool per_lane) {
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
    const uint64_t stride = static_cast<uint64_t>(y.c), e = elem_bytes(layer);
    const int64_t x0 = static_cast<int64_t>(ox0);
    if (y.pl == 0 && y.pr == 0 && (lines == 1 || width == static_cast<uint64_t>(y.w))) {
      activate(layer, acc, lines * width, cols, y.at(static_cast<int64_t>(n), static_cast<int64_t>(oy), x0) + ch0 * e,
               stride, ch0, per_lane);
      return;
    }
    for (uint64_t line = 0; line < lines; ++line)
      activate(layer, acc + line * width, width, cols,
               y.at(static_cast<int64_t>(n), static_cast<int64_t>(oy + line), x0) + ch0 * e, stride, ch0, per_lane);
  }

  // Window sums of an average pool that does not count its padding, each
  // divided by its taps inside the image: one act per run of output pixels
  // with the same count.
  void write_averages(int layer, uint64_t n, uint64_t oy, uint64_t lines, uint64_t ox0, uint64_t width, uint64_t acc,
                      uint64_t cols, uint64_t ch0) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const Buffer& x = bufs_[static_cast<size_t>(l.inputs[0])];
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
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
        activate(layer, acc + line * width + (ox - ox0), end - ox, cols,
                 y.at(static_cast<int64_t>(n), yy, static_cast<int64_t>(ox)) + ch0, static_cast<uint64_t>(y.c), ch0,
                 false, divide_by(count(ox)));
        ox = end;
      }
    }
  }

  // Max, average and global average pooling: the input passes through an
  // identity tile into the accumulators, and `act` pools it unchanged.
  void pool(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const Buffer& x = bufs_[static_cast<size_t>(l.inputs[0])];
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
    const bool global = l.op == Op::kGlobalAvgPool;
    const uint64_t kh = global ? static_cast<uint64_t>(x.h) : static_cast<uint64_t>(l.kh);
    const uint64_t kw = global ? static_cast<uint64_t>(x.w) : static_cast<uint64_t>(l.kw);
    const uint64_t sh = global ? 1 : static_cast<uint64_t>(l.sh), sw = global ? 1 : static_cast<uint64_t>(l.sw);
    // A padded pool reads its input's border as part of each line.
    const int64_t pt = global ? 0 : l.pad_top, pl = global ? 0 : l.pad_left;
    const uint64_t W = static_cast<uint64_t>(x.w + pl + (global ? 0 : l.pad_right)), C = static_cast<uint64_t>(x.c);
    const uint64_t OH = global ? 1 : static_cast<uint64_t>(y.h), OW = global ? 1 : static_cast<uint64_t>(y.w);
    if (kh > 255 || kw > 255) throw ModelError(where(layer) + "pooling windows are limited to 255 x 255");
    // Output lines per item: whole windows in half the accumulators; one line when the output is padded
    // sideways. When even one line of windows across the image does not fit, strips of `strip` output
    // columns go one at a time.
    uint64_t per = (half_ / W >= kh) ? (half_ / W - kh) / sh + 1 : 0;
    uint64_t strip = OW;
    const bool striped = per == 0;
    if (striped) {
      if (global || half_ / kh < kw)
        throw ModelError(where(layer) + "one " + std::to_string(kh) + " x " + std::to_string(kw) +
                         " pooling window does not fit half the accumulators (" + std::to_string(half_) + " rows)");
      strip = (half_ / kh - kw) / sw + 1;
      per = 1;
    }
    if (y.pl || y.pr) per = 1;
    const uint64_t block = std::min({R_, C_, C});
    const isa::Pool kind = l.op == Op::kMaxPool ? isa::Pool::max : isa::Pool::avg;
    for (uint64_t cb = 0; cb < ceil_div(C, block); ++cb) {
      const uint64_t ch = std::min(block, C - cb * block);
      for (uint64_t n = 0; n < static_cast<uint64_t>(x.n); ++n)
        for (uint64_t oy = 0; oy < OH; oy += per)
          for (uint64_t ox = 0; ox < OW; ox += strip) {
            const uint64_t lines = std::min(per, OH - oy), in_lines = (lines - 1) * sh + kh;
            // A strip reads the columns its windows cover; a whole line reads every column of the image.
            const uint64_t cols = std::min(strip, OW - ox), width = striped ? (cols - 1) * sw + kw : W;
            const int64_t t = tile("identity" + std::to_string(ch), ch, ch,
                                   [](uint64_t r, uint64_t c) -> int8_t { return r == c ? 1 : 0; });
            const uint64_t acc = next_half();
            add_mmul(layer,
                     mmul(x.at(static_cast<int64_t>(n), static_cast<int64_t>(oy * sh) - pt,
                               static_cast<int64_t>(ox * sw) - pl) +
                              cb * block,
                          acc, width, in_lines, C, static_cast<uint64_t>(x.wp()) * C, true, false),
                     ch, t);
            prepare_output(layer);
            const uint64_t dst =
                global ? y.base + n * static_cast<uint64_t>(y.c) + cb * block
                       : y.at(static_cast<int64_t>(n), static_cast<int64_t>(oy), static_cast<int64_t>(ox)) + cb * block;
            const auto act = make(isa::Opcode::act, {{"acc", acc},
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
            add(layer, act);
          }
    }
  }

  // One token of each sequence, copied by a vop per sample (a - zp + zp).
  void token(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const Buffer& x = bufs_[static_cast<size_t>(l.inputs[0])];
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
    const int zp = q_.layers[static_cast<size_t>(layer)].zp;
    for (int64_t n = 0; n < x.n; ++n)
      vop(layer, isa::VecOp::add, x.at(n, 0, l.index), x.at(n, 0, l.index), y.at(n, 0, 0), static_cast<uint64_t>(x.c),
          zp, 0, 1, 0, Requant{kIdentityMult, kIdentityShift}, isa::ActFunc::identity, zp, 0);
  }

  // One vop: dst = func(requant(op(a, b))) over len elements.
  void vop(int layer, isa::VecOp op, uint64_t pa, uint64_t pb, uint64_t py, uint64_t len, int za, int zb, int ma,
           int mb, const Requant& r, isa::ActFunc func, int zp, int frac) {
    prepare_output(layer);
    const auto v = make(isa::Opcode::vop, {{"op", int64_t(op)},
                                           {"a", int64_t(pa)},
                                           {"b", int64_t(pb)},
                                           {"dst", int64_t(py)},
                                           {"len", int64_t(len)},
                                           {"za", za},
                                           {"zb", zb},
                                           {"ma", ma},
                                           {"mb", mb},
                                           {"mult", r.mult},
                                           {"shift", r.shift},
                                           {"zp", zp},
                                           {"func", int64_t(func)},
                                           {"frac", frac}});
    add(layer, v);
  }

  void mul_layer(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const QLayer& ql = q_.layers[static_cast<size_t>(layer)];
    elementwise(layer, l.inputs[0], l.inputs[1], [&](uint64_t pa, uint64_t pb, uint64_t py, uint64_t len) {
      vop(layer, isa::VecOp::mul, pa, pb, py, len, q_.layers[static_cast<size_t>(l.inputs[0])].zp,
          q_.layers[static_cast<size_t>(l.inputs[1])].zp, 1, 1, ql.add, ql.func, ql.act_zp, ql.frac);
    });
  }

  void activation_layer(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const QLayer& ql = q_.layers[static_cast<size_t>(layer)];
    elementwise(layer, l.inputs[0], l.inputs[0], [&](uint64_t pa, uint64_t, uint64_t py, uint64_t len) {
      vop(layer, isa::VecOp::add, pa, pa, py, len, q_.layers[static_cast<size_t>(l.inputs[0])].zp, 0, 1, 0, ql.add,
          ql.func, ql.act_zp, ql.frac);
    });
  }

  // Concatenation along the last axis: each input's rows copied (and requantized) into their slice.
  void concat(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const QLayer& ql = q_.layers[static_cast<size_t>(layer)];
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
    uint64_t off = 0;
    for (size_t k = 0; k < l.inputs.size(); ++k) {
      const Buffer& x = bufs_[static_cast<size_t>(l.inputs[k])];
      const uint64_t width = static_cast<uint64_t>(x.c);
      for (int64_t n = 0; n < y.n; ++n)
        for (int64_t r = 0; r < y.h; ++r)
          for (int64_t c = 0; c < y.w; ++c)
            vop(layer, isa::VecOp::add, x.at(n, r, c), x.at(n, r, c), y.at(n, r, c) + off, width,
                q_.layers[static_cast<size_t>(l.inputs[k])].zp, 0, 1, 0, ql.requant[k], isa::ActFunc::identity,
                ql.act_zp, 0);
      off += width;
    }
  }

  // Calls emit(a, b, dst, len) over whole tensors, or row by row where a buffer is padded.
  template <class Emit>
  void elementwise(int layer, int in_a, int in_b, Emit&& emit) {
    const Buffer& a = bufs_[static_cast<size_t>(in_a)];
    const Buffer& b = bufs_[static_cast<size_t>(in_b)];
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
    const uint64_t row = static_cast<uint64_t>(y.w * y.c);
    if (!a.padded() && !b.padded() && !y.padded()) {
      const uint64_t total = y.bytes();
      for (uint64_t off = 0; off < total; off += kMaxLen)
        emit(a.base + off, b.base + off, y.base + off, std::min(kMaxLen, total - off));
      return;
    }
    for (int64_t n = 0; n < y.n; ++n)
      for (int64_t r = 0; r < y.h; ++r) emit(a.at(n, r, 0), b.at(n, r, 0), y.at(n, r, 0), row);
  }

  void add_layer(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const QLayer& ql = q_.layers[static_cast<size_t>(layer)];
    elementwise(layer, l.inputs[0], l.inputs[1], [&](uint64_t pa, uint64_t pb, uint64_t py, uint64_t len) {
      vop(layer, isa::VecOp::add, pa, pb, py, len, q_.layers[static_cast<size_t>(l.inputs[0])].zp,
          q_.layers[static_cast<size_t>(l.inputs[1])].zp, ql.ma, ql.mb, ql.add, ql.func, ql.act_zp, ql.frac);
    });
  }

  // ---------------------------------------------------------------- host steps and attention

  // A step the chip has no unit for (softmax, layer normalization): the
  // tensor goes to the host, the host computes, the result comes back.
  void host_step(int layer, isa::HostFn fn) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const uint64_t cols = static_cast<uint64_t>(l.shape.back()), bytes = tensor_bytes(layer);
    transfer(l.inputs[0], isa::Opcode::whm, scratch_host_, layer);
    if (cols > isa::host::kMaxOperandBytes)
      throw ModelError(where(layer) + "rows of " + std::to_string(cols) +
                       " values exceed what one host operation takes");
    // In as many host operations as the operand limit asks (rows are independent).
    const uint64_t rows = bytes / cols, per = isa::host::kMaxOperandBytes / cols;
    for (uint64_t r = 0; r < rows; r += per)
      add(layer, make(isa::Opcode::hop, {{"fn", static_cast<uint64_t>(fn)},
                                         {"src", scratch_host_ + r * cols},
                                         {"dst", scratch_host_ + bytes + r * cols},
                                         {"rows", std::min(per, rows - r)},
                                         {"cols", cols},
                                         {"params", params_host_.at(layer)}}));
    transfer(layer, isa::Opcode::rhm, scratch_host_ + bytes);
  }

  // The product of two activations (Layer::heads). Per sample, the host takes
  // b out of the unified buffer (transposing it for attention scores) and
  // loads it into weight DRAM as tiles; the matrix unit then multiplies a by
  // them as by any weights.
  void matmul(int layer) {
    const Layer& l = g_.layers[static_cast<size_t>(layer)];
    const Buffer& a = bufs_[static_cast<size_t>(l.inputs[0])];
    const Buffer& b = bufs_[static_cast<size_t>(l.inputs[1])];
    const Buffer& y = bufs_[static_cast<size_t>(layer)];
    if (a.padded() || b.padded() || y.padded())
      throw ModelError(where(layer) + "matmul of tensors that a padded conv2d or pool also reads is not supported");
    const uint64_t H = static_cast<uint64_t>(l.heads), T = static_cast<uint64_t>(b.w), F = static_cast<uint64_t>(b.c);
    const uint64_t d = F / H, S = static_cast<uint64_t>(a.w);
    const uint64_t depth = l.transpose_b ? d : T, width = l.transpose_b ? T : d;  // of each head's b
    const uint64_t row = l.transpose_b ? T : F;  // bytes per row of b as the host holds it
    const uint64_t in = scratch_host_, tr = scratch_host_ + T * F;
    LayerReport& rep = out_.report.layers[static_cast<size_t>(layer)];
    rep.macs += static_cast<uint64_t>(a.n) * H * S * depth * width;
    for (int64_t n = 0; n < a.n; ++n) {
      dma(layer, isa::Opcode::whm, b.at(n, 0, 0), in, F, T, F);
      if (l.transpose_b) {
        add(layer, make(isa::Opcode::hop, {{"fn", static_cast<uint64_t>(isa::HostFn::transpose)},
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
        for (uint64_t nt = 0; nt < ceil_div(width, C_); ++nt)
          for (uint64_t kt = 0; kt < ceil_div(depth, R_); ++kt) {
            tiles.push_back(loaded_tile(std::min(R_, depth - kt * R_), std::min(C_, width - nt * C_)));
            load_tile(layer, tiles.back(), base + kt * R_ * row + nt * C_, row);
          }
      }
      flush_loads(layer);
      // Rows of a in chunks that fit half the accumulators; every chunk after the first reads the
      // tiles again (new FIFO entries for the same DRAM).
      const uint64_t NT = ceil_div(width, C_), KT = ceil_div(depth, R_);
      for (uint64_t h = 0; h < H; ++h)
        for (uint64_t s0 = 0; s0 < S; s0 += half_)
          for (uint64_t nt = 0; nt < NT; ++nt) {
            const uint64_t rows = std::min(half_, S - s0), acc = next_half();
            std::vector<std::function<void()>> mm;
            for (uint64_t kt = 0; kt < KT; ++kt) {
              int64_t t = tiles[(h * NT + nt) * KT + kt];
              if (s0 > 0) {
                tiles_.push_back(tiles_[static_cast<size_t>(t)]);
                t = static_cast<int64_t>(tiles_.size()) - 1;
              }
              ++rep.tiles;
              const int64_t r0 = static_cast<int64_t>(s0);
              const uint64_t x =
                  l.transpose_b ? a.at(n, 0, r0) + h * d + kt * R_ : a.at(n, static_cast<int64_t>(h), r0) + kt * R_;
              const auto m = mmul(x, acc, rows, 1, static_cast<uint64_t>(a.c), 0, true, kt > 0);
              mm.push_back([=] { add_mmul(layer, m, tiles_[static_cast<size_t>(t)].k, t); });
            }
            interleave(mm);
            const uint64_t w = std::min(C_, width - nt * C_), lane0 = l.transpose_b ? nt * C_ : h * d + nt * C_;
            const int64_t r0 = static_cast<int64_t>(s0);
            const uint64_t out = (l.transpose_b ? y.at(n, static_cast<int64_t>(h), r0) : y.at(n, 0, r0)) + lane0;
            deferred_.push_back([=] { activate(layer, acc, rows, w, out, static_cast<uint64_t>(y.c), lane0, true); });
          }
    }
    flush_deferred();
  }

  // ldw of a loaded tile from host memory (`row` bytes per row there); tiles
  // that are whole rows and follow each other in both memories share one ldw.
  void load_tile(int layer, int64_t tile_id, uint64_t host, uint64_t row) {
    const Tile& t = tiles_[static_cast<size_t>(tile_id)];
    const bool whole = t.n == row;
    if (whole && open_load_.len > 0 && open_load_.repeat == 1 && open_load_.host + open_load_.len == host &&
        open_load_.dram + open_load_.len == t.dram && open_load_.len + t.k * t.n <= kMaxLen) {
      open_load_.len += t.k * t.n;
      open_load_.tiles.push_back(tile_id);
      return;
    }
    flush_loads(layer);
    open_load_ =
        whole ? Load{host, t.dram, t.k * t.n, 1, 0, 0, {tile_id}} : Load{host, t.dram, t.n, t.k, row, t.n, {tile_id}};
  }

  void flush_loads(int layer) {
    if (open_load_.len == 0) return;
    const Load& o = open_load_;
    const auto w = make(isa::Opcode::ldw, {{"host", o.host},
                                           {"dram", o.dram},
                                           {"len", o.len},
                                           {"repeat", o.repeat},
                                           {"host_stride", o.host_stride},
                                           {"dram_stride", o.dram_stride}});
    add(layer, w);
    for (int64_t t : o.tiles) tiles_[static_cast<size_t>(t)].fill = static_cast<int64_t>(pending_.size()) - 1;
    open_load_ = Load{};
  }

  // ---------------------------------------------------------------- scheduling

  // Emits the instructions in order, with rdw ahead of the swaps that need
  // them and a sync before any instruction whose memory another unit may
  // still be using.
  void schedule() {
    const uint64_t depth = static_cast<uint64_t>(target_.weight_fifo_tiles);
    std::vector<int64_t> swap_order;
    for (const Pending& p : pending_)
      if (p.tile >= 0) swap_order.push_back(p.tile);
    size_t requested = 0, swaps = 0;
    SyncTracker syncs;
    auto emit = [&](const isa::Instruction& insn) {
      out_.program.text.push_back(isa::encode(insn));
      ++out_.report.instructions;
    };
    size_t at = 0;          // index in pending_ of the instruction being placed
    int64_t synced = -1;    // the last ldw a `sync units=host` has waited for
    int64_t last_ldw = -1;  // the last ldw placed
    // A tile the program loads is read only once its ldw is out. Its rdw needs
    // the host to have finished (a sync that holds up issue), so a tile whose
    // ldw no sync has covered yet is read only for the swap at hand; once a
    // sync has covered it, it is read ahead like any other.
    auto ready = [&](size_t i) {
      const Tile& t = tiles_[static_cast<size_t>(swap_order[i])];
      return t.fill < 0 || t.fill <= synced || (static_cast<size_t>(t.fill) < at && i <= swaps);
    };
    const uint32_t host_bit = 1u << static_cast<unsigned>(isa::Unit::host);
    auto request_until = [&](size_t upto) {
      while (requested < std::min(upto, swap_order.size()) && ready(requested)) {
        const Tile& first = tiles_[static_cast<size_t>(swap_order[requested])];
        uint64_t repeat = 1;
        while (requested + repeat < std::min(upto, swap_order.size()) && repeat < 65535 && ready(requested + repeat)) {
          const Tile& next = tiles_[static_cast<size_t>(swap_order[requested + repeat])];
          if (next.k != first.k || next.n != first.n || next.dram != first.dram + repeat * first.k * first.n) break;
          ++repeat;
        }
        const auto rdw = make(isa::Opcode::rdw, {{"dram", int64_t(first.dram)},
                                                 {"k", int64_t(first.k)},
                                                 {"n", int64_t(first.n)},
                                                 {"repeat", int64_t(repeat)}});
        // Only ldw writes weight DRAM: the wait, if any, is for the host.
        if (const uint32_t mask = syncs.needs(isa::Unit::weights, isa::footprint(isa::encode(rdw), {}))) {
          emit(make(isa::Opcode::sync, {{"units", mask}}));
          syncs.synced(mask);
          if (mask & host_bit) synced = last_ldw;
        }
        emit(rdw);
        requested += repeat;
      }
    };
    bool started = false;
    for (; at < pending_.size(); ++at) {
      const Pending& p = pending_[at];
      // The first tile reads go out right after the first tag, ahead of everything else.
      if (started && requested == 0 && depth > 0) request_until(depth);
      started = true;
      if (p.tile >= 0) {
        request_until(swaps + depth);
        ++swaps;
      }
      const isa::Opcode op = p.insn.opcode();
      const isa::Unit unit = p.insn.spec->unit;
      const uint32_t mask = op == isa::Opcode::halt ? 0 : syncs.needs(unit, p.footprint);
      if (mask) {
        emit(make(isa::Opcode::sync, {{"units", mask}}));
        syncs.synced(mask);
        if (mask & host_bit) synced = last_ldw;
      }
      emit(p.insn);
      syncs.placed(unit, p.footprint);
      if (op == isa::Opcode::ldw) last_ldw = static_cast<int64_t>(at);
    }
    flush_weights();
    out_.report.dram_bytes = dram_top_;
    const uint64_t dram_size = static_cast<uint64_t>(target_.weight_dram_bytes);
    if (dram_top_ > dram_size)
      throw ModelError(g_.file + ": the weights and loaded tiles need " + std::to_string(dram_top_) +
                       " bytes of weight DRAM; the chip has " + std::to_string(dram_size));
  }

  const int64_t passes_;
  const QGraph& q_;
  const Graph& g_;
  const CompileTarget target_;
  const uint64_t R_, C_, half_;
  Lowered out_;
  std::vector<Buffer> bufs_;
  std::vector<int> alias_;
  std::map<int, uint64_t> table_at_;  // layer -> offset of its per-lane table
  uint64_t table_base_ = 0, tables_bytes_ = 0;
  std::map<int, uint64_t> output_host_;
  std::map<int, uint64_t> constant_host_;
  std::vector<Pending> pending_;
  std::vector<std::function<void()>> deferred_;  // activations waiting for the next multiplies
  std::map<int, bool> prepared_;                 // layers whose buffer is ready
  std::map<uint64_t, std::pair<Buffer, std::array<int64_t, 10>>> zeroed_;  // borders set, by buffer base
  std::vector<Tile> tiles_;
  std::map<std::string, uint64_t> tile_at_;
  uint64_t dram_top_ = 0;
  static constexpr size_t kRunBytes = size_t{64} << 20;
  std::vector<uint8_t> run_;  // weight bytes from run_at_ on, not yet in the image
  uint64_t run_at_ = 0;
  uint64_t half_flip_ = 1;
  std::map<int, uint64_t> params_host_;  // layer -> its host step's parameter block
  uint64_t scratch_host_ = 0;            // where host steps keep their operands
  struct Load {                          // an ldw being assembled (load_tile)
    uint64_t host = 0, dram = 0, len = 0, repeat = 1, host_stride = 0, dram_stride = 0;
    std::vector<int64_t> tiles;
  };
  Load open_load_;
};

}  // namespace

CompileTarget CompileTarget::of(const sim::ChipParams& chip) {
  return {chip.matrix_unit.rows,          chip.matrix_unit.cols,       chip.accumulators.entries,
          chip.unified_buffer.size_bytes, chip.weight_fifo.depth_tiles, chip.weight_memory.size_bytes};
}

std::string CompileTarget::key() const {
  return std::to_string(rows) + "x" + std::to_string(cols) + " acc " + std::to_string(accumulator_entries) + " ub " +
         std::to_string(unified_buffer_bytes) + " fifo " + std::to_string(weight_fifo_tiles) + " dram " +
         std::to_string(weight_dram_bytes);
}

Lowered lower(const QGraph& q, const CompileTarget& target, int64_t passes) {
  return Lowering(q, target, passes).run();
}

}  // namespace tpu::compiler
