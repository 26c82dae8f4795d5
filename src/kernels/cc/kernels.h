// Plain C++ kernels behind the N-API bindings (addon.cc). No N-API types here, so every kernel can run on a worker
// thread. Tables that must equal the TS reference bit for bit (fbank window and mel weights, resampler taps, inverse
// crop transforms) are computed once in TS and passed in, so the two paths cannot drift apart.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace lk {

/**
 * Runs fn(begin, end) over [0, n) split into up to `threads` contiguous parts of at least `minPer` items (part
 * sizes multiples of `align`), the first part on the calling thread. Parts are independent, so results do not depend
 * on the split.
 */
inline void parallelFor(int64_t n, int threads, int64_t minPer, int64_t align, const std::function<void(int64_t, int64_t)>& fn) {
  const int64_t t = std::max<int64_t>(1, std::min<int64_t>(threads, n / std::max<int64_t>(1, minPer)));
  if (t < 2) return fn(0, n);
  const int64_t a = std::max<int64_t>(1, align);
  const int64_t step = ((n + t - 1) / t + a - 1) / a * a;  // ceil(n / t), rounded up to a multiple of align
  std::vector<std::thread> pool;
  for (int64_t b = step; b < n; b += step) pool.emplace_back(fn, b, std::min(n, b + step));
  fn(0, std::min(n, step));
  for (std::thread& th : pool) th.join();
}

/** True when the CPU and OS support AVX2 and FMA (checked once). */
bool hasAvx2Fma();

struct FbankArgs {
  const float* samples;
  int64_t numSamples;
  const double* window;  // windowSize
  const int32_t* melStart;
  const int32_t* melLen;
  const int32_t* melOffset;  // into melWeights
  const double* melWeights;
  int32_t windowSize, windowShift, paddedSize, bins;
  double scale, preemph;
  bool removeDc, snipEdges, usePower;
  int64_t frames;
  float* out;  // frames x bins
};
/** Computes all frames, on up to `threads` threads for long signals. */
void fbank(const FbankArgs& a, int threads);
namespace portable { void fbankFrames(const FbankArgs& a, int64_t f0, int64_t f1); }
namespace avx2 { void fbankFrames(const FbankArgs& a, int64_t f0, int64_t f1); }

struct CropArgs {
  const uint8_t* image;
  int32_t width, height;
  const double* inverse;  // 6 per face: output -> source
  int32_t faces;
  int32_t outW, outH;      // each crop's output size
  int32_t validW, validH;  // sampled part (top left); the rest is `pad` (a letterboxed detector input)
  double pad;              // byte value of the unsampled part
  double mean, stdev;
  bool flip;
  bool round;  // round each bilinear sample to a byte before normalising (false: keep it, as tf resizeBilinear)
  float* out;  // faces x 3 x outH x outW
};
/** Writes `value` into output columns [from, outW) of the three channel rows (mirrored for flipped crops). */
void fillPad(float* const rows[3], int outW, int from, bool flip, float value);
/** All faces, on up to `threads` threads (whole faces per thread). */
void crops(const CropArgs& a, int threads);
namespace portable { void cropFaces(const CropArgs& a, int64_t f0, int64_t f1); }
namespace avx2 { void cropFaces(const CropArgs& a, int64_t f0, int64_t f1); }

struct DetectArgs {
  const float* scores;  // n x 2 (background, face)
  const float* boxes;   // n x 4 corners in 0..1
  int64_t n;
  double minScore, detW, detH, scale, rx, ry, iou, minSize;
  int64_t limit;
};
/** Returns kept rows (score, x, y, w, h), best first. */
void detect(const DetectArgs& a, double** rows, int64_t* count);

struct BlazeFaceArgs {
  const float* logits;      // n
  const float* regressors;  // n x 16
  const float* anchors;     // n x 2
  int64_t n;
  double size, minScore, iou;
  int64_t limit;
};
/** Returns kept rows (score, x1, y1, x2, y2, anchor row), best first (Human's BlazeFace decode + TF NMS). */
void blazeface(const BlazeFaceArgs& a, std::vector<double>& rows);

struct MeshCropArgs {
  const uint8_t* image;
  int32_t width, height;
  const double* params;  // 7 per crop: y1, x1, y2, x2 (float32 values), radians, cx, cy
  int32_t crops;
  int32_t size;
  float divisor;
  float* out;  // crops x 3 x size x size
};
/** FaceMesh input crops: TF rotate_with_offset (nearest) then crop_and_resize (bilinear, float32), / divisor. */
void meshCrops(const MeshCropArgs& a);

struct TopKOut {
  int32_t* indices;  // queries x k
  float* scores;
  int32_t k;
};
struct SearchF32Args {
  const float* gallery;
  int64_t rows;
  int32_t dim;
  const float* queries;
  int32_t numQueries;
};
void searchF32(const SearchF32Args& a, TopKOut out);
namespace portable { void searchF32(const SearchF32Args& a, TopKOut out); }
namespace avx2 { void searchF32(const SearchF32Args& a, TopKOut out); }

struct SearchI8Args {
  const int8_t* gallery;
  const float* rowScale;
  int64_t rows;
  int32_t dim;
  const int16_t* queries;  // quantised
  const double* queryScale;
  int32_t numQueries;
};
void searchI8(const SearchI8Args& a, TopKOut out);
namespace portable { void searchI8(const SearchI8Args& a, TopKOut out); }
namespace avx2 { void searchI8(const SearchI8Args& a, TopKOut out); }

/** Per-row symmetric int8 quantisation: q = round(v / s), s = max|v| / 127. */
void quantizeRows(const float* v, int64_t rows, int32_t dim, int8_t* q, float* scale);
/** Query quantisation to int16 with a bound that keeps every int32 dot product from overflowing. */
void quantizeQueries(const float* v, int32_t rows, int32_t dim, int16_t* q, double* scale);
int32_t queryQuantMax(int32_t dim);

/** Top-k insertion with the TS reference's rules: strictly better than the last to enter, ties keep the earlier. */
inline void insertTop(int32_t* idx, float* sc, int32_t k, int32_t r, float s) {
  if (k == 0 || s != s) return;
  if (idx[k - 1] != -1 && !(s > sc[k - 1])) return;
  int32_t j = k - 1;
  while (j > 0 && (idx[j - 1] == -1 || s > sc[j - 1])) {
    idx[j] = idx[j - 1];
    sc[j] = sc[j - 1];
    j--;
  }
  idx[j] = r;
  sc[j] = s;
}

struct ResampleArgs {
  const float* in;
  int64_t inLen;
  const double* taps;  // phases x numTaps
  int32_t phases, numTaps, half;
  int64_t up, down;  // out rate / gcd, in rate / gcd
  float* out;
  int64_t outLen;
};
void resample(const ResampleArgs& a);

struct I420Args {
  const uint8_t* src;  // Y plane, then U, then V (half size each way)
  int32_t width;       // even
  int32_t height;      // even
  const int32_t* tables;  // 5 x 256: Y, V->R, U->B, U->G, V->G terms (computed in TS)
  uint8_t* out;        // width * height * 3 packed RGB
};
/** Planar YUV 4:2:0 to packed RGB: each term from its table, sums clamped to 0..255. */
void i420ToRgb(const I420Args& a);

/** A posting table (src/kernels/postings.ts) and a batch of keys to look up in it. */
struct PostingsArgs {
  const uint32_t* filter;  // null: no filter
  uint32_t filterMask;     // filter bits - 1
  const uint32_t* offsets;  // (1 << (32 - shift)) + 1 group bounds
  uint32_t shift;
  const uint32_t* keys;  // numPostings each
  const uint32_t* entry;
  const uint32_t* frame;
  uint32_t numPostings;
  const uint32_t* probes;
  uint32_t count;
  uint32_t cap;  // groups with more postings are skipped (stop words)
};

/**
 * Every posting whose key equals a probe, as (probe index, entry, frame) triples in probe order, written while they
 * fit in `outCapacity` triples; returns the total (call again with room for it when larger).
 */
int64_t probePostings(const PostingsArgs& a, uint32_t* out, int64_t outCapacity);

}  // namespace lk
