// The convolution kernels compiled for AVX-512F (16 floats per vector, an 8 x 32 register tile),
// used when the CPU has it (addon.cpp). On CPUs with full-width AVX-512 units (AMD Zen 5, Intel
// server parts) this doubles the FMA throughput of the AVX2 version.
#if defined(__x86_64__) || defined(_M_X64)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f"))), apply_to = function)
#else
#pragma GCC target("avx2,fma,avx512f")
#endif

#define MS_NS ms_avx512
#define MS_AVX512 1
#include "kernels_impl.h"

namespace ms_avx512 {
void max_pool_grad(const ms::PoolParams& p, const float* x, const float* dy, float* dx) { ms_avx2::max_pool_grad(p, x, dy, dx); }
}  // namespace ms_avx512

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
