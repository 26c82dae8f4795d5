// UltraFace post-processing in one pass: score filter, corners in 0..1 of the letterboxed canvas to image pixels,
// then greedy NMS. Mirrors runDetector (src/face/faceplugin.ts) and nms (src/face/geometry.ts) operation for operation.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels.h"

namespace lk {

namespace {
struct Cand {
  double score, x, y, w, h;
};

double iou(const Cand& a, const Cand& b) {
  const double x1 = std::max(a.x, b.x), y1 = std::max(a.y, b.y);
  const double x2 = std::min(a.x + a.w, b.x + b.w), y2 = std::min(a.y + a.h, b.y + b.h);
  const double inter = std::max(0.0, x2 - x1) * std::max(0.0, y2 - y1);
  const double uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}
}  // namespace

void detect(const DetectArgs& a, double** rows, int64_t* count) {
  std::vector<Cand> c;
  for (int64_t i = 0; i < a.n; i++) {
    const double s = a.scores[i * 2 + 1];
    if (s < a.minScore) continue;
    const float* b = a.boxes + i * 4;
    const double x1 = (b[0] * a.detW) / a.scale + a.rx, y1 = (b[1] * a.detH) / a.scale + a.ry;
    const double x2 = (b[2] * a.detW) / a.scale + a.rx, y2 = (b[3] * a.detH) / a.scale + a.ry;
    if (x2 - x1 < a.minSize || y2 - y1 < a.minSize) continue;
    c.push_back({s, x1, y1, x2 - x1, y2 - y1});
  }
  std::vector<int64_t> order(c.size());
  std::iota(order.begin(), order.end(), 0);
  // Stable, like Array.prototype.sort: equal scores keep their anchor order.
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return c[i].score > c[j].score; });
  std::vector<int64_t> keep;
  for (int64_t i : order) {
    if (static_cast<int64_t>(keep.size()) >= a.limit) break;
    bool ok = true;
    for (int64_t k : keep) {
      if (!(iou(c[k], c[i]) <= a.iou)) {
        ok = false;
        break;
      }
    }
    if (ok) keep.push_back(i);
  }
  *count = static_cast<int64_t>(keep.size());
  *rows = new double[keep.size() * 5 + 1];
  for (size_t j = 0; j < keep.size(); j++) {
    const Cand& k = c[keep[j]];
    double* r = *rows + j * 5;
    r[0] = k.score;
    r[1] = k.x;
    r[2] = k.y;
    r[3] = k.w;
    r[4] = k.h;
  }
}

namespace {
// TensorFlow's NMS IoU (non_max_suppression_impl): corners in either order, 0 for an empty box.
double tfIou(const float* c, int64_t i, int64_t j) {
  const double ay0 = std::min(c[i * 4], c[i * 4 + 2]), ax0 = std::min(c[i * 4 + 1], c[i * 4 + 3]);
  const double ay1 = std::max(c[i * 4], c[i * 4 + 2]), ax1 = std::max(c[i * 4 + 1], c[i * 4 + 3]);
  const double by0 = std::min(c[j * 4], c[j * 4 + 2]), bx0 = std::min(c[j * 4 + 1], c[j * 4 + 3]);
  const double by1 = std::max(c[j * 4], c[j * 4 + 2]), bx1 = std::max(c[j * 4 + 1], c[j * 4 + 3]);
  const double areaA = (ay1 - ay0) * (ax1 - ax0), areaB = (by1 - by0) * (bx1 - bx0);
  if (areaA <= 0 || areaB <= 0) return 0;
  const double inter = std::max(std::min(ay1, by1) - std::max(ay0, by0), 0.0) * std::max(std::min(ax1, bx1) - std::max(ax0, bx0), 0.0);
  return inter / (areaA + areaB - inter);
}
}  // namespace

// BlazeFace as Human decodes it in tfjs (float32 tensor ops), then TF's greedy NMS; mirrors decodeBlazeFaceTs.
void blazeface(const BlazeFaceArgs& a, std::vector<double>& rows) {
  const float size = static_cast<float>(a.size);
  std::vector<float> scores(a.n), corners(a.n * 4);
  for (int64_t i = 0; i < a.n; i++) {
    scores[i] = static_cast<float>(1 / (1 + std::exp(-static_cast<double>(a.logits[i]))));
    const float* r = a.regressors + i * 16;
    for (int d = 0; d < 2; d++) {
      const float centre = (r[d] + a.anchors[i * 2 + d]) / size;
      const float half = (r[2 + d] / size) / 2.0f;
      corners[i * 4 + d] = (centre - half) * size;
      corners[i * 4 + 2 + d] = (centre + half) * size;
    }
  }
  std::vector<int64_t> order;
  for (int64_t i = 0; i < a.n; i++)
    if (scores[i] > a.minScore) order.push_back(i);
  // Best first; equal scores keep the lower row first (TF's comparator).
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return scores[i] > scores[j]; });
  std::vector<int64_t> kept;
  for (int64_t i : order) {
    if (static_cast<int64_t>(kept.size()) >= a.limit) break;
    bool ok = true;
    for (int64_t k : kept) {
      if (tfIou(corners.data(), i, k) >= a.iou) {
        ok = false;
        break;
      }
    }
    if (ok) kept.push_back(i);
  }
  rows.clear();
  for (int64_t i : kept) {
    const float* c = corners.data() + i * 4;
    rows.insert(rows.end(), {static_cast<double>(scores[i]), c[0], c[1], c[2], c[3], static_cast<double>(i)});
  }
}

}  // namespace lk
