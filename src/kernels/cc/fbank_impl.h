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
  for (int size = 8; size <= m;) {
    const int half = size >> 1;
    if (size * 2 <= m) {
      // Two radix-2 stages (size and 2 size) fused: the same butterflies and roundings, one pass over the data.
      const double* twA = tw + off;         // stage `size`: j < half
      const double* twB = tw + off + size;  // stage `2 size`: j < size
      for (int start = 0; start < m; start += 2 * size) {
        for (int j = 0; j < half; j++) {
          const int i0 = start + j, i1 = i0 + half, i2 = i0 + size, i3 = i2 + half;
          const vd war = splat(twA[2 * j]), wai = splat(twA[2 * j + 1]);
          // Stage `size`: (i0, i1) and (i2, i3).
          const vd x1r = re[i1] * war - im[i1] * wai, x1i = re[i1] * wai + im[i1] * war;
          const vd x3r = re[i3] * war - im[i3] * wai, x3i = re[i3] * wai + im[i3] * war;
          const vd b0r = re[i0] + x1r, b0i = im[i0] + x1i, b1r = re[i0] - x1r, b1i = im[i0] - x1i;
          const vd b2r = re[i2] + x3r, b2i = im[i2] + x3i, b3r = re[i2] - x3r, b3i = im[i2] - x3i;
          // Stage `2 size`: (i0, i2) with twiddle j, (i1, i3) with twiddle j + half.
          const vd wbr = splat(twB[2 * j]), wbi = splat(twB[2 * j + 1]);
          const vd wcr = splat(twB[2 * (j + half)]), wci = splat(twB[2 * (j + half) + 1]);
          const vd y2r = b2r * wbr - b2i * wbi, y2i = b2r * wbi + b2i * wbr;
          const vd y3r = b3r * wcr - b3i * wci, y3i = b3r * wci + b3i * wcr;
          re[i0] = b0r + y2r;
          im[i0] = b0i + y2i;
          re[i2] = b0r - y2r;
          im[i2] = b0i - y2i;
          re[i1] = b1r + y3r;
          im[i1] = b1i + y3i;
          re[i3] = b1r - y3r;
          im[i3] = b1i - y3i;
        }
      }
      off += size + 2 * size;
      size <<= 2;
      continue;
    }
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
    size <<= 1;
  }
}

// Calls fn(i, x) for i = 0..ws-1 in order, x holding sample i of each lane's frame (as doubles). Four samples of the
// four frames are loaded at once and transposed in registers (building vectors lane by lane through memory stalls
// store forwarding).
template <typename Fn>
inline void forEachSample(const float* const* src, int ws, Fn&& fn) {
  int i = 0;
  for (; i + 4 <= ws; i += 4) {
    vf r0, r1, r2, r3;
    __builtin_memcpy(&r0, src[0] + i, sizeof r0);
    __builtin_memcpy(&r1, src[1] + i, sizeof r1);
    __builtin_memcpy(&r2, src[2] + i, sizeof r2);
    __builtin_memcpy(&r3, src[3] + i, sizeof r3);
    const vf t0 = __builtin_shuffle(r0, r1, vsi{0, 4, 1, 5}), t1 = __builtin_shuffle(r0, r1, vsi{2, 6, 3, 7});
    const vf t2 = __builtin_shuffle(r2, r3, vsi{0, 4, 1, 5}), t3 = __builtin_shuffle(r2, r3, vsi{2, 6, 3, 7});
    fn(i, __builtin_convertvector(__builtin_shuffle(t0, t2, vsi{0, 1, 4, 5}), vd));
    fn(i + 1, __builtin_convertvector(__builtin_shuffle(t0, t2, vsi{2, 3, 6, 7}), vd));
    fn(i + 2, __builtin_convertvector(__builtin_shuffle(t1, t3, vsi{0, 1, 4, 5}), vd));
    fn(i + 3, __builtin_convertvector(__builtin_shuffle(t1, t3, vsi{2, 3, 6, 7}), vd));
  }
  for (; i < ws; i++) fn(i, vd{src[0][i], src[1][i], src[2][i], src[3][i]});
}
}  // namespace

void fbankFrames(const FbankArgs& a, int64_t f0, int64_t f1) {
  if (f1 <= f0) return;
  const int n = a.paddedSize, m = n / 2, ws = a.windowSize;
  const FftTables t(n);
  // No frame buffer: samples are gathered twice (sum, then the rest), which keeps the working set (re, im, power:
  // 24 KB at 512 points) inside L1.
  std::vector<vd> re(m), im(m), power(m + 1);
  std::vector<float> edge(static_cast<size_t>(kLanes) * ws);
  const int64_t N = a.numSamples;
  const int64_t pad = ws / 2 - a.windowShift / 2;
  const vd sc = splat(a.scale);
  const vd pre = splat(a.preemph);
  const bool usePre = a.preemph != 0;
  for (int64_t fb = f0; fb < f1; fb += kLanes) {
    const float* src[kLanes];
    for (int l = 0; l < kLanes; l++) {
      const int64_t f = fb + l < f1 ? fb + l : f1 - 1;  // spare lanes repeat the last frame; never written out
      const int64_t start = a.snipEdges ? f * a.windowShift : f * a.windowShift - pad;
      if (start >= 0 && start + ws <= N) {
        src[l] = a.samples + start;
      } else {
        // Kaldi's reflected edges: copy the frame once so both passes below read plain memory.
        float* e = edge.data() + static_cast<size_t>(l) * ws;
        for (int i = 0; i < ws; i++) e[i] = a.samples[reflectIndex(start + i, N)];
        src[l] = e;
      }
    }
    // Each frame's sum over four interleaved chains: one chain made this pass latency-bound (15% of the frame's
    // time). The order differs from the reference's by float64 rounding only (about 1e-16 of the sum).
    vd part[4] = {splat(0), splat(0), splat(0), splat(0)};
    forEachSample(src, ws, [&](int i, vd x) { part[i & 3] += x * sc; });
    const vd sum = (part[0] + part[1]) + (part[2] + part[3]);
    const vd mean = a.removeDc ? sum / splat(static_cast<double>(ws)) : splat(0);
    // DC removal, pre-emphasis on the previous DC-free sample (the first uses itself), window, and the even/odd
    // packing of the real FFT: the same operations as the reference's separate passes.
    vd prev = splat(0);
    forEachSample(src, ws, [&](int i, vd x) {
      const vd cur = x * sc - mean;
      vd v = cur;
      if (usePre) v -= pre * (i == 0 ? cur : prev);
      prev = cur;
      v *= splat(a.window[i]);
      if (i & 1) im[t.rev[i >> 1]] = v;
      else re[t.rev[i >> 1]] = v;
    });
    for (int i = ws; i < n; i++) {
      if (i & 1) im[t.rev[i >> 1]] = splat(0);
      else re[t.rev[i >> 1]] = splat(0);
    }
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
