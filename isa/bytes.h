#pragma once

// Little-endian byte streams for the program container and the images it
// carries: a writer, and a bounds-checked reader whose every failure names
// what it was reading.

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "isa/program.h"

namespace tpu::isa {

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) { le(v, 2); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void bytes(const uint8_t* p, size_t n) { out_.insert(out_.end(), p, p + n); }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
  void pad8() {
    while (out_.size() % 8) out_.push_back(0);
  }
  std::vector<uint8_t>& data() { return out_; }
  size_t size() const { return out_.size(); }
  void reserve(size_t n) { out_.reserve(n); }
  void patch_u64(size_t at, uint64_t v) {
    for (int i = 0; i < 8; ++i) out_[at + i] = static_cast<uint8_t>(v >> (8 * i));
  }

 private:
  void le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

// Bounds-checked reader over one region; every failure names what was being read (a ProgramError
// prefixed by the context).
class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n, std::string context) : p_(p), n_(n), context_(std::move(context)) {}
  uint8_t u8(const char* what) { return static_cast<uint8_t>(le(1, what)); }
  uint16_t u16(const char* what) { return static_cast<uint16_t>(le(2, what)); }
  uint32_t u32(const char* what) { return static_cast<uint32_t>(le(4, what)); }
  uint64_t u64(const char* what) { return le(8, what); }
  const uint8_t* bytes(uint64_t n, const char* what) {
    need(n, what);
    const uint8_t* r = p_ + pos_;
    pos_ += n;
    return r;
  }
  std::string str(const char* what) {
    const uint32_t n = u32(what);
    const uint8_t* b = bytes(n, what);
    return std::string(reinterpret_cast<const char*>(b), n);
  }
  void skip_pad8() { pos_ = std::min(n_, (pos_ + 7) / 8 * 8); }
  bool done() const { return pos_ >= n_; }
  size_t pos() const { return pos_; }
  [[noreturn]] void fail(const std::string& msg) const { throw ProgramError(context_ + ": " + msg); }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > n_ - pos_)
      fail(std::string("truncated ") + what + " (needs " + std::to_string(n) + " bytes at offset " +
           std::to_string(pos_) + ", " + std::to_string(n_ - pos_) + " left)");
  }
  uint64_t le(int n, const char* what) {
    need(n, what);
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= uint64_t{p_[pos_ + i]} << (8 * i);
    pos_ += n;
    return v;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  std::string context_;
};

}  // namespace tpu::isa
