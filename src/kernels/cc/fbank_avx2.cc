// AVX2/FMA build of the fbank kernel (compiled with -mavx2 -mfma; called only when the CPU has both).
#define LK_NS avx2
#include "fbank_impl.h"
