// The lowering driver: buffer planning (buffers.cc), host memory and the
// passes over the batch with each layer lowered by its family
// (layer_lowering.h), then scheduling (schedule.cc).

#include "tools/compiler/lower.h"

#include "tools/compiler/lower/layer_lowering.h"
#include "tools/compiler/lower/schedule.h"

namespace tpu::compiler {

namespace {

void add_tensor(ProgramBuilder& b, const std::string& name, isa::TensorRole role, int layer, uint64_t host) {
  isa::TensorDesc t;
  t.name = name;
  t.role = role;
  t.dtype = b.qlayer(layer).raw ? isa::DType::kI32 : isa::DType::kI8;
  t.shape = b.layer(layer).shape;
  t.shape[0] *= b.passes;
  t.space = isa::Space::kHost;
  t.addr = host;
  t.scale = b.qlayer(layer).scale;
  t.zero_point = b.qlayer(layer).zp;
  b.out.program.tensors.push_back(t);
}

// The per-lane tables (bias, multiplier, shift of every output channel) as the unified buffer holds them.
void write_tables(ProgramBuilder& b) {
  std::vector<uint8_t> bytes(b.plan.tables_bytes);
  auto put = [&](uint64_t at, int32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * i));
  };
  for (const auto& [layer, off] : b.plan.table_at) {
    const QLayer& ql = b.qlayer(layer);
    for (size_t j = 0; j < ql.bias.size(); ++j) {
      put(off + isa::kLaneParamBytes * j, ql.bias[j]);
      put(off + isa::kLaneParamBytes * j + 4, ql.requant[j].mult);
      put(off + isa::kLaneParamBytes * j + 8, ql.requant[j].shift);
    }
  }
  if (!bytes.empty() && b.q.values) b.out.program.host.write(b.host.tables, bytes);
}

// Host memory: the input, the outputs, the per-lane tables, constant tensors, the parameters of
// the host's steps, then the one scratch area they all use in turn (the host interface runs its
// instructions in order).
void lay_out_host(ProgramBuilder& b) {
  const Graph& g = b.g;
  const uint64_t passes = static_cast<uint64_t>(b.passes);
  uint64_t host = 0;
  const Layer& in = g.layers[0];
  add_tensor(b, in.name, isa::TensorRole::kInput, 0, host);
  host = align(host + static_cast<uint64_t>(elements(in.shape)) * passes);
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    const int o = g.outputs[k];
    b.host.output[o] = host;
    add_tensor(b, g.output_name(k), isa::TensorRole::kOutput, o, host);
    host = align(host + b.tensor_bytes(o) * passes);
  }
  b.host.tables = host;
  write_tables(b);
  host = align(host + b.plan.tables_bytes);
  for (size_t i = 1; i < g.layers.size(); ++i) {
    if (g.layers[i].op != Op::kConstant) continue;
    const auto& data = b.q.layers[i].weights;
    if (b.q.values) b.out.program.host.write(host, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    b.host.constant[static_cast<int>(i)] = host;
    host = align(host + b.tensor_bytes(static_cast<int>(i)));
  }
  uint64_t scratch = 0;
  for (size_t i = 1; i < g.layers.size(); ++i) {
    const Layer& l = g.layers[i];
    const auto& params = b.q.layers[i].host_params;
    if (!params.empty()) {
      if (b.q.values) b.out.program.host.write(host, params);
      b.host.params[static_cast<int>(i)] = host;
      host = align(host + params.size());
    }
    if (l.op == Op::kSoftmax || l.op == Op::kLayerNorm) scratch = std::max(scratch, 2 * b.tensor_bytes(static_cast<int>(i)));
    if (l.op == Op::kMatMul) {  // one sample's b and, for transpose_b, its transpose
      const auto& operand = g.layers[static_cast<size_t>(l.inputs[1])].shape;
      scratch = std::max(scratch, 2 * static_cast<uint64_t>(operand[2] * operand[3]));
    }
  }
  b.host.scratch = host;
}

// The instructions of the whole run, in program order.
void emit_program(ProgramBuilder& b) {
  const Graph& g = b.g;
  auto& meta = b.out.program.metadata;
  meta.emplace_back("model", g.name);
  meta.emplace_back("batch", std::to_string(g.layers[0].shape[0] * b.passes));
  if (!b.q.values) meta.emplace_back(isa::kTimingOnlyKey, "yes");
  for (size_t i = 0; i < g.layers.size(); ++i) meta.emplace_back("layer." + std::to_string(i), g.layers[i].name);
  lay_out_host(b);

  b.tag(0);
  if (b.q.rounding != isa::Rounding::half_away)
    b.add(0, instruction(isa::Opcode::setcfg, {{"reg", int64_t(isa::CfgReg::round)}, {"value", int64_t(b.q.rounding)}}));
  if (b.plan.tables_bytes > 0) b.dma(0, isa::Opcode::rhm, 0, b.host.tables, b.plan.tables_bytes, 1, 0);
  const uint64_t input_bytes = static_cast<uint64_t>(elements(g.layers[0].shape));
  for (uint64_t pass = 0; pass < static_cast<uint64_t>(b.passes); ++pass) {
    b.begin_pass();
    if (pass > 0) b.tag(0);
    b.transfer(0, isa::Opcode::rhm, pass * input_bytes);
    for (size_t i = 1; i < g.layers.size(); ++i) {
      const int l = static_cast<int>(i);
      b.tag(l);
      if (const LayerLowering* family = lowering_for(g.layers[i])) family->lower(b, l);
    }
    for (int o : g.outputs) b.transfer(o, isa::Opcode::whm, b.host.output.at(o) + pass * b.tensor_bytes(o));
  }
  b.pending().push_back({instruction(isa::Opcode::halt), -1, {}, static_cast<int>(g.layers.size()) - 1});
}

}  // namespace

const LayerLowering* lowering_for(const Layer& l) {
  static const std::vector<std::unique_ptr<LayerLowering>> families = [] {
    std::vector<std::unique_ptr<LayerLowering>> f;
    f.push_back(sparse_layers());
    f.push_back(matrix_layers());
    f.push_back(pooling_layers());
    f.push_back(vector_layers());
    f.push_back(host_layers());
    return f;
  }();
  for (const auto& family : families)
    if (family->handles(l)) return family.get();
  if (l.op == Op::kInput || l.op == Op::kFlatten) return nullptr;
  throw ModelError("no lowering handles the " + std::string(op_name(l.op)) + " layer '" + l.name + "'");
}

CompileTarget CompileTarget::of(const sim::ChipParams& chip) {
  const sim::SparseEngineParams& s = chip.sparse_engine;
  return {chip.matrix_unit.rows,          chip.matrix_unit.cols,       chip.accumulators.entries,
          chip.unified_buffer.size_bytes, chip.weight_fifo.depth_tiles, chip.weight_memory.size_bytes,
          s.pes,                          s.spmat_bytes,                s.pointer_bytes,
          s.activation_bytes};
}

std::string CompileTarget::key() const {
  std::string k = std::to_string(rows) + "x" + std::to_string(cols) + " acc " + std::to_string(accumulator_entries) +
                  " ub " + std::to_string(unified_buffer_bytes) + " fifo " + std::to_string(weight_fifo_tiles) +
                  " dram " + std::to_string(weight_dram_bytes);
  if (sparse_pes > 0)
    k += " sparse " + std::to_string(sparse_pes) + " " + std::to_string(sparse_spmat_bytes) + " " +
         std::to_string(sparse_pointer_bytes) + " " + std::to_string(sparse_activation_bytes);
  return k;
}

Lowered lower(const QGraph& q, const CompileTarget& target, int64_t passes) {
  ProgramBuilder b(q, target, passes, plan_buffers(q, target));
  emit_program(b);
  schedule(b.pending(), b.weights, static_cast<uint64_t>(target.weight_fifo_tiles), b.out);
  b.weights.flush();
  b.out.report.dram_bytes = b.weights.bytes();
  const uint64_t dram_size = static_cast<uint64_t>(target.weight_dram_bytes);
  if (b.weights.bytes() > dram_size)
    throw ModelError(b.g.file + ": the weights and loaded tiles need " + std::to_string(b.weights.bytes()) +
                     " bytes of weight DRAM; the chip has " + std::to_string(dram_size));
  // The network's own work, for throughput: a layer's MACs by its shapes (a convolution's taps
  // over padding included, as is usual), not the identity tiles of pooling or the zeros of
  // depthwise diagonal tiles. Per layer for one pass (each pass's rows add up); in total for all.
  uint64_t macs = 0;
  for (size_t i = 0; i < b.g.layers.size(); ++i) {
    const uint64_t m = b.out.report.layers[i].macs;
    if (m) b.out.program.metadata.emplace_back("macs." + std::to_string(i), std::to_string(m / static_cast<uint64_t>(passes)));
    macs += m;
  }
  b.out.program.metadata.emplace_back("macs", std::to_string(macs));
  return std::move(b.out);
}

}  // namespace tpu::compiler
