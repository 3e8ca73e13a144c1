#include "isa/sparse_image.h"

#include "isa/bytes.h"
#include "isa/program.h"

namespace tpu::isa::sparse {

bool operator==(const SparseLayer& a, const SparseLayer& b) {
  if (a.rows != b.rows || a.cols != b.cols || a.pes != b.pes || a.codebook_size != b.codebook_size ||
      a.codebook != b.codebook || a.bias != b.bias || a.pe.size() != b.pe.size())
    return false;
  for (size_t p = 0; p < a.pe.size(); ++p)
    if (a.pe[p].pointers != b.pe[p].pointers || a.pe[p].entries != b.pe[p].entries) return false;
  return true;
}

SparseLayer encode(const std::vector<uint8_t>& indices, uint32_t rows, uint32_t cols, uint32_t pes,
                   const std::array<int16_t, kCodebookEntries>& codebook, int codebook_size,
                   const std::vector<int32_t>& bias) {
  if (pes == 0) throw ProgramError("a sparse layer needs at least one PE");
  if (indices.size() != uint64_t{rows} * cols || bias.size() != rows)
    throw ProgramError("a sparse layer of " + std::to_string(rows) + " x " + std::to_string(cols) + " needs as many " +
                       "indices and a bias per row");
  if (codebook_size < 1 || codebook_size > kCodebookEntries || codebook[0] != 0)
    throw ProgramError("a sparse layer's codebook has 1 to 16 entries, the first the zero weight");
  for (uint8_t index : indices)
    if (index >= codebook_size)
      throw ProgramError("codebook index " + std::to_string(index) + " beyond the codebook's " +
                         std::to_string(codebook_size) + " entries");
  SparseLayer l;
  l.rows = rows, l.cols = cols, l.pes = pes;
  l.codebook = codebook;
  l.codebook_size = codebook_size;
  l.bias = bias;
  l.pe.resize(pes);
  for (uint32_t p = 0; p < pes; ++p) {
    PeColumns& pc = l.pe[p];
    pc.pointers.reserve(cols + 1);
    for (uint32_t j = 0; j < cols; ++j) {
      if (pc.entries.size() > kMaxEntriesPerPe) break;
      pc.pointers.push_back(static_cast<uint16_t>(pc.entries.size()));
      uint32_t zeros = 0;
      for (uint32_t r = p; r < rows; r += pes) {
        const uint8_t index = indices[uint64_t{r} * cols + j];
        if (index == 0) {
          ++zeros;
          continue;
        }
        for (; zeros > kMaxZeroRun; zeros -= kMaxZeroRun + 1) pc.entries.push_back(entry(0, kMaxZeroRun));  // fillers
        pc.entries.push_back(entry(index, static_cast<uint8_t>(zeros)));
        zeros = 0;
      }
    }
    if (pc.entries.size() > kMaxEntriesPerPe)
      throw ProgramError("PE " + std::to_string(p) + " would hold more than " + std::to_string(kMaxEntriesPerPe) +
                         " entries, beyond what its 16-bit column pointers reach");
    pc.pointers.push_back(static_cast<uint16_t>(pc.entries.size()));
  }
  return l;
}

std::string sram_problem(uint64_t rows, uint64_t cols, uint64_t pes, uint64_t spmat_bytes, uint64_t pointer_bytes,
                         uint64_t accumulator_bytes, const std::vector<uint64_t>* pe_entries) {
  const uint64_t rows_per_pe = (rows + pes - 1) / pes;
  if (rows_per_pe * 4 > accumulator_bytes)
    return std::to_string(rows) + " rows need " + std::to_string(rows_per_pe) + " accumulators in a PE; its " +
           std::to_string(accumulator_bytes) + " bytes hold " + std::to_string(accumulator_bytes / 4);
  if (2 * (cols + 1) > pointer_bytes)
    return std::to_string(cols) + " columns need " + std::to_string(2 * (cols + 1)) +
           " bytes of column pointers in each PE; it has " + std::to_string(pointer_bytes);
  for (size_t p = 0; pe_entries && p < pe_entries->size(); ++p) {
    const uint64_t entries = (*pe_entries)[p];
    if (entries > spmat_bytes)
      return "PE " + std::to_string(p) + " needs " + std::to_string(entries) + " bytes of sparse-matrix SRAM; it has " +
             std::to_string(spmat_bytes);
    if (entries > kMaxEntriesPerPe)
      return "PE " + std::to_string(p) + " would hold " + std::to_string(entries) + " entries, more than the " +
             std::to_string(kMaxEntriesPerPe) + " its 16-bit column pointers reach";
  }
  return {};
}

std::string sram_problem(uint64_t rows, uint64_t cols, uint64_t pes, uint64_t spmat_bytes, uint64_t pointer_bytes,
                         uint64_t accumulator_bytes, const SparseLayer& layer) {
  std::vector<uint64_t> entries(layer.pes);
  for (uint32_t p = 0; p < layer.pes; ++p) entries[p] = layer.entries(p);
  return sram_problem(rows, cols, pes, spmat_bytes, pointer_bytes, accumulator_bytes, &entries);
}

void add_column_entries(const uint8_t* column, uint64_t stride, uint32_t rows, uint32_t pes, uint64_t* entries) {
  std::vector<uint32_t> zeros(pes, 0);
  for (uint32_t r = 0, p = 0; r < rows; ++r, p = p + 1 == pes ? 0 : p + 1) {
    if (column[uint64_t{r} * stride] == 0) {
      ++zeros[p];
      continue;
    }
    entries[p] += 1 + zeros[p] / (kMaxZeroRun + 1);  // the fillers before it
    zeros[p] = 0;
  }
}

std::vector<uint8_t> decode(const SparseLayer& l) {
  std::vector<uint8_t> indices(uint64_t{l.rows} * l.cols, 0);
  for (uint32_t p = 0; p < l.pes; ++p) {
    const PeColumns& pc = l.pe[p];
    for (uint32_t j = 0; j < l.cols; ++j) {
      uint64_t local = 0;
      for (uint32_t e = pc.pointers[j]; e < pc.pointers[j + 1]; ++e) {
        local += entry_zeros(pc.entries[e]);
        if (const uint8_t index = entry_index(pc.entries[e])) indices[(local * l.pes + p) * l.cols + j] = index;
        ++local;
      }
    }
  }
  return indices;
}

uint64_t image_bytes(const SparseLayer& l) {
  uint64_t bytes = kHeaderBytes + 4 * uint64_t{l.rows};
  for (const PeColumns& pc : l.pe) bytes += (4 + 2 * (uint64_t{l.cols} + 1) + pc.entries.size() + 7) / 8 * 8;
  return bytes;
}

std::vector<uint8_t> serialize(const SparseLayer& l) {
  ByteWriter w;
  w.reserve(image_bytes(l));
  w.u32(kMagic);
  w.u16(kVersion);
  w.u16(static_cast<uint16_t>(l.pes));
  w.u32(l.rows);
  w.u32(l.cols);
  w.u8(static_cast<uint8_t>(l.codebook_size));
  for (int i = 0; i < 7; ++i) w.u8(0);
  w.u64(image_bytes(l));
  for (int16_t c : l.codebook) w.u16(static_cast<uint16_t>(c));
  for (int32_t b : l.bias) w.u32(static_cast<uint32_t>(b));
  for (const PeColumns& pc : l.pe) {
    w.u32(static_cast<uint32_t>(pc.entries.size()));
    for (uint16_t ptr : pc.pointers) w.u16(ptr);
    w.bytes(pc.entries.data(), pc.entries.size());
    const size_t start = w.size() - (4 + 2 * pc.pointers.size() + pc.entries.size());
    while ((w.size() - start) % 8) w.u8(0);
  }
  return std::move(w.data());
}

namespace {

// Padding must be zeros, so that an image that reads back is the image its layer writes.
void zeros(ByteReader& r, size_t n, const char* what) {
  const uint8_t* p = r.bytes(n, what);
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) r.fail(std::string(what) + " is not zero");
}

}  // namespace

SparseLayer parse(const uint8_t* data, size_t size, const std::string& context) {
  ByteReader r(data, size, context);
  if (r.u32("magic") != kMagic) r.fail("not a sparse layer image (no SPMV magic)");
  if (const uint16_t v = r.u16("version"); v != kVersion)
    r.fail("sparse layer image version " + std::to_string(v) + ", this build reads " + std::to_string(kVersion));
  SparseLayer l;
  l.pes = r.u16("PE count");
  l.rows = r.u32("rows");
  l.cols = r.u32("columns");
  l.codebook_size = r.u8("codebook size");
  zeros(r, 7, "header padding");
  const uint64_t total = r.u64("image bytes");
  if (l.pes == 0) r.fail("the image is for 0 PEs");
  if (l.rows == 0 || l.cols == 0) r.fail("the layer has no rows or no columns");
  if (l.codebook_size < 1 || l.codebook_size > kCodebookEntries)
    r.fail("codebook of " + std::to_string(l.codebook_size) + " entries (1 to 16)");
  for (int16_t& c : l.codebook) c = static_cast<int16_t>(r.u16("codebook"));
  if (l.codebook[0] != 0) r.fail("codebook entry 0 is " + std::to_string(l.codebook[0]) + ", not the zero weight");
  if (total > size) r.fail("the image says it is " + std::to_string(total) + " bytes, more than the " +
                           std::to_string(size) + " there are");
  // Bounds before allocation: every row's bias and every PE's pointers must be in the image.
  if (uint64_t{l.rows} * 4 + uint64_t{l.pes} * (4 + 2 * (uint64_t{l.cols} + 1)) > total)
    r.fail("the image is too small for its " + std::to_string(l.rows) + " rows, " + std::to_string(l.cols) +
           " columns and " + std::to_string(l.pes) + " PEs");
  l.bias.resize(l.rows);
  for (int32_t& b : l.bias) b = static_cast<int32_t>(r.u32("bias"));
  l.pe.resize(l.pes);
  for (uint32_t p = 0; p < l.pes; ++p) {
    const std::string pe = "PE " + std::to_string(p) + ": ";
    PeColumns& pc = l.pe[p];
    const size_t start = r.pos();
    const uint32_t entries = r.u32("entry count");
    if (entries > kMaxEntriesPerPe) r.fail(pe + std::to_string(entries) + " entries, more than 16-bit pointers reach");
    pc.pointers.resize(uint64_t{l.cols} + 1);
    for (uint16_t& ptr : pc.pointers) ptr = r.u16("column pointers");
    const uint8_t* bytes = r.bytes(entries, "entries");
    pc.entries.assign(bytes, bytes + entries);
    zeros(r, (8 - (r.pos() - start) % 8) % 8, "padding");
    if (pc.pointers.front() != 0) r.fail(pe + "column 0 starts at entry " + std::to_string(pc.pointers.front()));
    if (pc.pointers.back() != entries)
      r.fail(pe + "the last column ends at entry " + std::to_string(pc.pointers.back()) + ", not at its " +
             std::to_string(entries) + " entries");
    for (uint32_t j = 0; j < l.cols; ++j) {
      if (pc.pointers[j + 1] < pc.pointers[j])
        r.fail(pe + "column " + std::to_string(j) + " ends at entry " + std::to_string(pc.pointers[j + 1]) +
               " before it starts (" + std::to_string(pc.pointers[j]) + ")");
      if (pc.pointers[j + 1] > entries)
        r.fail(pe + "column " + std::to_string(j) + " ends at entry " + std::to_string(pc.pointers[j + 1]) +
               ", past its " + std::to_string(entries) + " entries");
    }
    const uint32_t rows = l.local_rows(p);
    for (uint32_t j = 0; j < l.cols; ++j) {
      uint64_t local = 0;
      for (uint32_t e = pc.pointers[j]; e < pc.pointers[j + 1]; ++e) {
        local += entry_zeros(pc.entries[e]);
        const int index = entry_index(pc.entries[e]);
        if (index >= l.codebook_size)
          r.fail(pe + "entry " + std::to_string(e) + " names codebook entry " + std::to_string(index) +
                 " of a codebook of " + std::to_string(l.codebook_size));
        if (local >= rows)
          r.fail(pe + "column " + std::to_string(j) + " runs past its " + std::to_string(rows) + " rows (entry " +
                 std::to_string(e) + " at local row " + std::to_string(local) + ")");
        ++local;
      }
    }
  }
  if (r.pos() != total)
    r.fail("the image is " + std::to_string(r.pos()) + " bytes, not the " + std::to_string(total) + " its header says");
  return l;
}

}  // namespace tpu::isa::sparse
