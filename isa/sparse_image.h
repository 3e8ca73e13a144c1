#pragma once

// The compressed layer `spmv` reads from weight DRAM: an EIE-style sparse
// matrix (Han et al., ISCA 2016) of `rows` outputs by `cols` inputs, its rows
// interleaved over the engine's `pes` processing elements (row i in PE i mod
// pes, as its local row i / pes). Each PE holds its rows' non-zeros in
// compressed sparse column form:
//   entries   one byte each: the low 4 bits a codebook index, the high 4 bits
//             the count of zero rows (of the PE's own) before it; a run of more
//             than 15 zeros takes a filler, an entry of index 0 (the zero
//             weight) after 15 zeros, which costs a cycle like any entry.
//   pointers  cols + 1 16-bit entry indices: column j is entries
//             [pointers[j], pointers[j + 1]).
// The weights are codebook values: 16-bit integers, index 0 reserved for 0,
// whose scale the instruction's requantization carries. Each row starts from
// its int32 bias.
//
// Image layout (integers little-endian):
//   header    u32 magic "SPMV", u16 version (1), u16 pes, u32 rows, u32 cols,
//             u8 codebook entries in use (1 to 16), 7 bytes 0, u64 image bytes,
//             16 x i16 codebook (entry 0 is 0): 64 bytes
//   bias      rows x i32
//   per PE    u32 entries, (cols + 1) x u16 pointers, the entries, padded to 8 bytes

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace tpu::isa::sparse {

inline constexpr int kCodebookEntries = 16;
inline constexpr int kMaxZeroRun = 15;
inline constexpr uint32_t kMagic = 0x564D5053;  // "SPMV"
inline constexpr uint16_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 64;
inline constexpr uint64_t kMaxEntriesPerPe = 65535;  // what a 16-bit pointer reaches

inline uint8_t entry(uint8_t index, uint8_t zeros) { return static_cast<uint8_t>(zeros << 4 | index); }
inline uint8_t entry_index(uint8_t e) { return e & 0xf; }
inline uint8_t entry_zeros(uint8_t e) { return e >> 4; }

struct PeColumns {
  std::vector<uint16_t> pointers;  // cols + 1
  std::vector<uint8_t> entries;
};

struct SparseLayer {
  uint32_t rows = 0, cols = 0, pes = 1;
  int codebook_size = 1;                            // entries in use
  std::array<int16_t, kCodebookEntries> codebook{};  // [0] is 0
  std::vector<int32_t> bias;                        // per row
  std::vector<PeColumns> pe;                        // per PE

  // Rows of PE p (its local rows 0 .. local_rows(p) - 1).
  uint32_t local_rows(uint32_t p) const { return rows / pes + (p < rows % pes ? 1 : 0); }
  // The entries of PE p, fillers included.
  uint64_t entries(uint32_t p) const { return pe[p].entries.size(); }
  friend bool operator==(const SparseLayer& a, const SparseLayer& b);
};

// Compresses a rows x cols matrix of codebook indices (row-major; index 0 is a zero weight) for an
// engine of `pes` PEs. Throws ProgramError when a PE's entries exceed what its 16-bit pointers reach.
SparseLayer encode(const std::vector<uint8_t>& indices, uint32_t rows, uint32_t cols, uint32_t pes,
                   const std::array<int16_t, kCodebookEntries>& codebook, int codebook_size,
                   const std::vector<int32_t>& bias);

// Why a layer cannot live in PEs with SRAMs of these bytes, or "": a PE holds 2 (cols + 1) bytes
// of column pointers, an int32 accumulator per local row and, given each PE's entries (or the
// encoded layer), its entries (a byte each, and no more than its 16-bit pointers reach). The one
// statement of it, for the compiler and the engine.
std::string sram_problem(uint64_t rows, uint64_t cols, uint64_t pes, uint64_t spmat_bytes, uint64_t pointer_bytes,
                         uint64_t accumulator_bytes, const std::vector<uint64_t>* pe_entries = nullptr);
std::string sram_problem(uint64_t rows, uint64_t cols, uint64_t pes, uint64_t spmat_bytes, uint64_t pointer_bytes,
                         uint64_t accumulator_bytes, const SparseLayer& layer);

// Adds to entries[p] what PE p holds of one column of `rows` codebook indices (row r at
// column[r * stride]; PE p has rows p, p + pes, ...): its non-zeros and the fillers before them.
// Columns are encoded independently, so a layer's entries are the sum over its columns.
void add_column_entries(const uint8_t* column, uint64_t stride, uint32_t rows, uint32_t pes, uint64_t* entries);

// The rows x cols matrix of codebook indices a layer holds (the inverse of encode).
std::vector<uint8_t> decode(const SparseLayer& layer);

std::vector<uint8_t> serialize(const SparseLayer& layer);
// Bytes the image of `layer` takes (what an spmv reads from weight DRAM to load it).
uint64_t image_bytes(const SparseLayer& layer);
// Reads and checks an image of at most `size` bytes: the header, pointers that start at 0, never
// decrease and end at the PE's entries, columns that do not run past the PE's rows, codebook
// indices inside the codebook. Throws ProgramError, prefixed by `context`, naming what is wrong.
SparseLayer parse(const uint8_t* data, size_t size, const std::string& context);

}  // namespace tpu::isa::sparse
