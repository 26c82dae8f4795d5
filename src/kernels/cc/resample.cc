// Polyphase windowed-sinc resampling. The filter bank (one row of taps per phase) comes from the TS twin
// (resamplePlan in reference.ts), so both paths use the same filter and differ only by summation order.
#include "kernels.h"

namespace lk {

void resample(const ResampleArgs& a) {
  const int32_t T = a.numTaps;
  for (int64_t n = 0; n < a.outLen; n++) {
    const int64_t num = n * a.down;
    int64_t base = num / a.up;
    const int64_t frac = num % a.up;
    int64_t p = frac;
    if (a.phases != a.up) {
      // More phases than the table holds: the nearest tabulated phase, with integer rounding both paths share.
      p = (2 * frac * a.phases + a.up) / (2 * a.up);
      if (p == a.phases) {
        p = 0;
        base++;
      }
    }
    const int64_t start = base - a.half + 1;
    const double* h = a.taps + p * T;
    double acc;
    if (start >= 0 && start + T <= a.inLen) {
      const float* x = a.in + start;
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int32_t j = 0;
      for (; j + 4 <= T; j += 4) {
        s0 += h[j] * x[j];
        s1 += h[j + 1] * x[j + 1];
        s2 += h[j + 2] * x[j + 2];
        s3 += h[j + 3] * x[j + 3];
      }
      for (; j < T; j++) s0 += h[j] * x[j];
      acc = (s0 + s1) + (s2 + s3);
    } else {
      acc = 0;
      for (int32_t j = 0; j < T; j++) {
        const int64_t i = start + j;
        if (i >= 0 && i < a.inLen) acc += h[j] * a.in[i];
      }
    }
    a.out[n] = static_cast<float>(acc);
  }
}

}  // namespace lk
