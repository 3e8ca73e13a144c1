#include "tools/train/packed_weights.h"

#include <cstring>
#include <optional>
#include <stdexcept>

#include "isa/bytes.h"
#include "tools/train/huffman.h"

namespace tpu::train {

namespace {

constexpr char kMagic[8] = {'T', 'P', 'U', 'D', 'C', 'Z', '0', '1'};

// The bits an unsigned value needs (at least 1).
int bits_of(uint64_t v) {
  int b = 1;
  while (b < 64 && (v >> b) != 0) ++b;
  return b;
}

// Values of `width` bits, most significant first, the last byte padded with zeros.
std::vector<uint8_t> pack_bits(const std::vector<uint64_t>& values, int width) {
  std::vector<uint8_t> out((values.size() * static_cast<uint64_t>(width) + 7) / 8, 0);
  uint64_t bit = 0;
  for (uint64_t v : values)
    for (int b = width - 1; b >= 0; --b, ++bit)
      if (v >> b & 1) out[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
  return out;
}

std::vector<uint64_t> unpack_bits(const uint8_t* p, uint64_t count, int width) {
  std::vector<uint64_t> out(count, 0);
  uint64_t bit = 0;
  for (uint64_t& v : out)
    for (int b = 0; b < width; ++b, ++bit) v = v << 1 | ((p[bit / 8] >> (7 - bit % 8)) & 1);
  return out;
}

uint64_t packed_bytes(uint64_t count, int width) { return (count * static_cast<uint64_t>(width) + 7) / 8; }

void put_f32(isa::ByteWriter& w, float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  w.u32(u);
}

float get_f32(isa::ByteReader& r, const char* what) {
  const uint32_t u = r.u32(what);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// A stream's Huffman code when coding it makes it smaller than fixed width (its table and bit count
// included); none otherwise.
std::optional<HuffmanData> huffman_if_smaller(const std::vector<uint8_t>& symbols, int width) {
  if (symbols.empty()) return std::nullopt;
  HuffmanData d = huffman_encode(symbols);
  if (d.code.table_bytes() + 4 + (d.bits + 7) / 8 >= packed_bytes(symbols.size(), width)) return std::nullopt;
  return d;
}

// One stream of symbols: Huffman coded by `code`, or at fixed width without one. Returns the
// stream's bits (tables apart).
uint64_t write_stream(isa::ByteWriter& w, const std::vector<uint8_t>& symbols, int width,
                      const std::optional<HuffmanData>& code, uint64_t* table_bytes) {
  if (!code) {
    const std::vector<uint8_t> bytes = pack_bits(std::vector<uint64_t>(symbols.begin(), symbols.end()), width);
    w.bytes(bytes.data(), bytes.size());
    return symbols.size() * static_cast<uint64_t>(width);
  }
  const HuffmanData& d = *code;
  if (d.bits > UINT32_MAX) throw std::invalid_argument("a Huffman stream of more than 2^32 bits does not fit the file");
  const size_t start = w.size();
  int used = 0;
  for (uint8_t l : d.code.lengths) used += l > 0;
  w.u8(static_cast<uint8_t>(used - 1));
  for (int s = 0; s < 256; ++s)
    if (d.code.lengths[s] > 0) {
      w.u8(static_cast<uint8_t>(s));
      w.u8(d.code.lengths[s]);
    }
  *table_bytes += w.size() - start;
  w.u32(static_cast<uint32_t>(d.bits));
  w.bytes(d.bytes.data(), d.bytes.size());
  return d.bits;
}

std::vector<uint8_t> read_stream(isa::ByteReader& r, uint64_t count, int width, Coding coding, const std::string& what) {
  if (coding == Coding::kFixed || count == 0) {
    const uint8_t* p = r.bytes(packed_bytes(count, width), what.c_str());
    const std::vector<uint64_t> v = unpack_bits(p, count, width);
    return std::vector<uint8_t>(v.begin(), v.end());
  }
  HuffmanData d;
  const int used = r.u8((what + " code table").c_str()) + 1;
  // A canonical code's lengths must fill the code space exactly (Kraft's sum is 1), or with one
  // symbol be one bit; otherwise the words the decoder rebuilds would collide.
  unsigned __int128 kraft = 0;
  int last = -1;
  for (int i = 0; i < used; ++i) {
    const int s = r.u8((what + " code table").c_str());
    const int l = r.u8((what + " code table").c_str());
    if (s <= last) r.fail(what + ": the code table's symbols are not in ascending order");
    if (l < 1 || l > 64) r.fail(what + ": a code length of " + std::to_string(l) + " bits (1 to 64)");
    if (s >= (1 << width)) r.fail(what + ": symbol " + std::to_string(s) + " does not fit " + std::to_string(width) + " bits");
    last = s;
    d.code.lengths[static_cast<size_t>(s)] = static_cast<uint8_t>(l);
    kraft += static_cast<unsigned __int128>(1) << (64 - l);
  }
  const unsigned __int128 full = static_cast<unsigned __int128>(1) << 64;
  if (!(kraft == full || (used == 1 && kraft == full / 2)))
    r.fail(what + ": the code lengths do not make a complete prefix code");
  d.code = HuffmanCode::from_lengths(d.code.lengths);
  d.bits = r.u32((what + " bits").c_str());
  if (count > d.bits) r.fail(what + ": " + std::to_string(d.bits) + " bits for " + std::to_string(count) + " symbols");
  d.symbols = count;
  const uint8_t* p = r.bytes((d.bits + 7) / 8, what.c_str());
  d.bytes.assign(p, p + (d.bits + 7) / 8);
  try {
    return huffman_decode(d);
  } catch (const std::invalid_argument& e) {
    r.fail(what + ": " + e.what());
  }
}

}  // namespace

uint64_t packed_header_bytes() { return sizeof kMagic + 4; }

PackedLayer pack_layer(const std::string& name, uint32_t inputs, uint32_t outputs, const std::vector<float>& weights,
                       const std::vector<float>& bias, const std::vector<float>& codebook, int weight_bits,
                       int index_bits) {
  const std::string where = "layer " + name + ": ";
  if (weights.size() != uint64_t{inputs} * outputs || bias.size() != outputs)
    throw std::invalid_argument(where + "weights or bias do not match " + std::to_string(inputs) + " x " +
                                std::to_string(outputs));
  if (index_bits < 1 || index_bits > 8) throw std::invalid_argument(where + "index bits must be 1 to 8");
  if (name.size() > 255) throw std::invalid_argument(where + "a name of more than 255 bytes does not fit the file");
  const bool shared = !codebook.empty();
  if (shared ? (weight_bits < 1 || weight_bits > 8 || codebook.size() > (1u << weight_bits) - 1) : weight_bits != 32)
    throw std::invalid_argument(where + "a codebook of " + std::to_string(codebook.size()) + " values with " +
                                std::to_string(weight_bits) + "-bit weights (1-8 bits and at most 2^bits - 1 values, "
                                "or no codebook and 32)");
  PackedLayer l;
  l.name = name;
  l.inputs = inputs;
  l.outputs = outputs;
  l.weight_bits = weight_bits;
  l.index_bits = index_bits;
  l.codebook = codebook;
  l.bias = bias;
  const uint32_t longest = (1u << index_bits) - 1;
  for (uint32_t k = 0; k < inputs; ++k) {
    uint32_t run = 0;
    for (uint32_t n = 0; n < outputs; ++n) {
      const float w = weights[uint64_t{k} * outputs + n];
      if (w == 0) {
        ++run;
        continue;
      }
      while (run > longest) {  // a filler: `longest` zeros, then a zero entry
        l.zeros.push_back(static_cast<uint8_t>(longest));
        l.symbol.push_back(0);
        if (!shared) l.value.push_back(0);
        run -= longest + 1;
      }
      uint8_t s = 0;
      if (shared) {
        for (size_t c = 0; c < codebook.size() && s == 0; ++c)
          if (codebook[c] == w) s = static_cast<uint8_t>(c + 1);
        if (s == 0)
          throw std::invalid_argument(where + "weight [" + std::to_string(k) + "][" + std::to_string(n) +
                                      "] is no codebook value");
      } else {
        l.value.push_back(w);
      }
      l.zeros.push_back(static_cast<uint8_t>(run));
      l.symbol.push_back(s);
      run = 0;
    }
    l.column_end.push_back(static_cast<uint32_t>(l.zeros.size()));
  }
  return l;
}

std::vector<float> unpack_weights(const PackedLayer& l) {
  std::vector<float> w(uint64_t{l.inputs} * l.outputs, 0.0f);
  uint64_t e = 0;
  for (uint32_t k = 0; k < l.inputs; ++k) {
    uint64_t n = 0;
    for (; e < l.column_end[k]; ++e) {
      n += l.zeros[e];
      const float v = l.codebook.empty() ? l.value[e] : (l.symbol[e] == 0 ? 0.0f : l.codebook[l.symbol[e] - 1u]);
      w[uint64_t{k} * l.outputs + n] = v;
      ++n;
    }
  }
  return w;
}

std::vector<uint8_t> serialize_packed(const std::vector<PackedLayer>& layers, Coding coding,
                                      std::vector<StoredSize>* sizes) {
  isa::ByteWriter w;
  w.bytes(reinterpret_cast<const uint8_t*>(kMagic), sizeof kMagic);
  w.u32(static_cast<uint32_t>(layers.size()));
  for (const PackedLayer& l : layers) {
    StoredSize s;
    const size_t start = w.size();
    const bool shared = !l.codebook.empty();
    const uint64_t entries = l.zeros.size();
    w.u8(static_cast<uint8_t>(l.name.size()));
    w.bytes(reinterpret_cast<const uint8_t*>(l.name.data()), l.name.size());
    w.u32(l.inputs);
    w.u32(l.outputs);
    w.u8(static_cast<uint8_t>(l.weight_bits));
    w.u8(static_cast<uint8_t>(l.index_bits));
    // Huffman coding asked for: each stream coded so where that is smaller than its fixed widths.
    const bool huffman = coding == Coding::kHuffman;
    const std::optional<HuffmanData> weights =
        huffman && shared ? huffman_if_smaller(l.symbol, l.weight_bits) : std::nullopt;
    const std::optional<HuffmanData> indices = huffman ? huffman_if_smaller(l.zeros, l.index_bits) : std::nullopt;
    w.u8(static_cast<uint8_t>((weights ? 1 : 0) | (indices ? 2 : 0)));
    w.u32(static_cast<uint32_t>(entries));
    size_t at = w.size();
    if (shared) {
      w.u8(static_cast<uint8_t>(l.codebook.size()));
      for (float c : l.codebook) put_f32(w, c);
    }
    s.codebook_bytes = w.size() - at;
    at = w.size();
    for (float b : l.bias) put_f32(w, b);
    s.bias_bytes = w.size() - at;
    at = w.size();
    const std::vector<uint8_t> ends =
        pack_bits(std::vector<uint64_t>(l.column_end.begin(), l.column_end.end()), bits_of(entries));
    w.bytes(ends.data(), ends.size());
    s.pointer_bytes = w.size() - at;
    if (shared) {
      s.weight_bits = write_stream(w, l.symbol, l.weight_bits, weights, &s.weight_table_bytes);
    } else {
      for (float v : l.value) put_f32(w, v);
      s.weight_bits = 32 * entries;
    }
    s.index_bits = write_stream(w, l.zeros, l.index_bits, indices, &s.index_table_bytes);
    s.bytes = w.size() - start;
    s.entries = entries;
    for (size_t e = 0; e < entries; ++e) s.fillers += l.symbol[e] == 0 && (shared || l.value[e] == 0);
    if (sizes) sizes->push_back(s);
  }
  return std::move(w.data());
}

std::vector<PackedLayer> parse_packed(const std::vector<uint8_t>& bytes, const std::string& file) {
  isa::ByteReader r(bytes.data(), bytes.size(), file);
  const uint8_t* magic = r.bytes(sizeof kMagic, "magic");
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) r.fail("not a packed weights file (no TPUDCZ01 magic)");
  const uint32_t count = r.u32("layer count");
  std::vector<PackedLayer> layers;
  for (uint32_t i = 0; i < count; ++i) {
    PackedLayer l;
    const uint8_t name_length = r.u8("layer name");
    const uint8_t* name = r.bytes(name_length, "layer name");
    l.name.assign(reinterpret_cast<const char*>(name), name_length);
    const std::string what = "layer " + l.name;
    auto of = [&](const char* field) { return what + " " + field; };  // a read's name in a truncation error
    l.inputs = r.u32(of("inputs").c_str());
    l.outputs = r.u32(of("outputs").c_str());
    l.weight_bits = r.u8(of("weight bits").c_str());
    l.index_bits = r.u8(of("index bits").c_str());
    const uint8_t coding_byte = r.u8(of("coding").c_str());
    const uint32_t entries = r.u32(of("entries").c_str());
    if (!(l.weight_bits == 32 || (l.weight_bits >= 1 && l.weight_bits <= 8)))
      r.fail(what + ": weight bits " + std::to_string(l.weight_bits) + " (1 to 8, or 32)");
    if (l.index_bits < 1 || l.index_bits > 8) r.fail(what + ": index bits " + std::to_string(l.index_bits) + " (1 to 8)");
    if (coding_byte > 3)
      r.fail(what + ": coding " + std::to_string(coding_byte) + " (bit 0: weights Huffman coded, bit 1: indices)");
    if (l.weight_bits == 32 && (coding_byte & 1)) r.fail(what + ": float32 weights Huffman coded");
    const Coding weight_coding = coding_byte & 1 ? Coding::kHuffman : Coding::kFixed;
    const Coding index_coding = coding_byte & 2 ? Coding::kHuffman : Coding::kFixed;
    // Each entry covers at least one weight, so a column never has more entries than outputs.
    if (uint64_t{entries} > uint64_t{l.inputs} * l.outputs)
      r.fail(what + ": " + std::to_string(entries) + " entries for " + std::to_string(l.inputs) + " x " +
             std::to_string(l.outputs) + " weights");
    const bool shared = l.weight_bits <= 8;
    if (shared) {
      const uint8_t size = r.u8(of("codebook size").c_str());
      if (size > (1u << l.weight_bits) - 1)
        r.fail(what + ": a codebook of " + std::to_string(size) + " values for " + std::to_string(l.weight_bits) + "-bit weights");
      for (int c = 0; c < size; ++c) l.codebook.push_back(get_f32(r, of("codebook").c_str()));
      if (l.codebook.empty()) r.fail(what + ": an empty codebook");
    }
    if (l.outputs > (bytes.size() - r.pos()) / 4) r.fail(what + ": truncated biases");
    for (uint32_t n = 0; n < l.outputs; ++n) l.bias.push_back(get_f32(r, of("biases").c_str()));
    const int width = bits_of(entries);
    const uint8_t* ends = r.bytes(packed_bytes(l.inputs, width), of("column ends").c_str());
    for (uint64_t v : unpack_bits(ends, l.inputs, width)) l.column_end.push_back(static_cast<uint32_t>(v));
    for (uint32_t k = 0; k < l.inputs; ++k)
      if (l.column_end[k] > entries || (k > 0 && l.column_end[k] < l.column_end[k - 1]))
        r.fail(what + ": column " + std::to_string(k) + " ends at entry " + std::to_string(l.column_end[k]) +
               ", out of order or past the " + std::to_string(entries) + " entries");
    if (l.inputs > 0 && l.column_end.back() != entries)
      r.fail(what + ": the columns hold " + std::to_string(l.column_end.back()) + " of " + std::to_string(entries) + " entries");
    if (shared) {
      l.symbol = read_stream(r, entries, l.weight_bits, weight_coding, what + " weights");
      for (uint8_t s : l.symbol)
        if (s > l.codebook.size()) r.fail(what + ": weight index " + std::to_string(s) + " past the codebook");
    } else {
      if (entries > (bytes.size() - r.pos()) / 4) r.fail(what + ": truncated weights");
      for (uint32_t e = 0; e < entries; ++e) l.value.push_back(get_f32(r, of("weights").c_str()));
      l.symbol.assign(entries, 0);
    }
    l.zeros = read_stream(r, entries, l.index_bits, index_coding, what + " indices");
    // Every entry must land inside its column.
    uint64_t e = 0;
    for (uint32_t k = 0; k < l.inputs; ++k) {
      uint64_t n = 0;
      for (; e < l.column_end[k]; ++e) n += l.zeros[e] + 1u;
      if (n > l.outputs)
        r.fail(what + ": column " + std::to_string(k) + "'s entries reach row " + std::to_string(n - 1) + " of " +
               std::to_string(l.outputs));
    }
    layers.push_back(std::move(l));
  }
  if (!r.done()) r.fail("bytes after the last layer");
  return layers;
}

}  // namespace tpu::train
