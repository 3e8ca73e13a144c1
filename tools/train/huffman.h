#pragma once

// Huffman coding of byte symbols (Deep Compression's last stage: the shared
// weights' indices and the sparse relative indices, per layer). The code is
// canonical: it is fixed by each symbol's code length, so the table stored
// with the data is a length per symbol; lengths come from the counts, ties
// broken by symbol, so the same data always gives the same bits.

#include <array>
#include <cstdint>
#include <vector>

namespace tpu::train {

struct HuffmanCode {
  std::array<uint8_t, 256> lengths{};  // 0: the symbol does not occur
  std::array<uint64_t, 256> words{};   // the canonical code word of each, in its low `length` bits

  // The code of these counts (a single symbol gets one bit). Throws std::invalid_argument when
  // there is nothing to code or a code would exceed 64 bits.
  static HuffmanCode of(const std::array<uint64_t, 256>& counts);
  // The code from its lengths alone, as a decoder rebuilds it from the stored table.
  static HuffmanCode from_lengths(const std::array<uint8_t, 256>& lengths);
  // Bytes of the stored table: the number of symbols coded, then a (symbol, length) pair each.
  uint64_t table_bytes() const;
};

struct HuffmanData {
  HuffmanCode code;
  std::vector<uint8_t> bytes;  // the code words, first bit the most significant of bytes[0]
  uint64_t bits = 0;
  uint64_t symbols = 0;
};

HuffmanData huffman_encode(const std::vector<uint8_t>& symbols);
// The symbols back. Throws std::invalid_argument for data that does not decode to `data.symbols`.
std::vector<uint8_t> huffman_decode(const HuffmanData& data);

}  // namespace tpu::train
