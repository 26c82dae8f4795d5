// UltraFace post-processing in one pass: score filter, corners in 0..1 of the letterboxed canvas to image pixels,
// then greedy NMS. Mirrors runDetector (src/face/faceplugin.ts) and nms (src/face/geometry.ts) operation for operation.
#include <algorithm>
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

}  // namespace lk
