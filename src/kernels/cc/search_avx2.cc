// AVX2/FMA gallery search (compiled with -mavx2 -mfma; chosen only when the CPU has both). A micro-kernel scores
// 4 rows against 2 queries at once: every loaded row vector feeds two FMAs and every query vector four, which keeps
// the loop on the FMA units instead of the load ports. Scores differ from the float64 TS loop by float32 rounding.
#include <immintrin.h>

#include <algorithm>

#include "kernels.h"

namespace lk {
namespace avx2 {

namespace {
constexpr int64_t kRowBlock = 32;  // 32 x 512 float32 = 64 KB: stays in L2 while the query batch passes over it
// Rows prefetched ahead into L2 (512 KB float32 / 256 KB int8 at 512 dims; measured best of 16..512 rows).
constexpr int64_t kAheadF32 = 256;
constexpr int64_t kAheadI8 = 512;

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// dots[j * nq + q] for rows g[j] (j < NR) and queries qs[q] (q < NQ).
template <int NR, int NQ>
inline void microF32(const float* const* g, const float* const* qs, int32_t d, float* dots) {
  __m256 acc[NR][NQ];
  for (int j = 0; j < NR; j++)
    for (int q = 0; q < NQ; q++) acc[j][q] = _mm256_setzero_ps();
  int32_t i = 0;
  for (; i + 8 <= d; i += 8) {
    __m256 qv[NQ];
    for (int q = 0; q < NQ; q++) qv[q] = _mm256_loadu_ps(qs[q] + i);
    for (int j = 0; j < NR; j++) {
      const __m256 gv = _mm256_loadu_ps(g[j] + i);
      for (int q = 0; q < NQ; q++) acc[j][q] = _mm256_fmadd_ps(gv, qv[q], acc[j][q]);
    }
  }
  for (int j = 0; j < NR; j++) {
    for (int q = 0; q < NQ; q++) {
      float s = hsum(acc[j][q]);
      for (int32_t t = i; t < d; t++) s += g[j][t] * qs[q][t];
      dots[j * NQ + q] = s;
    }
  }
}

template <int NR, int NQ>
inline void microI8(const int8_t* const* g, const int16_t* const* qs, int32_t d, int32_t* dots) {
  __m256i acc[NR][NQ];
  for (int j = 0; j < NR; j++)
    for (int q = 0; q < NQ; q++) acc[j][q] = _mm256_setzero_si256();
  int32_t i = 0;
  for (; i + 16 <= d; i += 16) {
    __m256i qv[NQ];
    for (int q = 0; q < NQ; q++) qv[q] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs[q] + i));
    for (int j = 0; j < NR; j++) {
      const __m256i gv = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(g[j] + i)));
      for (int q = 0; q < NQ; q++) acc[j][q] = _mm256_add_epi32(acc[j][q], _mm256_madd_epi16(gv, qv[q]));
    }
  }
  for (int j = 0; j < NR; j++) {
    for (int q = 0; q < NQ; q++) {
      int32_t s = hsum(acc[j][q]);
      for (int32_t t = i; t < d; t++) s += static_cast<int32_t>(g[j][t]) * qs[q][t];
      dots[j * NQ + q] = s;
    }
  }
}

// Rows are one contiguous stream, but a 4-row micro-kernel reads it as 4 short interleaved streams, which the
// hardware prefetcher follows poorly: without help the scan read 8-12 GB/s where 16-20 GB/s is available. The first
// query group of each block therefore prefetches the rows far ahead.
template <int Hint = _MM_HINT_T0>
inline void prefetchRange(const void* p, int64_t bytes, const void* end) {
  const char* c = static_cast<const char*>(p);
  const char* e = std::min(c + bytes, static_cast<const char*>(end));
  for (; c < e; c += 64) _mm_prefetch(c, static_cast<_mm_hint>(Hint));
}

template <int NQ>
void blockF32(const SearchF32Args& a, TopKOut o, int64_t r0, int64_t r1, int32_t q0) {
  const float* qs[NQ];
  for (int q = 0; q < NQ; q++) qs[q] = a.queries + static_cast<int64_t>(q0 + q) * a.dim;
  float dots[4 * NQ];
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const float* g[4] = {a.gallery + r * a.dim, a.gallery + (r + 1) * a.dim, a.gallery + (r + 2) * a.dim, a.gallery + (r + 3) * a.dim};
    if (q0 == 0) prefetchRange<_MM_HINT_T1>(g[0] + kAheadF32 * a.dim, 4 * a.dim * 4, a.gallery + a.rows * a.dim);
    microF32<4, NQ>(g, qs, a.dim, dots);
    for (int j = 0; j < 4; j++)
      for (int q = 0; q < NQ; q++)
        insertTop(o.indices + (q0 + q) * o.k, o.scores + (q0 + q) * o.k, o.k, static_cast<int32_t>(r + j), dots[j * NQ + q]);
  }
  for (; r < r1; r++) {
    const float* g[1] = {a.gallery + r * a.dim};
    microF32<1, NQ>(g, qs, a.dim, dots);
    for (int q = 0; q < NQ; q++) insertTop(o.indices + (q0 + q) * o.k, o.scores + (q0 + q) * o.k, o.k, static_cast<int32_t>(r), dots[q]);
  }
}

template <int NQ>
void blockI8(const SearchI8Args& a, TopKOut o, int64_t r0, int64_t r1, int32_t q0) {
  const int16_t* qs[NQ];
  for (int q = 0; q < NQ; q++) qs[q] = a.queries + static_cast<int64_t>(q0 + q) * a.dim;
  int32_t dots[4 * NQ];
  auto put = [&](int64_t row, int q, int32_t dot) {
    const float s = static_cast<float>(static_cast<double>(dot) * static_cast<double>(a.rowScale[row]) * a.queryScale[q0 + q]);
    insertTop(o.indices + (q0 + q) * o.k, o.scores + (q0 + q) * o.k, o.k, static_cast<int32_t>(row), s);
  };
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const int8_t* g[4] = {a.gallery + r * a.dim, a.gallery + (r + 1) * a.dim, a.gallery + (r + 2) * a.dim, a.gallery + (r + 3) * a.dim};
    if (q0 == 0) prefetchRange<_MM_HINT_T1>(g[0] + kAheadI8 * a.dim, 4 * a.dim, a.gallery + a.rows * a.dim);
    microI8<4, NQ>(g, qs, a.dim, dots);
    for (int j = 0; j < 4; j++)
      for (int q = 0; q < NQ; q++) put(r + j, q, dots[j * NQ + q]);
  }
  for (; r < r1; r++) {
    const int8_t* g[1] = {a.gallery + r * a.dim};
    microI8<1, NQ>(g, qs, a.dim, dots);
    for (int q = 0; q < NQ; q++) put(r, q, dots[q]);
  }
}
}  // namespace

void searchF32(const SearchF32Args& a, TopKOut o) {
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowBlock) {
    const int64_t r1 = std::min(a.rows, r0 + kRowBlock);
    int32_t q = 0;
    for (; q + 2 <= a.numQueries; q += 2) blockF32<2>(a, o, r0, r1, q);
    if (q < a.numQueries) blockF32<1>(a, o, r0, r1, q);
  }
}

void searchI8(const SearchI8Args& a, TopKOut o) {
  const int64_t block = kRowBlock * 4;  // int8 rows are a quarter of the bytes
  for (int64_t r0 = 0; r0 < a.rows; r0 += block) {
    const int64_t r1 = std::min(a.rows, r0 + block);
    int32_t q = 0;
    for (; q + 2 <= a.numQueries; q += 2) blockI8<2>(a, o, r0, r1, q);
    if (q < a.numQueries) blockI8<1>(a, o, r0, r1, q);
  }
}

}  // namespace avx2
}  // namespace lk
