// The ISA's arithmetic against independent statements of its definitions.

#include <gtest/gtest.h>

#include <cmath>

#include "isa/arith.h"

namespace tpu::isa::arith {
namespace {

// n / 2^s rounded, written from the definition with exact comparisons of 2n against multiples of 2^s.
int64_t rounded(int64_t n, int s, Rounding mode) {
  const int64_t d = int64_t{1} << s;
  int64_t q = n / d;
  if (n % d != 0 && n < 0) --q;  // q = floor(n / d)
  const int64_t twice_rem = 2 * (n - q * d);
  if (mode == Rounding::floor) return q;
  if (twice_rem > d) return q + 1;
  if (twice_rem < d) return q;
  if (mode == Rounding::half_away) return n > 0 ? q + 1 : q;
  return q % 2 == 0 ? q : q + 1;
}

TEST(Arith, RoundShiftMatchesTheDefinitionExhaustively) {
  for (Rounding mode : {Rounding::half_away, Rounding::half_even, Rounding::floor})
    for (int s = 0; s <= 6; ++s)
      for (int64_t n = -300; n <= 300; ++n)
        ASSERT_EQ(static_cast<int64_t>(round_shift(n, s, mode)), rounded(n, s, mode)) << n << " " << s;
}

TEST(Arith, TiesRoundAsNamed) {
  EXPECT_EQ(requant(5, int32_t{1} << 30, 1, Rounding::half_away), 1);    // 5 * 0.5 / 2 = 1.25
  EXPECT_EQ(requant(6, int32_t{1} << 30, 1, Rounding::half_away), 2);    // 1.5 -> 2
  EXPECT_EQ(requant(-6, int32_t{1} << 30, 1, Rounding::half_away), -2);  // -1.5 -> -2
  EXPECT_EQ(requant(6, int32_t{1} << 30, 1, Rounding::half_even), 2);    // 1.5 -> 2
  EXPECT_EQ(requant(10, int32_t{1} << 30, 1, Rounding::half_even), 2);   // 2.5 -> 2
  EXPECT_EQ(requant(-6, int32_t{1} << 30, 1, Rounding::floor), -2);      // -1.5 -> -2
}

TEST(Arith, RequantIsExactAtTheExtremes) {
  // (2^31 - 1) * (2^31 - 1) / 2^(31 + shift), compared in long double, which holds 64 bits of mantissa.
  for (int shift : {-31, -1, 0, 7, 31}) {
    const int64_t t = INT32_MAX;
    const int64_t got = requant(t, INT32_MAX, shift, Rounding::floor);
    const long double exact = std::floor(std::ldexp(static_cast<long double>(t) * INT32_MAX, -(31 + shift)));
    EXPECT_EQ(static_cast<long double>(got), exact) << shift;
  }
  EXPECT_EQ(requant(INT64_MIN / 4, INT32_MIN, 31, Rounding::half_away),
            static_cast<int64_t>(std::ldexp(-static_cast<long double>(INT64_MIN / 4), -31)));
}

TEST(Arith, TheLargestProductSaturatesInsteadOfWrapping) {
  // (INT32_MIN + INT32_MIN) * INT32_MIN / 2^0 = 2^63, one past int64.
  const int64_t t = int64_t{INT32_MIN} + INT32_MIN;
  EXPECT_EQ(requant(t, INT32_MIN, -31, Rounding::floor), INT64_MAX);
  EXPECT_EQ(requant8(t, INT32_MIN, -31, 0, Rounding::floor), 127);
}

TEST(Arith, Requant8SaturatesAfterTheZeroPoint) {
  EXPECT_EQ(requant8(1 << 20, INT32_MAX, 0, 10, Rounding::half_away), 127);
  EXPECT_EQ(requant8(-(1 << 20), INT32_MAX, 0, 10, Rounding::half_away), -128);
  EXPECT_EQ(requant8(100, int32_t{1} << 30, 0, -60, Rounding::half_away), -10);
}

TEST(Arith, FunctionTablesFollowTheirFormulas) {
  const Lut sig = function_table(ActFunc::sigmoid, 0, 4);
  const Lut th = function_table(ActFunc::tanh, -3, 5);
  const Lut r6 = function_table(ActFunc::relu6, 2, 3);
  const Lut relu = function_table(ActFunc::relu, -7, 0);
  for (int q = -128; q <= 127; ++q) {
    const double x = (q - 0) / 16.0;
    EXPECT_EQ(lookup(sig, int8_t(q)), sat8(std::lround(256.0 / (1.0 + std::exp(-x))) - 128)) << q;
    EXPECT_EQ(lookup(th, int8_t(q)), sat8(std::lround(128.0 * std::tanh((q + 3) / 32.0)))) << q;
    EXPECT_EQ(lookup(r6, int8_t(q)), std::min(std::max(q, 2), 2 + 6 * 8)) << q;
    EXPECT_EQ(lookup(relu, int8_t(q)), std::max(q, -7)) << q;
  }
  EXPECT_EQ(lookup(function_table(ActFunc::relu6, 0, 7), 127), 127);  // 6 * 128 saturates
}

TEST(Arith, QuantizeRoundsHalvesAwayAndSaturatesBeforeRounding) {
  EXPECT_EQ(quantize(0.25, 0.1, 3), 6);    // 2.5 -> 3
  EXPECT_EQ(quantize(-0.25, 0.1, 3), 0);   // -2.5 -> -3
  EXPECT_EQ(quantize(0.04, 0.1, -7), -7);  // 0.4 -> 0
  EXPECT_EQ(quantize(std::nan(""), 0.5, 4), 4);
  EXPECT_EQ(quantize(1e30, 1e-3, 0), 1000000);
  EXPECT_EQ(quantize(-std::numeric_limits<double>::infinity(), 1, 2), -999998);
}

TEST(Arith, GeluTableIsXTimesTheNormalDistributionFunction) {
  for (int zp : {-20, 0, 9})
    for (int frac : {0, 3, 5}) {
      const Lut g = function_table(ActFunc::gelu, zp, frac);
      for (int q = -128; q <= 127; ++q) {
        const double x = (q - zp) / double(1 << frac);
        const double gelu = 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        EXPECT_EQ(lookup(g, int8_t(q)), sat8(zp + std::lround(gelu * (1 << frac)))) << q << " zp " << zp;
      }
    }
  EXPECT_TRUE(is_lookup(ActFunc::gelu));
  EXPECT_FALSE(is_lookup(ActFunc::relu));
}

TEST(Arith, AveragesRoundLikeRequantization) {
  for (Rounding mode : {Rounding::half_away, Rounding::half_even, Rounding::floor})
    for (int64_t sum = -600; sum <= 600; ++sum)
      for (int64_t count : {1, 2, 3, 4, 9}) {
        // sum / count to nearest, via the shift rounding on sum * 2^8 / count when count divides 2^8 evenly.
        const long double exact = static_cast<long double>(sum) / count;
        const int8_t got = average(sum, count, mode);
        const long double floor_v = std::floor(exact), frac = exact - floor_v;
        long double want = floor_v;
        if (mode != Rounding::floor) {
          if (frac > 0.5L) want = floor_v + 1;
          if (frac == 0.5L)
            want = mode == Rounding::half_away ? (exact > 0 ? floor_v + 1 : floor_v)
                                               : (std::fmod(floor_v, 2.0L) == 0 ? floor_v : floor_v + 1);
        }
        ASSERT_EQ(got, sat8(static_cast<int64_t>(want))) << sum << "/" << count;
      }
}

TEST(Arith, VectorCombinations) {
  EXPECT_EQ(combine(VecOp::add, 10, 20, 1, 2, 3, -1), 3 * 9 - 18);
  EXPECT_EQ(combine(VecOp::mul, -128, -128, 0, 0, 0, 0), 16384);
  EXPECT_EQ(combine(VecOp::max, 5, 7, 0, 0, 2, 1), 10);
  EXPECT_EQ(combine(VecOp::min, 5, 7, 0, 0, 2, 1), 7);
}

}  // namespace
}  // namespace tpu::isa::arith
