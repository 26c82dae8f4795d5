// Face crops straight into an NCHW float32 batch: similarity warp, bilinear sampling with a replicated border,
// rounding to uint8 and (x - mean) / std, with the same float64 operations in the same order as the TS twin
// (cropsToNchwTs in reference.ts), so both give identical numbers. Built with -ffp-contract=off for that reason.
#include <algorithm>
#include <cmath>

#include "kernels.h"

namespace lk {

// Writes the pad value into output columns [from, outW) of a row (mirrored when the crop is flipped).
void fillPad(float* const rows[3], int outW, int from, bool flip, float value) {
  if (from >= outW) return;
  for (int c = 0; c < 3; c++) {
    if (flip) std::fill(rows[c], rows[c] + (outW - from), value);
    else std::fill(rows[c] + from, rows[c] + outW, value);
  }
}

namespace {
// Math.round for the non-negative values bilinear sampling of bytes produces.
inline double roundHalfUp(double v) {
  const double f = std::floor(v);
  return v - f >= 0.5 ? f + 1 : f;
}

void cropOne(const CropArgs& a, int face) {
  const double* inv = a.inverse + 6 * face;
  const int OW = a.outW, OH = a.outH, VW = a.validW, VH = a.validH, W = a.width, H = a.height;
  const int64_t plane = static_cast<int64_t>(OW) * OH;
  float* out = a.out + 3 * plane * face;
  const double invStd = 1 / a.stdev;
  // Normalised value of every possible byte: the same (v - mean) * (1 / std) the reference computes per pixel.
  float lut[256];
  for (int v = 0; v < 256; v++) lut[v] = static_cast<float>((v - a.mean) * invStd);
  const float padValue = static_cast<float>((a.pad - a.mean) * invStd);
  const uint8_t* d = a.image;
  const double maxX = W - 1, maxY = H - 1;
  for (int y = 0; y < OH; y++) {
    float* rows[3] = {out + static_cast<int64_t>(y) * OW, out + plane + static_cast<int64_t>(y) * OW, out + 2 * plane + static_cast<int64_t>(y) * OW};
    const int sampled = y < VH ? VW : 0;
    for (int x = 0; x < sampled; x++) {
      const double sx = inv[0] * x + inv[1] * y + inv[2];
      const double sy = inv[3] * x + inv[4] * y + inv[5];
      const double cx = std::min(std::max(sx, 0.0), maxX);
      const double cy = std::min(std::max(sy, 0.0), maxY);
      const int x0 = static_cast<int>(std::floor(cx)), y0 = static_cast<int>(std::floor(cy));
      const int x1 = std::min(x0 + 1, W - 1), y1 = std::min(y0 + 1, H - 1);
      const double fx = cx - x0, fy = cy - y0;
      const uint8_t* p00 = d + (static_cast<int64_t>(y0) * W + x0) * 3;
      const uint8_t* p01 = d + (static_cast<int64_t>(y0) * W + x1) * 3;
      const uint8_t* p10 = d + (static_cast<int64_t>(y1) * W + x0) * 3;
      const uint8_t* p11 = d + (static_cast<int64_t>(y1) * W + x1) * 3;
      const int ox = a.flip ? OW - 1 - x : x;
      for (int c = 0; c < 3; c++) {
        const double top = p00[c] + (p01[c] - p00[c]) * fx;
        const double bot = p10[c] + (p11[c] - p10[c]) * fx;
        const double v = top + (bot - top) * fy;
        rows[c][ox] = a.round ? lut[static_cast<int>(roundHalfUp(v))] : static_cast<float>((v - a.mean) * invStd);
      }
    }
    fillPad(rows, OW, sampled, a.flip, padValue);
  }
}
}  // namespace

namespace portable {
void cropFaces(const CropArgs& a, int64_t f0, int64_t f1) {
  for (int64_t f = f0; f < f1; f++) cropOne(a, static_cast<int>(f));
}
}  // namespace portable

void crops(const CropArgs& a, int threads) {
  // The AVX2 kernel indexes bytes with int32 lanes and always rounds to bytes.
  const bool vector = hasAvx2Fma() && a.round && static_cast<int64_t>(a.width) * a.height * 3 < 0x7fffffff;
  // A thread start costs tens of microseconds: only split when each thread gets several 112x112 faces' worth.
  const int64_t perThread = std::max<int64_t>(1, 30000 / (static_cast<int64_t>(a.outW) * a.outH));
  parallelFor(a.faces, threads, perThread, 1, [&](int64_t f0, int64_t f1) {
    if (vector) avx2::cropFaces(a, f0, f1);
    else portable::cropFaces(a, f0, f1);
  });
}

namespace {
void meshCropOne(const MeshCropArgs& a, int n) {
  const double* p = a.params + 7 * n;
  const float y1 = static_cast<float>(p[0]), x1 = static_cast<float>(p[1]), y2 = static_cast<float>(p[2]), x2 = static_cast<float>(p[3]);
  const bool rotate = p[4] != 0;
  // tfjs-wasm's RotateWithOffset: float radians and centre, sin/cos of the float angle, float arithmetic, round()
  // (halves away from zero) to the nearest source pixel.
  const float radians = static_cast<float>(p[4]), cx = static_cast<float>(p[5]), cy = static_cast<float>(p[6]);
  const float cosA = static_cast<float>(std::cos(static_cast<double>(radians))), sinA = static_cast<float>(std::sin(static_cast<double>(radians)));
  const int W = a.width, H = a.height, S = a.size;
  const int64_t plane = static_cast<int64_t>(S) * S;
  float* out = a.out + 3 * plane * n;
  std::fill(out, out + 3 * plane, 0.0f);
  const uint8_t* d = a.image;
  // Byte offset of the (rotated) image's pixel (u, v), or -1 where the rotation leaves the image (fill 0).
  auto source = [&](int u, int v) -> int64_t {
    if (!rotate) return (static_cast<int64_t>(v) * W + u) * 3;
    const float du = static_cast<float>(u) - cx, dv = static_cast<float>(v) - cy;
    const float su = std::round((du * cosA - dv * sinA) + cx);
    const float sv = std::round((du * sinA + dv * cosA) + cy);
    if (su < 0 || su >= W || sv < 0 || sv >= H) return -1;
    return (static_cast<int64_t>(sv) * W + static_cast<int64_t>(su)) * 3;
  };
  const float hs = (y2 - y1) * static_cast<float>(H - 1) / static_cast<float>(S - 1);
  const float ws = (x2 - x1) * static_cast<float>(W - 1) / static_cast<float>(S - 1);
  for (int y = 0; y < S; y++) {
    const float inY = y1 * static_cast<float>(H - 1) + static_cast<float>(y) * hs;
    if (inY < 0 || inY > static_cast<float>(H - 1)) continue;
    const int top = static_cast<int>(std::floor(inY)), bottom = static_cast<int>(std::ceil(inY));
    const float yl = inY - static_cast<float>(top);
    for (int x = 0; x < S; x++) {
      const float inX = x1 * static_cast<float>(W - 1) + static_cast<float>(x) * ws;
      if (inX < 0 || inX > static_cast<float>(W - 1)) continue;
      const int left = static_cast<int>(std::floor(inX)), right = static_cast<int>(std::ceil(inX));
      const float xl = inX - static_cast<float>(left);
      const int64_t o00 = source(left, top), o01 = source(right, top), o10 = source(left, bottom), o11 = source(right, bottom);
      for (int c = 0; c < 3; c++) {
        const float p00 = o00 < 0 ? 0.0f : d[o00 + c], p01 = o01 < 0 ? 0.0f : d[o01 + c];
        const float p10 = o10 < 0 ? 0.0f : d[o10 + c], p11 = o11 < 0 ? 0.0f : d[o11 + c];
        const float t = p00 + (p01 - p00) * xl;
        const float b = p10 + (p11 - p10) * xl;
        out[c * plane + static_cast<int64_t>(y) * S + x] = (t + (b - t) * yl) / a.divisor;
      }
    }
  }
}
}  // namespace

void meshCrops(const MeshCropArgs& a) {
  for (int n = 0; n < a.crops; n++) meshCropOne(a, n);
}

void i420ToRgb(const I420Args& a) {
  const int32_t w = a.width, h = a.height, cw = w / 2;
  const uint8_t* yp = a.src;
  const uint8_t* up = a.src + static_cast<int64_t>(w) * h;
  const uint8_t* vp = up + static_cast<int64_t>(cw) * (h / 2);
  const int32_t *ty = a.tables, *tvr = a.tables + 256, *tub = a.tables + 512, *tug = a.tables + 768, *tvg = a.tables + 1024;
  auto clamp = [](int32_t v) -> uint8_t { return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); };
  for (int32_t y = 0; y < h; y++) {
    const uint8_t* row = yp + static_cast<int64_t>(y) * w;
    const uint8_t* ur = up + static_cast<int64_t>(y / 2) * cw;
    const uint8_t* vr = vp + static_cast<int64_t>(y / 2) * cw;
    uint8_t* o = a.out + static_cast<int64_t>(y) * w * 3;
    for (int32_t c = 0; c < cw; c++) {
      const int32_t r = tvr[vr[c]], g = tug[ur[c]] + tvg[vr[c]], b = tub[ur[c]];
      const int32_t y0 = ty[row[2 * c]], y1 = ty[row[2 * c + 1]];
      o[0] = clamp(y0 + r);
      o[1] = clamp(y0 + g);
      o[2] = clamp(y0 + b);
      o[3] = clamp(y1 + r);
      o[4] = clamp(y1 + g);
      o[5] = clamp(y1 + b);
      o += 6;
    }
  }
}

}  // namespace lk
