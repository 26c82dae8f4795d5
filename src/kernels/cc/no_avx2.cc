// Non-x86 builds: the "AVX2" entry points are never chosen (hasAvx2Fma() is false) but must link.
#include "kernels.h"

namespace lk {
namespace avx2 {
void fbankFrames(const FbankArgs& a, int64_t f0, int64_t f1) { portable::fbankFrames(a, f0, f1); }
void searchF32(const SearchF32Args& a, TopKOut out) { portable::searchF32(a, out); }
void searchI8(const SearchI8Args& a, TopKOut out) { portable::searchI8(a, out); }
void cropFaces(const CropArgs& a, int64_t f0, int64_t f1) { portable::cropFaces(a, f0, f1); }
}  // namespace avx2
}  // namespace lk
