// The kernels compiled for AVX2 + FMA (8 floats per vector, a 6 x 16 register tile), and the
// max-pooling gradient (memory-bound: one version, used with either instruction set).
#if defined(__x86_64__) || defined(_M_X64)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif

#define MS_NS ms_avx2
#define MS_AVX512 0
#include "kernels_impl.h"

namespace ms_avx2 {

namespace {

// A window element's gradient: written (STORE: windows do not overlap) or added, nc <= 8 lanes.
template <bool STORE>
inline void put(float* d, __m256 add, bool full, int nc) {
  if (STORE) {
    if (full) _mm256_storeu_ps(d, add);
    else vstore_n(d, add, nc);
  } else {
    if (full) _mm256_storeu_ps(d, _mm256_add_ps(_mm256_loadu_ps(d), add));
    else vstore_n(d, _mm256_add_ps(vload_n(d, nc), add), nc);
  }
}

// One window, channels c0 .. c0 + nc - 1 (nc <= 8): the position of the first maximum among the
// K window elements at xi + off[k] (row-major window order), then its gradient: with STORE
// (windows do not overlap, so each dx element belongs to one window) every element of the window
// is written, g or 0; else g is added to the maximum's element.
template <int K, bool STORE>
inline void pool_window(const float* xi, float* dxi, const int64_t* off, int kn, const float* g, int c0, int nc) {
  const int n = K > 0 ? K : kn;
  const bool full = nc == VL;
  __m256 best = _mm256_set1_ps(-__builtin_inff()), at = _mm256_set1_ps(-1.0f);
  for (int k = 0; k < n; k++) {
    const float* src = xi + off[k] + c0;
    const __m256 v = full ? _mm256_loadu_ps(src) : vload_n(src, nc);
    const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, v, gt);
    at = _mm256_blendv_ps(at, _mm256_set1_ps((float)k), gt);
  }
  const __m256 gv = full ? _mm256_loadu_ps(g + c0) : vload_n(g + c0, nc);
  for (int k = 0; k < n; k++) {
    float* d = dxi + off[k] + c0;
    const __m256 add = _mm256_and_ps(gv, _mm256_cmp_ps(at, _mm256_set1_ps((float)k), _CMP_EQ_OQ));
    put<STORE>(d, add, full, nc);
  }
}

// The same for a window of 4 elements, without the position vector: best_k = max(v_k, best_k-1)
// (maxps returns its second operand when the first is NaN or not greater), and element k wins when
// it beat the best before it and no later element did.
template <bool STORE>
inline void pool_window4(const float* xi, float* dxi, const int64_t* off, const float* g, int c0, int nc) {
  const bool full = nc == VL;
  __m256 v[4];
  for (int k = 0; k < 4; k++) v[k] = full ? _mm256_loadu_ps(xi + off[k] + c0) : vload_n(xi + off[k] + c0, nc);
  __m256 best = _mm256_set1_ps(-__builtin_inff());
  __m256 gt[4];
  for (int k = 0; k < 4; k++) {
    gt[k] = _mm256_cmp_ps(v[k], best, _CMP_GT_OQ);
    best = _mm256_max_ps(v[k], best);
  }
  const __m256 gv = full ? _mm256_loadu_ps(g + c0) : vload_n(g + c0, nc);
  __m256 later = _mm256_setzero_ps();
  for (int k = 3; k >= 0; k--) {
    const __m256 add = _mm256_and_ps(gv, _mm256_andnot_ps(later, gt[k]));
    later = _mm256_or_ps(later, gt[k]);
    float* d = dxi + off[k] + c0;
    put<STORE>(d, add, full, nc);
  }
}

template <bool STORE>
inline void pool_window_all(const float* xi, float* dxi, const int64_t* off, int kn, const float* g, int c) {
  for (int c0 = 0; c0 < c; c0 += VL) {
    const int nc = c - c0 < VL ? c - c0 : VL;
    if (kn == 4) pool_window4<STORE>(xi, dxi, off, g, c0, nc);
    else pool_window<0, STORE>(xi, dxi, off, kn, g, c0, nc);
  }
}

}  // namespace

// dx[n, iy, ix, c] = sum of dy[n, oy, ox, c] over the windows (oy, ox) whose maximum of channel c
// is at (iy, ix): the first maximum in the window's row-major order, as tfjs's cpu backend finds it
// (maxPoolPositions: `pixel > maxValue` from -Infinity, so NaN is never a maximum and a window of
// -Infinity and NaN passes no gradient). Channels 8 at a time; every element of dx is written.
void max_pool_grad(const ms::PoolParams& p, const float* x, const float* dy, float* dx) {
  const int64_t rowStride = (int64_t)p.w * p.c;
  const int64_t image = (int64_t)p.h * rowStride;
  // Windows that do not overlap write their elements (g or 0) instead of adding to a zeroed dx;
  // when they also tile the image exactly (2 x 2, stride 2, even sizes), nothing is zeroed first.
  const bool disjoint = p.fh <= p.sh && p.fw <= p.sw;
  const bool tiled = disjoint && p.fh == p.sh && p.fw == p.sw && p.pt == 0 && p.pl == 0 && (int64_t)p.ho * p.fh == p.h &&
                     (int64_t)p.wo * p.fw == p.w;
  int64_t* off = reinterpret_cast<int64_t*>(ms::scratch(6, (size_t)p.fh * p.fw * 2 + 16));
  for (int n = 0; n < p.n; n++) {
    const float* xi = x + n * image;
    float* dxi = dx + n * image;
    if (!tiled) memset(dxi, 0, (size_t)image * sizeof(float));
    for (int oy = 0; oy < p.ho; oy++) {
      const int y0 = oy * p.sh - p.pt;
      const int ys = y0 > 0 ? y0 : 0;
      const int ye = y0 + p.fh < p.h ? y0 + p.fh : p.h;
      for (int ox = 0; ox < p.wo; ox++) {
        const int x0 = ox * p.sw - p.pl;
        const int xs = x0 > 0 ? x0 : 0;
        const int xe = x0 + p.fw < p.w ? x0 + p.fw : p.w;
        if (ys >= ye || xs >= xe) continue;
        int kn = 0;
        for (int yy = ys; yy < ye; yy++)
          for (int xx = xs; xx < xe; xx++) off[kn++] = yy * rowStride + (int64_t)xx * p.c;
        const float* g = dy + (((int64_t)n * p.ho + oy) * p.wo + ox) * p.c;
        // The next window row's input, on its way to L1 (the windows' rows are too many streams
        // for the hardware prefetcher to keep ahead of).
        if (oy + 1 < p.ho && ys + p.sh + (ye - ys) <= p.h) {
          const float* ahead = xi + (int64_t)p.sh * rowStride;
          for (int k = 0; k < kn; k++)
            for (int c = 0; c < p.c; c += 16) _mm_prefetch(reinterpret_cast<const char*>(ahead + off[k] + c), _MM_HINT_T0);
        }
        if (disjoint) pool_window_all<true>(xi, dxi, off, kn, g, p.c);
        else pool_window_all<false>(xi, dxi, off, kn, g, p.c);
      }
    }
  }
}

}  // namespace ms_avx2

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
