#pragma once

// Deep Compression's storage (Han, Mao and Dally, ICLR 2016, Sec. 2 and 4): a
// network's pruned and shared weights as they would be shipped, in a packed
// file whose size is the size reported for them. Each layer's weight matrix
// (as the compiler holds it: [K inputs][N outputs]; a conv2d's K is kh kw Cin,
// its N Cout) is stored column by column, a column being one input's weights
// to every output (as the sparse engine reads them). Each entry is a weight
// and its relative index: how many zeros come before it in its column. A gap
// longer than the index width holds is bridged by filler entries (weight 0,
// the longest run), which count in the size like any entry.
//
// The file, little-endian:
//   "TPUDCZ01", u32 layers, then per layer:
//   u8 name length, the name; u32 K, u32 N; u8 weight bits b (1-8: a codebook of
//   at most 2^b - 1 values, index 0 the zero; 32: each entry a float32 value);
//   u8 index bits r (1-8); u8 coding (bit 0: the weights Huffman coded, bit 1: the indices; each
//   stream is coded so only where that makes it smaller, tables included); u32 entries;
//   u8 codebook size then its float32 values (shared layers only); N float32 biases;
//   K column ends (entries so far), each p bits with p the bits of `entries`, padded to a byte;
//   the weight stream; the index stream. A fixed-width stream is its entries at b (or r) bits,
//   padded to a byte (float32 values: 4 bytes each). A Huffman stream (tools/train/huffman.h) is
//   its code table (u8 symbols - 1, then a u8 symbol and u8 length each), u32 bits, the bits
//   padded to a byte. Float32 weights are never Huffman coded.

#include <cstdint>
#include <string>
#include <vector>

namespace tpu::train {

enum class Coding { kFixed, kHuffman };

struct PackedLayer {
  std::string name;
  uint32_t inputs = 0, outputs = 0;  // K, N
  int weight_bits = 32, index_bits = 4;
  std::vector<float> codebook;  // the shared values (the zero is index 0, not stored); empty for float32
  std::vector<float> bias;      // N
  // Entries, column by column: where each column ends, and per entry its zeros before it and its
  // weight (a codebook index from 1, 0 for a zero, or a float32 value).
  std::vector<uint32_t> column_end;
  std::vector<uint8_t> zeros, symbol;
  std::vector<float> value;
};

// The layer's entries from its weights ([K][N], row-major) and bias. With `codebook` (at most
// 2^weight_bits - 1 values), every weight must be zero or one of its values exactly; without it,
// weight_bits is 32. Throws std::invalid_argument naming the layer and the weight otherwise.
PackedLayer pack_layer(const std::string& name, uint32_t inputs, uint32_t outputs, const std::vector<float>& weights,
                       const std::vector<float>& bias, const std::vector<float>& codebook, int weight_bits,
                       int index_bits);

// The weights back, [K][N].
std::vector<float> unpack_weights(const PackedLayer& layer);

// What a layer takes in the file, in bytes and bits.
struct StoredSize {
  uint64_t bytes = 0;  // the layer's whole record
  uint64_t weight_bits = 0, index_bits = 0;  // the two streams' bits (Huffman tables not included)
  uint64_t weight_table_bytes = 0, index_table_bytes = 0;  // their Huffman code tables
  uint64_t pointer_bytes = 0, codebook_bytes = 0, bias_bytes = 0;
  uint64_t entries = 0, fillers = 0;
};

// The file's bytes, every stream fixed width or (kHuffman) Huffman coded where that is smaller;
// `sizes`, when given, gets each layer's share (the rest is the file's header).
std::vector<uint8_t> serialize_packed(const std::vector<PackedLayer>& layers, Coding coding,
                                      std::vector<StoredSize>* sizes = nullptr);
// The layers of a file's bytes. Throws isa::ProgramError naming `file`, the layer and what is wrong.
std::vector<PackedLayer> parse_packed(const std::vector<uint8_t>& bytes, const std::string& file);

// The bytes of the file's header (before the first layer).
uint64_t packed_header_bytes();

}  // namespace tpu::train
