#pragma once

// The register tiles behind tools/train/gemm.h, written once over a vector
// type's operations (Ops) and compiled once per instruction set
// (gemm_avx512.cc, gemm_avx2.cc, gemm_portable.cc; each Ops is its own type,
// so the three instantiations never merge). A tile of C stays in registers
// for the whole sum over k, so each element's terms are added in order
// p = 0 .. k - 1, one fused multiply-add each, whichever tile computes it:
//  - a row tile holds R rows by V vectors of C's columns (B's rows loaded,
//    A's elements broadcast);
//  - a column tile holds V vectors of C's rows by R columns (A's columns
//    loaded, which takes A stored transposed; B's elements broadcast), for a
//    C too narrow to fill a vector.
//
// Ops: Vec, Mask, kWidth (floats per Vec), kRows and kVecs (the largest tile),
// mask(lanes), zero(), load(const float*, Mask), broadcast(float),
// fma(a, b, c) = a b + c rounded once, store(float*, Vec, Mask).

#include <cstdint>

namespace tpu::train::gemm_detail {

// C (m x n, packed) = / += A B, where A(i, p) = a[i * a_row + p * a_col] and B is k x n, packed.
struct Task {
  int64_t m, n, k;
  const float* a;
  int64_t a_row, a_col;
  const float* b;
  float* c;
  bool accumulate;
};

// Every loop over a tile is unrolled, so the compiler keeps its accumulators in registers.
#define TPU_GEMM_UNROLL _Pragma("GCC unroll 8")

// (No std:: helpers in the kernels' files: an inline function compiled with wider instructions
// could be the copy the linker keeps for everyone.)
static inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }  // internal linkage: one per file

template <class Ops, int R, int V>
struct RowTile {
  // Rows i0.. (R of them), columns j0.. (V vectors, the last with `last`'s lanes).
  static void run(const Task& t, int64_t i0, int64_t j0, int last) {
    using Vec = typename Ops::Vec;
    const typename Ops::Mask full = Ops::mask(Ops::kWidth), tail = Ops::mask(last);
    const int64_t k = t.k, n = t.n, a_row = t.a_row, a_col = t.a_col;
    float* c = t.c + i0 * n + j0;
    Vec acc[R][V];
    TPU_GEMM_UNROLL for (int r = 0; r < R; ++r)
      TPU_GEMM_UNROLL for (int v = 0; v < V; ++v)
        acc[r][v] = t.accumulate ? Ops::load(c + r * n + v * Ops::kWidth, v == V - 1 ? tail : full) : Ops::zero();
    const float* a = t.a + i0 * a_row;
    const float* b = t.b + j0;
    for (int64_t p = 0; p < k; ++p, a += a_col, b += n) {
      Vec bv[V];
      TPU_GEMM_UNROLL for (int v = 0; v < V; ++v) bv[v] = Ops::load(b + v * Ops::kWidth, v == V - 1 ? tail : full);
      TPU_GEMM_UNROLL for (int r = 0; r < R; ++r) {
        const Vec ar = Ops::broadcast(a[r * a_row]);
        TPU_GEMM_UNROLL for (int v = 0; v < V; ++v) acc[r][v] = Ops::fma(ar, bv[v], acc[r][v]);
      }
    }
    TPU_GEMM_UNROLL for (int r = 0; r < R; ++r)
      TPU_GEMM_UNROLL for (int v = 0; v < V; ++v)
        Ops::store(c + r * n + v * Ops::kWidth, acc[r][v], v == V - 1 ? tail : full);
  }
};

template <class Ops, int R, int V>
struct ColumnTile {
  // Columns j0.. (R of them), rows i0.. (V vectors, the last with `last`'s lanes); A(i, p) = a[p * a_col + i].
  static void run(const Task& t, int64_t i0, int64_t j0, int last) {
    using Vec = typename Ops::Vec;
    const typename Ops::Mask full = Ops::mask(Ops::kWidth), tail = Ops::mask(last);
    const int64_t k = t.k, n = t.n, a_col = t.a_col;
    float* c = t.c + i0 * n + j0;
    float lanes[Ops::kWidth] = {};  // a vector of C's column, gathered from or scattered to its rows
    auto count = [&](int v) { return v == V - 1 ? last : Ops::kWidth; };
    Vec acc[V][R];
    TPU_GEMM_UNROLL for (int v = 0; v < V; ++v)
      TPU_GEMM_UNROLL for (int r = 0; r < R; ++r) {
        if (!t.accumulate) {
          acc[v][r] = Ops::zero();
          continue;
        }
        for (int l = 0; l < count(v); ++l) lanes[l] = c[(v * Ops::kWidth + l) * n + r];
        acc[v][r] = Ops::load(lanes, v == V - 1 ? tail : full);
      }
    const float* a = t.a + i0;
    const float* b = t.b + j0;
    for (int64_t p = 0; p < k; ++p, a += a_col, b += n) {
      Vec av[V];
      TPU_GEMM_UNROLL for (int v = 0; v < V; ++v) av[v] = Ops::load(a + v * Ops::kWidth, v == V - 1 ? tail : full);
      TPU_GEMM_UNROLL for (int r = 0; r < R; ++r) {
        const Vec br = Ops::broadcast(b[r]);
        TPU_GEMM_UNROLL for (int v = 0; v < V; ++v) acc[v][r] = Ops::fma(av[v], br, acc[v][r]);
      }
    }
    TPU_GEMM_UNROLL for (int v = 0; v < V; ++v)
      TPU_GEMM_UNROLL for (int r = 0; r < R; ++r) {
        Ops::store(lanes, acc[v][r], full);
        for (int l = 0; l < count(v); ++l) c[(v * Ops::kWidth + l) * n + r] = lanes[l];
      }
  }
};

// Tile<Ops, R, V>::run for the R and V of an edge tile (R <= MaxR, V <= MaxV).
template <class Ops, template <class, int, int> class Tile, int MaxR, int MaxV, int R = MaxR>
void run_tile(int r, int v, const Task& t, int64_t i0, int64_t j0, int last) {
  if constexpr (R >= 1) {
    if (r != R) return run_tile<Ops, Tile, MaxR, MaxV, R - 1>(r, v, t, i0, j0, last);
    switch (v) {
      case 1: return Tile<Ops, R, 1>::run(t, i0, j0, last);
      case 2: if constexpr (MaxV >= 2) return Tile<Ops, R, 2>::run(t, i0, j0, last); break;
      case 3: if constexpr (MaxV >= 3) return Tile<Ops, R, 3>::run(t, i0, j0, last); break;
      case 4: if constexpr (MaxV >= 4) return Tile<Ops, R, 4>::run(t, i0, j0, last); break;
    }
  }
}

// Row tiles: C's columns in blocks as wide as the largest tile (the block's rows of B stay in cache
// while every row tile passes). Column tiles: C's rows in blocks as tall as the largest (the block's
// columns of A stay in cache while every column tile passes).
// Only the rows (row tiles) or columns (column tiles) of C in [from, to): a thread's share.
template <class Ops>
void run(const Task& t, bool columns, int64_t from, int64_t to) {
  constexpr int64_t kBlock = Ops::kWidth * Ops::kVecs;
  const int64_t vectorized = columns ? t.m : t.n;
  for (int64_t x0 = 0; x0 < vectorized; x0 += kBlock) {
    const int64_t span = smaller(kBlock, vectorized - x0);
    const int vecs = static_cast<int>((span + Ops::kWidth - 1) / Ops::kWidth);
    const int last = static_cast<int>(span - (vecs - 1) * Ops::kWidth);
    for (int64_t y0 = from; y0 < to; y0 += Ops::kRows) {
      const int count = static_cast<int>(smaller(Ops::kRows, to - y0));
      if (columns)
        run_tile<Ops, ColumnTile, Ops::kRows, Ops::kVecs>(count, vecs, t, x0, y0, last);
      else
        run_tile<Ops, RowTile, Ops::kRows, Ops::kVecs>(count, vecs, t, y0, x0, last);
    }
  }
}

// `columns`: column tiles (t.a_row must be 1); C's rows (or, with column tiles, columns) [from, to).
void run_avx512(const Task& t, bool columns, int64_t from, int64_t to);
void run_avx2(const Task& t, bool columns, int64_t from, int64_t to);
void run_portable(const Task& t, bool columns, int64_t from, int64_t to);

}  // namespace tpu::train::gemm_detail
