// Portable build of the fbank kernel and the run-time choice between it and the AVX2 build.
#define LK_NS portable
#include "fbank_impl.h"

#include <cstdlib>


namespace lk {

bool hasAvx2Fma() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool yes = [] {
    // LIKENESS_NATIVE_PORTABLE=1 forces the portable kernels (to test them on an AVX2 machine).
    const char* force = std::getenv("LIKENESS_NATIVE_PORTABLE");
    if (force && force[0] == '1') return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
#else
  return false;
#endif
}

namespace {
void framesOn(const FbankArgs& a, int64_t f0, int64_t f1) {
  if (hasAvx2Fma()) avx2::fbankFrames(a, f0, f1);
  else portable::fbankFrames(a, f0, f1);
}
}  // namespace

void fbank(const FbankArgs& a, int threads) {
  // Frames are independent; 1000 frames (10 s of audio) per thread or a thread start costs more than it saves.
  parallelFor(a.frames, threads, 1000, 4, [&](int64_t f0, int64_t f1) { framesOn(a, f0, f1); });
}

}  // namespace lk
