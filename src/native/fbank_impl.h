// Kaldi fbank frames, four frames at a time: every vector lane is a different frame, so the FFT and the mel sums are
// written like scalar code yet run 4-wide (AVX2 in fbank_avx2.cc, two SSE2 halves in fbank.cc). Arithmetic is float64
// like the TS reference (src/voice/fbank.ts), which keeps the two within float-rounding of each other.
// Included once per instruction set with LK_NS naming the namespace.
#include <cmath>
#include <vector>

#include "kernels.h"

namespace lk {
namespace LK_NS {

typedef double vd __attribute__((vector_size(32)));
constexpr int kLanes = 4;
constexpr double kFloat32Eps = 1.1920928955078125e-7;

namespace {
inline vd splat(double x) { return vd{x, x, x, x}; }

typedef int64_t vi __attribute__((vector_size(32)));
typedef float vf __attribute__((vector_size(16)));
typedef int32_t vsi __attribute__((vector_size(16)));

// Natural log of 4 positive normal doubles, accurate to a few 1e-15 relative: libm's scalar log took more time than
// the FFT (80 calls per frame). log(x) = e ln2 + 2 atanh((m - 1) / (m + 1)) with m in [sqrt(1/2), sqrt(2)).
inline vd vlog(vd x) {
  vi bits;
  __builtin_memcpy(&bits, &x, sizeof bits);
  vi e = ((bits >> 52) & 0x7ff) - 1023;
  vi mbits = (bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL;
  vd m;
  __builtin_memcpy(&m, &mbits, sizeof m);
  const vi big = m > splat(1.4142135623730951);  // -1 where true
  m = big ? m * splat(0.5) : m;
  e -= big;
  const vd f = (m - splat(1)) / (m + splat(1));
  const vd s = f * f;
  vd p = splat(1.0 / 17);
  p = p * s + splat(1.0 / 15);
  p = p * s + splat(1.0 / 13);
  p = p * s + splat(1.0 / 11);
  p = p * s + splat(1.0 / 9);
  p = p * s + splat(1.0 / 7);
  p = p * s + splat(1.0 / 5);
  p = p * s + splat(1.0 / 3);
  p = p * s + splat(1);
  const vd ed = __builtin_convertvector(e, vd);
  return ed * splat(0.6931471805599453) + splat(2) * f * p;
}

inline int64_t reflectIndex(int64_t t, int64_t n) {
  int64_t i = t;
  for (;;) {
    if (i < 0) i = -i - 1;
    else if (i >= n) i = 2 * n - 1 - i;
    else return i;
  }
}

struct FftTables {
  int m = 0;
  std::vector<uint32_t> rev;
  std::vector<double> tw, cosN, sinN;
  explicit FftTables(int n) : m(n / 2) {
    int bits = 0;
    while ((1 << bits) < m) bits++;
    rev.resize(m);
    for (int i = 0; i < m; i++) {
      uint32_t r = 0;
      for (int b = 0; b < bits; b++) r |= ((i >> b) & 1u) << (bits - 1 - b);
      rev[i] = r;
    }
    for (int size = 8; size <= m; size <<= 1) {
      for (int j = 0; j < size / 2; j++) {
        tw.push_back(std::cos((2 * M_PI * j) / size));
        tw.push_back(-std::sin((2 * M_PI * j) / size));
      }
    }
    cosN.resize(m + 1);
    sinN.resize(m + 1);
    for (int k = 0; k <= m; k++) {
      cosN[k] = std::cos((2 * M_PI * k) / n);
      sinN[k] = -std::sin((2 * M_PI * k) / n);
    }
  }
};

void complexFft(const FftTables& t, vd* re, vd* im) {
  const int m = t.m;
  if (m == 2) {
    vd ar = re[0], ai = im[0];
    re[0] = ar + re[1];
    im[0] = ai + im[1];
    re[1] = ar - re[1];
    im[1] = ai - im[1];
    return;
  }
  for (int s = 0; s < m; s += 4) {
    vd t0r = re[s] + re[s + 1], t0i = im[s] + im[s + 1];
    vd t1r = re[s] - re[s + 1], t1i = im[s] - im[s + 1];
    vd t2r = re[s + 2] + re[s + 3], t2i = im[s + 2] + im[s + 3];
    vd t3r = re[s + 2] - re[s + 3], t3i = im[s + 2] - im[s + 3];
    re[s] = t0r + t2r;
    im[s] = t0i + t2i;
    re[s + 2] = t0r - t2r;
    im[s + 2] = t0i - t2i;
    re[s + 1] = t1r + t3i;
    im[s + 1] = t1i - t3r;
    re[s + 3] = t1r - t3i;
    im[s + 3] = t1i + t3r;
  }
  const double* tw = t.tw.data();
  int off = 0;
  for (int size = 8; size <= m; size <<= 1) {
    const int half = size >> 1;
    for (int start = 0; start < m; start += size) {
      for (int j = 0; j < half; j++) {
        const int a = start + j, b = a + half;
        const vd wr = splat(tw[off + 2 * j]), wi = splat(tw[off + 2 * j + 1]);
        const vd xr = re[b], xi = im[b];
        const vd br = xr * wr - xi * wi, bi = xr * wi + xi * wr;
        const vd ar = re[a], ai = im[a];
        re[b] = ar - br;
        im[b] = ai - bi;
        re[a] = ar + br;
        im[a] = ai + bi;
      }
    }
    off += size;
  }
}
}  // namespace

void fbankFrames(const FbankArgs& a, int64_t f0, int64_t f1) {
  if (f1 <= f0) return;
  const int n = a.paddedSize, m = n / 2, ws = a.windowSize;
  const FftTables t(n);
  std::vector<vd> frame(n), re(m), im(m), power(m + 1);
  std::vector<double> edge(static_cast<size_t>(kLanes) * ws);
  int64_t starts[kLanes];
  const int64_t N = a.numSamples;
  const int64_t pad = ws / 2 - a.windowShift / 2;
  for (int64_t fb = f0; fb < f1; fb += kLanes) {
    // Gather the four frames lane by lane in registers (writing single lanes to memory and reading the vector
    // back stalls store forwarding), summing as we go in the reference's order.
    const float* src[kLanes];
    bool allInside = true;
    for (int l = 0; l < kLanes; l++) {
      const int64_t f = fb + l < f1 ? fb + l : f1 - 1;  // spare lanes repeat the last frame; never written out
      const int64_t start = a.snipEdges ? f * a.windowShift : f * a.windowShift - pad;
      starts[l] = start;
      src[l] = a.samples + start;
      allInside = allInside && start >= 0 && start + ws <= N;
    }
    const vd sc = splat(a.scale);
    vd sum = splat(0);
    if (allInside) {
      int i = 0;
      for (; i + 4 <= ws; i += 4) {
        // 4 samples of each of the 4 frames, transposed so that each vector holds one sample of every frame.
        vf r0, r1, r2, r3;
        __builtin_memcpy(&r0, src[0] + i, sizeof r0);
        __builtin_memcpy(&r1, src[1] + i, sizeof r1);
        __builtin_memcpy(&r2, src[2] + i, sizeof r2);
        __builtin_memcpy(&r3, src[3] + i, sizeof r3);
        const vf t0 = __builtin_shuffle(r0, r1, vsi{0, 4, 1, 5}), t1 = __builtin_shuffle(r0, r1, vsi{2, 6, 3, 7});
        const vf t2 = __builtin_shuffle(r2, r3, vsi{0, 4, 1, 5}), t3 = __builtin_shuffle(r2, r3, vsi{2, 6, 3, 7});
        const vf c[4] = {__builtin_shuffle(t0, t2, vsi{0, 1, 4, 5}), __builtin_shuffle(t0, t2, vsi{2, 3, 6, 7}),
                         __builtin_shuffle(t1, t3, vsi{0, 1, 4, 5}), __builtin_shuffle(t1, t3, vsi{2, 3, 6, 7})};
        for (int j = 0; j < 4; j++) {
          const vd v = __builtin_convertvector(c[j], vd) * sc;
          frame[i + j] = v;
          sum += v;
        }
      }
      for (; i < ws; i++) {
        const vd v = vd{src[0][i], src[1][i], src[2][i], src[3][i]} * sc;
        frame[i] = v;
        sum += v;
      }
    } else {
      for (int l = 0; l < kLanes; l++)
        for (int i = 0; i < ws; i++) edge[l * ws + i] = a.samples[reflectIndex(starts[l] + i, N)];
      for (int i = 0; i < ws; i++) {
        const vd v = vd{edge[i], edge[ws + i], edge[2 * ws + i], edge[3 * ws + i]} * sc;
        frame[i] = v;
        sum += v;
      }
    }
    // DC removal, pre-emphasis (backwards, each step on the previous DC-free sample), window, and the even/odd
    // packing of the real FFT in one pass; the same operations as the reference's separate passes.
    const vd mean = a.removeDc ? sum / splat(static_cast<double>(ws)) : splat(0);
    const vd pre = splat(a.preemph);
    const bool usePre = a.preemph != 0;
    auto put = [&](int i, vd v) {
      if (i & 1) im[t.rev[i >> 1]] = v;
      else re[t.rev[i >> 1]] = v;
    };
    for (int i = ws - 1; i > 0; i--) {
      vd v = frame[i] - mean;
      if (usePre) v -= pre * (frame[i - 1] - mean);
      put(i, v * splat(a.window[i]));
    }
    {
      vd v = frame[0] - mean;
      if (usePre) v -= pre * v;
      put(0, v * splat(a.window[0]));
    }
    for (int i = ws; i < n; i++) put(i, splat(0));
    complexFft(t, re.data(), im.data());
    const vd h = splat(0.5);
    for (int k = 0; k <= m; k++) {
      const int k1 = k == m ? 0 : k, k2 = k == 0 ? 0 : m - k;
      const vd zr = re[k1], zi = im[k1], cr = re[k2], ci = -im[k2];
      const vd er = h * (zr + cr), ei = h * (zi + ci);
      const vd dr = zr - cr, di = zi - ci;
      const vd orr = h * di, oi = -h * dr;
      const vd wr = splat(t.cosN[k]), wi = splat(t.sinN[k]);
      const vd xr = er + wr * orr - wi * oi, xi = ei + wr * oi + wi * orr;
      power[k] = xr * xr + xi * xi;
    }
    if (!a.usePower) {
      for (int k = 0; k <= m; k++)
        for (int l = 0; l < kLanes; l++) power[k][l] = std::sqrt(power[k][l]);
    }
    const int lanes = static_cast<int>(f1 - fb < kLanes ? f1 - fb : kLanes);
    for (int b = 0; b < a.bins; b++) {
      const double* w = a.melWeights + a.melOffset[b];
      const vd* p = power.data() + a.melStart[b];
      const int len = a.melLen[b];
      // Two chains: one accumulator made this loop latency-bound (it took a third of the frame's time).
      vd e = splat(0), e2 = splat(0);
      int k = 0;
      for (; k + 2 <= len; k += 2) {
        e += splat(w[k]) * p[k];
        e2 += splat(w[k + 1]) * p[k + 1];
      }
      if (k < len) e += splat(w[k]) * p[k];
      e += e2;
      const vd floor = splat(kFloat32Eps);
      e = e > floor ? e : floor;  // also maps NaN to the floor, like the reference's e > eps ? e : eps
      const vd inf = splat(__builtin_inf());
      const vd lg = e == inf ? inf : vlog(e);
      for (int l = 0; l < lanes; l++) a.out[(fb + l) * a.bins + b] = static_cast<float>(lg[l]);
    }
  }
}

}  // namespace LK_NS
}  // namespace lk
