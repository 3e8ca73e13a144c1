#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tpu::isa {

inline constexpr unsigned kWordBits = 256;
inline constexpr unsigned kWordBytes = kWordBits / 8;
inline constexpr unsigned kOpcodeBits = 8;

// One instruction word: 256 bits, bit 0 the least significant bit of byte 0.
// Bit fields may straddle the 64-bit limbs.
struct Word {
  std::array<uint64_t, kWordBits / 64> limbs{};

  constexpr uint64_t get(unsigned lo, unsigned width) const {
    uint64_t v = 0;
    for (unsigned done = 0; done < width;) {
      const unsigned bit = lo + done;
      const unsigned in_limb = bit % 64;
      const unsigned take = (64 - in_limb) < (width - done) ? 64 - in_limb : width - done;
      const uint64_t part = (limbs[bit / 64] >> in_limb) & mask(take);
      v |= part << done;
      done += take;
    }
    return v;
  }

  constexpr void set(unsigned lo, unsigned width, uint64_t v) {
    for (unsigned done = 0; done < width;) {
      const unsigned bit = lo + done;
      const unsigned in_limb = bit % 64;
      const unsigned take = (64 - in_limb) < (width - done) ? 64 - in_limb : width - done;
      uint64_t& limb = limbs[bit / 64];
      limb &= ~(mask(take) << in_limb);
      limb |= ((v >> done) & mask(take)) << in_limb;
      done += take;
    }
  }

  void to_bytes(uint8_t* out) const {
    for (unsigned i = 0; i < kWordBytes; ++i) out[i] = static_cast<uint8_t>(limbs[i / 8] >> (8 * (i % 8)));
  }

  static Word from_bytes(const uint8_t* in) {
    Word w;
    for (unsigned i = 0; i < kWordBytes; ++i) w.limbs[i / 8] |= uint64_t{in[i]} << (8 * (i % 8));
    return w;
  }

  friend constexpr bool operator==(const Word& a, const Word& b) {
    for (size_t i = 0; i < a.limbs.size(); ++i)
      if (a.limbs[i] != b.limbs[i]) return false;
    return true;
  }
  friend constexpr bool operator!=(const Word& a, const Word& b) { return !(a == b); }

 private:
  static constexpr uint64_t mask(unsigned width) { return width >= 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1; }
};

}  // namespace tpu::isa
