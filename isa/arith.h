#pragma once

// The exact integer arithmetic the instruction semantics are written in (the
// "Arithmetic" section of isa/ISA.md): requantization in each rounding mode,
// saturation, the activation functions and their lookup tables, pooling
// averages and the vector combinations. Pure functions, shared by the chip
// model, the reference interpreters and the compiler, so that all of them
// round the same way.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include "isa/isa.h"

namespace tpu::isa::arith {

inline constexpr int kMinShift = -31;
inline constexpr int kMaxShift = 31;

constexpr int8_t sat8(int64_t v) { return static_cast<int8_t>(std::clamp<int64_t>(v, -128, 127)); }
constexpr int32_t sat32(int64_t v) { return static_cast<int32_t>(std::clamp<int64_t>(v, INT32_MIN, INT32_MAX)); }

// n / 2^s rounded by `mode`, for s >= 0, exactly.
constexpr __int128 round_shift(__int128 n, int s, Rounding mode) {
  if (s == 0) return n;
  const __int128 floor = n >> s;  // arithmetic shift: rounds toward minus infinity
  if (mode == Rounding::floor) return floor;
  const __int128 rem = n - (floor << s);  // in [0, 2^s)
  const __int128 half = __int128{1} << (s - 1);
  if (rem > half) return floor + 1;
  if (rem < half) return floor;
  // A tie: away from zero, or to the even neighbour.
  if (mode == Rounding::half_away) return n >= 0 ? floor + 1 : floor;
  return (floor & 1) ? floor + 1 : floor;
}

// requant(t, mult, shift): t * mult / 2^(31 + shift), rounded by `mode`.
// shift lies in [kMinShift, kMaxShift], so 31 + shift is never negative.
constexpr int64_t requant(int64_t t, int32_t mult, int shift, Rounding mode) {
  const __int128 product = static_cast<__int128>(t) * mult;
  const __int128 r = round_shift(product, 31 + shift, mode);
  // |r| <= 2^63 (reached by t = mult = INT32_MIN... with shift -31); clamp so it fits.
  const __int128 lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(r < lo ? lo : r > hi ? hi : r);
}

// The integer a real value `real` stands for at `scale` and zero point zp:
// round(real / scale) (halves away from zero) + zp, saturated far outside
// any 8-bit range first so the rounding stays defined; NaN reads as 0.
inline int64_t quantize(double real, double scale, int zp) {
  const double x = std::isnan(real) ? 0.0 : std::clamp(real / scale, -1e6, 1e6);
  return std::llround(x) + zp;
}

// sat8(zp + requant(...)), saturating the sum before it can overflow.
constexpr int8_t requant8(int64_t t, int32_t mult, int shift, int zp, Rounding mode) {
  const int64_t r = requant(t, mult, shift, mode);
  return sat8(std::clamp<int64_t>(r, -1024, 1024) + zp);
}

// A 256-entry table indexed by the int8 input (entry q + 128).
using Lut = std::array<int8_t, 256>;

// The table of a nonlinearity for zero point zp and `frac` fraction bits:
// input q means (q - zp) / 2^frac. sigmoid gives round(256 * sigmoid(x)) - 128
// and tanh round(128 * tanh(x)), gelu zp + round(2^frac * x * Phi(x)), rounding
// halves away from zero, saturated.
inline Lut function_table(ActFunc func, int zp, int frac) {
  Lut lut{};
  for (int q = -128; q <= 127; ++q) {
    const double x = std::ldexp(static_cast<double>(q - zp), -frac);
    int64_t y = q;
    switch (func) {
      case ActFunc::identity: y = q; break;
      case ActFunc::relu: y = std::max(q, zp); break;
      case ActFunc::relu6: y = std::min<int64_t>(std::max(q, zp), zp + (int64_t{6} << frac)); break;
      case ActFunc::sigmoid: y = static_cast<int64_t>(std::round(256.0 / (1.0 + std::exp(-x)))) - 128; break;
      case ActFunc::tanh: y = static_cast<int64_t>(std::round(128.0 * std::tanh(x))); break;
      case ActFunc::gelu:
        y = zp + static_cast<int64_t>(std::round(std::ldexp(x * 0.5 * std::erfc(-x / std::sqrt(2.0)), frac)));
        break;
    }
    lut[static_cast<size_t>(q + 128)] = sat8(y);
  }
  return lut;
}

// Whether a function is a table lookup in the activation unit (the others are comparisons).
constexpr bool is_lookup(ActFunc func) {
  return func == ActFunc::sigmoid || func == ActFunc::tanh || func == ActFunc::gelu;
}

inline int8_t lookup(const Lut& lut, int8_t q) { return lut[static_cast<size_t>(q + 128)]; }

// Mean of `count` values summing to `sum`, rounded by `mode` (count > 0).
constexpr int8_t average(int64_t sum, int64_t count, Rounding mode) {
  int64_t q = sum / count;  // truncates toward zero
  int64_t r = sum % count;  // same sign as sum
  if (r < 0) {              // floor division
    q -= 1;
    r += count;
  }
  if (mode == Rounding::floor || r == 0) return sat8(q);
  if (2 * r > count) return sat8(q + 1);
  if (2 * r < count) return sat8(q);
  if (mode == Rounding::half_away) return sat8(sum >= 0 ? q + 1 : q);
  return sat8((q & 1) ? q + 1 : q);
}

// The int32 combination of one element pair in `vop`.
constexpr int64_t combine(VecOp op, int a, int b, int za, int zb, int ma, int mb) {
  const int64_t x = a - za, y = b - zb;
  switch (op) {
    case VecOp::add: return ma * x + mb * y;
    case VecOp::mul: return x * y;
    case VecOp::max: return std::max(ma * x, mb * y);
    case VecOp::min: return std::min(ma * x, mb * y);
  }
  return 0;
}

}  // namespace tpu::isa::arith
