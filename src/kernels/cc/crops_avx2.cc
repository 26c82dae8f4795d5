// AVX2 build of the face-crop kernel: four output pixels per step, same float64 operations in the same order as the
// scalar kernel and the TS twin, so results stay identical. Compiled with -mavx2 but WITHOUT -mfma (and with
// -ffp-contract=off): a fused multiply-add would round differently and move pixels across a rounding boundary.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace lk {
namespace avx2 {

namespace {
inline double roundHalfUp(double v) {
  const double f = std::floor(v);
  return v - f >= 0.5 ? f + 1 : f;
}

// Bytes (R, G, B, next) at four pixel offsets in one gather; the caller guarantees 4 readable bytes at each.
inline __m128i gather4(const uint8_t* d, __m128i idx) { return _mm_i32gather_epi32(reinterpret_cast<const int*>(d), idx, 1); }

inline __m256d chan(__m128i px, int c) { return _mm256_cvtepi32_pd(_mm_and_si128(_mm_srli_epi32(px, 8 * c), _mm_set1_epi32(0xff))); }

// One channel of four pixels: bilinear blend, Math.round, (v - mean) / std.
inline __m128 channel4(__m128i q00, __m128i q01, __m128i q10, __m128i q11, int c, __m256d fx, __m256d fy, __m256d mean, __m256d invStd) {
  const __m256d p00 = chan(q00, c), p01 = chan(q01, c), p10 = chan(q10, c), p11 = chan(q11, c);
  const __m256d top = _mm256_add_pd(p00, _mm256_mul_pd(_mm256_sub_pd(p01, p00), fx));
  const __m256d bot = _mm256_add_pd(p10, _mm256_mul_pd(_mm256_sub_pd(p11, p10), fx));
  const __m256d v = _mm256_add_pd(top, _mm256_mul_pd(_mm256_sub_pd(bot, top), fy));
  const __m256d f = _mm256_floor_pd(v);
  const __m256d up = _mm256_cmp_pd(_mm256_sub_pd(v, f), _mm256_set1_pd(0.5), _CMP_GE_OQ);
  const __m256d r = _mm256_blendv_pd(f, _mm256_add_pd(f, _mm256_set1_pd(1)), up);
  return _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_sub_pd(r, mean), invStd));
}

void cropOne(const CropArgs& a, int face) {
  const double* inv = a.inverse + 6 * face;
  const int OW = a.outW, OH = a.outH, VW = a.validW, VH = a.validH, W = a.width, H = a.height;
  const int64_t plane = static_cast<int64_t>(OW) * OH;
  float* out = a.out + 3 * plane * face;
  const float padValue = static_cast<float>((a.pad - a.mean) * (1 / a.stdev));
  const uint8_t* d = a.image;
  const double invStdS = 1 / a.stdev;
  const __m256d i0 = _mm256_set1_pd(inv[0]), i1 = _mm256_set1_pd(inv[1]), i2 = _mm256_set1_pd(inv[2]);
  const __m256d i3 = _mm256_set1_pd(inv[3]), i4 = _mm256_set1_pd(inv[4]), i5 = _mm256_set1_pd(inv[5]);
  const __m256d zero = _mm256_setzero_pd(), maxX = _mm256_set1_pd(W - 1), maxY = _mm256_set1_pd(H - 1);
  const __m256d mean = _mm256_set1_pd(a.mean), invStd = _mm256_set1_pd(invStdS);
  const __m128i wm1 = _mm_set1_epi32(W - 1), hm1 = _mm_set1_epi32(H - 1), wv = _mm_set1_epi32(W), one = _mm_set1_epi32(1);
  const __m128i lastSafe = _mm_set1_epi32(static_cast<int>(static_cast<int64_t>(W) * H * 3 - 4));
  for (int y = 0; y < OH; y++) {
    float* rows[3] = {out + static_cast<int64_t>(y) * OW, out + plane + static_cast<int64_t>(y) * OW, out + 2 * plane + static_cast<int64_t>(y) * OW};
    const int S = y < VH ? VW : 0;  // sampled columns of this row
    const __m256d yv = _mm256_set1_pd(y);
    const __m256d byY0 = _mm256_mul_pd(i1, yv), byY1 = _mm256_mul_pd(i4, yv);
    int x = 0;
    for (; x + 4 <= S; x += 4) {
      const __m256d xv = _mm256_setr_pd(x, x + 1, x + 2, x + 3);
      // (inv0 * x + inv1 * y) + inv2, as the reference evaluates it.
      const __m256d sx = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(i0, xv), byY0), i2);
      const __m256d sy = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(i3, xv), byY1), i5);
      const __m256d cx = _mm256_min_pd(_mm256_max_pd(sx, zero), maxX);
      const __m256d cy = _mm256_min_pd(_mm256_max_pd(sy, zero), maxY);
      const __m256d fx0 = _mm256_floor_pd(cx), fy0 = _mm256_floor_pd(cy);
      const __m128i x0 = _mm256_cvttpd_epi32(fx0), y0 = _mm256_cvttpd_epi32(fy0);
      const __m128i x1 = _mm_min_epi32(_mm_add_epi32(x0, one), wm1), y1 = _mm_min_epi32(_mm_add_epi32(y0, one), hm1);
      const __m256d fx = _mm256_sub_pd(cx, fx0), fy = _mm256_sub_pd(cy, fy0);
      const __m128i r0 = _mm_mullo_epi32(y0, wv), r1 = _mm_mullo_epi32(y1, wv);
      auto times3 = [](__m128i v) { return _mm_add_epi32(v, _mm_add_epi32(v, v)); };
      const __m128i j00 = times3(_mm_add_epi32(r0, x0)), j01 = times3(_mm_add_epi32(r0, x1));
      const __m128i j10 = times3(_mm_add_epi32(r1, x0)), j11 = times3(_mm_add_epi32(r1, x1));
      // A gather reads 4 bytes per pixel: only the image's very last pixel lacks the 4th; those steps go scalar.
      if (_mm_movemask_epi8(_mm_cmpgt_epi32(_mm_max_epi32(_mm_max_epi32(j00, j01), _mm_max_epi32(j10, j11)), lastSafe))) break;
      const __m128i q00 = gather4(d, j00), q01 = gather4(d, j01), q10 = gather4(d, j10), q11 = gather4(d, j11);
      for (int c = 0; c < 3; c++) {
        const __m128 v = channel4(q00, q01, q10, q11, c, fx, fy, mean, invStd);
        if (a.flip) _mm_storeu_ps(rows[c] + (OW - 4 - x), _mm_shuffle_ps(v, v, _MM_SHUFFLE(0, 1, 2, 3)));
        else _mm_storeu_ps(rows[c] + x, v);
      }
    }
    for (; x < S; x++) {
      const double sx = inv[0] * x + inv[1] * y + inv[2];
      const double sy = inv[3] * x + inv[4] * y + inv[5];
      const double cx = std::min(std::max(sx, 0.0), static_cast<double>(W - 1));
      const double cy = std::min(std::max(sy, 0.0), static_cast<double>(H - 1));
      const int x0 = static_cast<int>(std::floor(cx)), y0 = static_cast<int>(std::floor(cy));
      const int x1 = std::min(x0 + 1, W - 1), y1 = std::min(y0 + 1, H - 1);
      const double fx = cx - x0, fy = cy - y0;
      const int ox = a.flip ? OW - 1 - x : x;
      for (int c = 0; c < 3; c++) {
        const int q00 = d[(static_cast<int64_t>(y0) * W + x0) * 3 + c], q01 = d[(static_cast<int64_t>(y0) * W + x1) * 3 + c];
        const int q10 = d[(static_cast<int64_t>(y1) * W + x0) * 3 + c], q11 = d[(static_cast<int64_t>(y1) * W + x1) * 3 + c];
        const double top = q00 + (q01 - q00) * fx, bot = q10 + (q11 - q10) * fx;
        rows[c][ox] = static_cast<float>((roundHalfUp(top + (bot - top) * fy) - a.mean) * invStdS);
      }
    }
    fillPad(rows, OW, S, a.flip, padValue);
  }
}
}  // namespace

void cropFaces(const CropArgs& a, int64_t f0, int64_t f1) {
  for (int64_t f = f0; f < f1; f++) cropOne(a, static_cast<int>(f));
}

}  // namespace avx2
}  // namespace lk
