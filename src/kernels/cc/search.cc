// Exact top-k gallery search: the portable kernels, the quantisers and the run-time choice of the AVX2 build.
// Rows are visited in blocks small enough to stay in L2 while every query of the batch passes over them, so a large
// gallery is streamed from memory once per batch of queries instead of once per query.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace lk {

namespace {
// Math.round: halves go towards +infinity.
inline double jsRound(double x) {
  const double f = std::floor(x);
  return x - f >= 0.5 ? f + 1 : f;
}
}  // namespace

int32_t queryQuantMax(int32_t dim) {
  const double bound = std::floor(2147483647.0 / (127.0 * std::max(1, dim)));
  return static_cast<int32_t>(std::min(32767.0, std::max(1.0, bound)));
}

void quantizeRows(const float* v, int64_t rows, int32_t dim, int8_t* q, float* scale) {
  for (int64_t r = 0; r < rows; r++) {
    const float* x = v + r * dim;
    int8_t* y = q + r * dim;
    double maxAbs = 0;
    for (int32_t i = 0; i < dim; i++) maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(x[i])));
    const float s = static_cast<float>(maxAbs / 127);
    scale[r] = s;
    for (int32_t i = 0; i < dim; i++) {
      const double t = s > 0 ? jsRound(x[i] / static_cast<double>(s)) : 0;
      y[i] = static_cast<int8_t>(std::min(127.0, std::max(-127.0, t)));
    }
  }
}

void quantizeQueries(const float* v, int32_t rows, int32_t dim, int16_t* q, double* scale) {
  const double qmax = queryQuantMax(dim);
  for (int32_t r = 0; r < rows; r++) {
    const float* x = v + static_cast<int64_t>(r) * dim;
    int16_t* y = q + static_cast<int64_t>(r) * dim;
    double maxAbs = 0;
    for (int32_t i = 0; i < dim; i++) maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(x[i])));
    const double s = maxAbs / qmax;
    scale[r] = s;
    for (int32_t i = 0; i < dim; i++) {
      const double t = s > 0 ? jsRound(x[i] / s) : 0;
      y[i] = static_cast<int16_t>(std::min(qmax, std::max(-qmax, t)));
    }
  }
}

namespace portable {

namespace {
constexpr int64_t kRowBlock = 32;

float dotF32(const float* a, const float* b, int32_t d) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int32_t i = 0;
  for (; i + 8 <= d; i += 8)
    for (int j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
  float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < d; i++) t += a[i] * b[i];
  return t;
}

int32_t dotI8(const int8_t* a, const int16_t* b, int32_t d) {
  int32_t s = 0;
  for (int32_t i = 0; i < d; i++) s += static_cast<int32_t>(a[i]) * b[i];
  return s;
}
}  // namespace

void searchF32(const SearchF32Args& a, TopKOut o) {
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowBlock) {
    const int64_t r1 = std::min(a.rows, r0 + kRowBlock);
    for (int32_t q = 0; q < a.numQueries; q++) {
      const float* qv = a.queries + static_cast<int64_t>(q) * a.dim;
      for (int64_t r = r0; r < r1; r++) {
        insertTop(o.indices + q * o.k, o.scores + q * o.k, o.k, static_cast<int32_t>(r), dotF32(a.gallery + r * a.dim, qv, a.dim));
      }
    }
  }
}

void searchI8(const SearchI8Args& a, TopKOut o) {
  for (int64_t r0 = 0; r0 < a.rows; r0 += kRowBlock) {
    const int64_t r1 = std::min(a.rows, r0 + kRowBlock);
    for (int32_t q = 0; q < a.numQueries; q++) {
      const int16_t* qv = a.queries + static_cast<int64_t>(q) * a.dim;
      for (int64_t r = r0; r < r1; r++) {
        const int32_t dot = dotI8(a.gallery + r * a.dim, qv, a.dim);
        const float s = static_cast<float>(static_cast<double>(dot) * static_cast<double>(a.rowScale[r]) * a.queryScale[q]);
        insertTop(o.indices + q * o.k, o.scores + q * o.k, o.k, static_cast<int32_t>(r), s);
      }
    }
  }
}

}  // namespace portable

void searchF32(const SearchF32Args& a, TopKOut o) {
  if (hasAvx2Fma()) avx2::searchF32(a, o);
  else portable::searchF32(a, o);
}

void searchI8(const SearchI8Args& a, TopKOut o) {
  if (hasAvx2Fma()) avx2::searchI8(a, o);
  else portable::searchI8(a, o);
}

}  // namespace lk
