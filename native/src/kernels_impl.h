// The convolution kernels, written once for a vector width and compiled once per instruction set:
// kernels_avx2.cpp (8 floats per vector, a 6 x 16 register tile) and kernels_avx512.cpp (16 floats,
// an 8 x 32 tile). The including file sets MS_NS (the namespace of its entry points) and MS_AVX512,
// and turns on its instruction set with `#pragma GCC target` before including this.
//
// Everything but the entry points is in an anonymous namespace, and nothing from the C++ standard
// library is used: an inline function compiled here with AVX-512 instructions must never be merged
// (as a COMDAT) with a copy compiled for another instruction set.
//
// All three convolutions are one matrix product with an AVX2/AVX-512 FMA micro-kernel, an
// MR x NR tile of C kept in registers (NR = two vectors), with
//   - forward: C[pixels, cout] = patches[pixels, taps] * W[taps, cout]. The patches are never
//     copied (im2col): the micro-kernel reads each of its MR pixels' input rows through pointers
//     (one per pixel and kernel position, a zero row for the padding: an "indirect GEMM", as
//     XNNPACK does), W is packed once per call into NR-column panels.
//   - backprop input: cols[pixels, taps] = dy[pixels, cout] * W^T, each C tile added straight into
//     dx (col2im fused into the product's store), with W^T packed into NR-tap panels.
//   - backprop filter: dW^T[cout, taps] = dy^T[cout, pixels] * patches[pixels, taps] (or
//     dW = patches^T * dy when there are few taps), the pixels (the long reduction) in blocks of
//     KC: both operands packed per block (dy^T into MR-row panels, the patches into NR-tap panels
//     straight from x), the C tile accumulated in a scratch matrix kept in L2.
// Taps are numbered as in the filter: t = (ky * kw + kx) * cin + c.

#ifndef MS_NS
#error "define MS_NS and MS_AVX512 before including kernels_impl.h"
#endif

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

namespace MS_NS {
namespace {

using ms::ConvParams;

#if MS_AVX512
typedef __m512 V;
enum { VL = 16, MR = 8 };
inline V vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
inline V vset1(float f) { return _mm512_set1_ps(f); }
inline V vzero() { return _mm512_setzero_ps(); }
inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
inline __mmask16 lanes(int n) { return (__mmask16)((1u << n) - 1u); }
inline V vload_n(const float* p, int n) { return _mm512_maskz_loadu_ps(lanes(n), p); }
inline void vstore_n(float* p, V v, int n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
#else
typedef __m256 V;
enum { VL = 8, MR = 6 };
alignas(64) const int32_t kMaskTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
inline V vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
inline V vset1(float f) { return _mm256_set1_ps(f); }
inline V vzero() { return _mm256_setzero_ps(); }
inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
inline __m256i lanes(int n) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMaskTable + 8 - n)); }
inline V vload_n(const float* p, int n) { return _mm256_maskload_ps(p, lanes(n)); }
inline void vstore_n(float* p, V v, int n) { _mm256_maskstore_ps(p, lanes(n), v); }
#endif

enum { NR = 2 * VL };
// Pixels per block of the filter gradient's reduction: a packed NR-tap panel of KC pixels is
// 32 KB (AVX-512) or 16 KB (AVX2), in L1 while every dy^T panel goes past it.
enum { KC = 256 };

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

inline V activate(V v, int act) {
  if (act == ms::kRelu) return vmax(v, vzero());
  if (act == ms::kRelu6) return vmin(vmax(v, vzero()), vset1(6.0f));
  return v;
}

// One MR x NR tile of C = sum over nseg segments of (kc columns of A) * (kc rows of packed B).
// a: nseg groups of MR row pointers, each row read at [0, kc); b: nseg * kc rows of NR floats.
// c: MR row pointers (nullptr: row not stored), ncols (<= NR) columns each.
// STORE: c = acc (+ bias, activation); ADD: c += acc.
enum Mode { STORE = 0, ADD = 1 };
template <int MODE>
inline void ukr_indirect(int nseg, int kc, const float* const* a, const float* __restrict b, float* const* c,
                         int ncols, const float* bias, int act) {
  V acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) acc0[r] = acc1[r] = vzero();
  for (int s = 0; s < nseg; s++, a += MR) {
    const float* ap[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) ap[r] = a[r];
#pragma GCC unroll 2
    for (int k = 0; k < kc; k++) {
      const V b0 = vload(b);
      const V b1 = vload(b + VL);
      b += NR;
#pragma GCC unroll 8
      for (int r = 0; r < MR; r++) {
        const V av = vset1(ap[r][k]);
        acc0[r] = vfma(av, b0, acc0[r]);
        acc1[r] = vfma(av, b1, acc1[r]);
      }
    }
  }
  V bias0 = vzero(), bias1 = vzero();
  if (MODE == STORE && bias) {
    bias0 = vload(bias);
    bias1 = vload(bias + VL);
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) {
    float* cr = c[r];
    if (!cr) continue;
    V v0 = acc0[r], v1 = acc1[r];
    if (MODE == STORE) {
      v0 = activate(vadd(v0, bias0), act);
      v1 = activate(vadd(v1, bias1), act);
    }
    if (ncols == NR) {
      if (MODE == ADD) {
        v0 = vadd(v0, vload(cr));
        v1 = vadd(v1, vload(cr + VL));
      }
      vstore(cr, v0);
      vstore(cr + VL, v1);
    } else {
      const int n0 = ncols < VL ? ncols : VL;
      const int n1 = ncols - n0;
      if (MODE == ADD) v0 = vadd(v0, vload_n(cr, n0));
      vstore_n(cr, v0, n0);
      if (n1 > 0) {
        if (MODE == ADD) v1 = vadd(v1, vload_n(cr + VL, n1));
        vstore_n(cr + VL, v1, n1);
      }
    }
  }
}

// c[MR rows of ldc][NR] += a (kc x MR, packed) * b (kc rows of NR floats, ldb apart).
inline void ukr_packed(int kc, const float* __restrict a, const float* __restrict b, ptrdiff_t ldb, float* c, ptrdiff_t ldc) {
  V acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) acc0[r] = acc1[r] = vzero();
#pragma GCC unroll 2
  for (int k = 0; k < kc; k++) {
    const V b0 = vload(b);
    const V b1 = vload(b + VL);
    b += ldb;
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const V av = vset1(a[r]);
      acc0[r] = vfma(av, b0, acc0[r]);
      acc1[r] = vfma(av, b1, acc1[r]);
    }
    a += MR;
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) {
    float* cr = c + r * ldc;
    vstore(cr, vadd(acc0[r], vload(cr)));
    vstore(cr + VL, vadd(acc1[r], vload(cr + VL)));
  }
}

// The input rows under the window of each output pixel, pixel after pixel: for each kernel
// position s = ky * kw + kx, the address of x[n, iy, ix, 0], or `outside` where (iy, ix) is
// padding. Pixels are numbered n * ho * wo + oy * wo + ox; seek() once, then next().
class Windows {
 public:
  explicit Windows(const ConvParams& p) : p_(p), image_((int64_t)p.h * p.w * p.cin) {
    const int S = p.kh * p.kw;
    off_ = reinterpret_cast<int64_t*>(ms::scratch(7, (size_t)S * 2 + 16));
    for (int ky = 0; ky < p.kh; ky++)
      for (int kx = 0; kx < p.kw; kx++) off_[ky * p.kw + kx] = ((int64_t)ky * p.w + kx) * p.cin;
  }
  void seek(int64_t q) {
    const int64_t hw = (int64_t)p_.ho * p_.wo;
    n_ = q / hw;
    const int64_t rem = q - n_ * hw;
    oy_ = (int)(rem / p_.wo);
    ox_ = (int)(rem - (int64_t)oy_ * p_.wo);
  }
  void next() {
    if (++ox_ == p_.wo) {
      ox_ = 0;
      if (++oy_ == p_.ho) {
        oy_ = 0;
        n_++;
      }
    }
  }
  // The current pixel's rows, written to dst[s * stride].
  template <typename T>
  void rows(T* base, T* outside, T** dst, int stride) const {
    const int iy0 = oy_ * p_.sh - p_.pt;
    const int ix0 = ox_ * p_.sw - p_.pl;
    T* img = base + n_ * image_;
    const int S = p_.kh * p_.kw;
    if (iy0 >= 0 && iy0 + p_.kh <= p_.h && ix0 >= 0 && ix0 + p_.kw <= p_.w) {
      T* o = img + ((int64_t)iy0 * p_.w + ix0) * p_.cin;
      for (int s = 0; s < S; s++) dst[s * stride] = o + off_[s];
      return;
    }
    int s = 0;
    for (int ky = 0; ky < p_.kh; ky++) {
      const int iy = iy0 + ky;
      const bool rowIn = iy >= 0 && iy < p_.h;
      for (int kx = 0; kx < p_.kw; kx++, s++) {
        const int ix = ix0 + kx;
        dst[s * stride] = rowIn && ix >= 0 && ix < p_.w ? img + ((int64_t)iy * p_.w + ix) * p_.cin : outside;
      }
    }
  }

 private:
  const ConvParams& p_;
  int64_t image_;
  int64_t* off_;
  int64_t n_ = 0;
  int oy_ = 0, ox_ = 0;
};

// A zeroed buffer of n floats (and at least one vector) in scratch slot `slot`.
inline float* zeros(int slot, int64_t n) {
  const int64_t len = imax(n, VL);
  float* z = ms::scratch(slot, (size_t)len);
  memset(z, 0, (size_t)len * sizeof(float));
  return z;
}

// A panel's taps t0 .. t0 + nt - 1 as runs of consecutive channels of one kernel position each
// (several when the panel crosses a position boundary: cin not a multiple of the panel width).
struct Run {
  int s, c, off, len;  // kernel position, first channel, offset in the panel, length
};
inline int panel_runs(int64_t t0, int nt, int cin, Run* runs) {
  int n = 0;
  for (int off = 0; off < nt;) {
    const int64_t t = t0 + off;
    const int64_t s = t / cin;
    const int c = (int)(t - s * cin);
    const int len = (int)imin(cin - c, nt - off);
    runs[n++] = {(int)s, c, off, len};
    off += len;
  }
  return n;
}
// dst[0, len) = src[0, len)
inline void copy_run(float* dst, const float* src, int len) {
  if (len < 4) {
    for (int i = 0; i < len; i++) dst[i] = src[i];
    return;
  }
  int i = 0;
  for (; i + VL <= len; i += VL) vstore(dst + i, vload(src + i));
  if (i < len) vstore_n(dst + i, vload_n(src + i, len - i), len - i);
}
// dst[0, n) = src[0, n), then zeros up to width (a panel's padding)
inline void copy_padded(float* dst, const float* src, int n, int width) {
  for (int i = 0; i < n; i++) dst[i] = src[i];
  for (int i = n; i < width; i++) dst[i] = 0.0f;
}
// The columns of a row-major [rows x cols] matrix in panels of `width` columns: panel j, at
// dst + j * rows * width, holds columns j*width .. j*width + width - 1 of every row, zero past cols.
inline void pack_column_panels(float* dst, const float* src, int64_t rows, int64_t cols, int width) {
  for (int64_t c0 = 0; c0 < cols; c0 += width) {
    const int nc = (int)imin(width, cols - c0);
    for (int64_t r = 0; r < rows; r++, dst += width) copy_padded(dst, src + r * cols + c0, nc, width);
  }
}
// dst[0, len) += src[0, len)
inline void add_run(float* dst, const float* src, int len) {
  if (len < 4) {
    for (int i = 0; i < len; i++) dst[i] += src[i];
    return;
  }
  int i = 0;
  for (; i + VL <= len; i += VL) vstore(dst + i, vadd(vload(dst + i), vload(src + i)));
  if (i < len) vstore_n(dst + i, vadd(vload_n(dst + i, len - i), vload_n(src + i, len - i)), len - i);
}

}  // namespace

// y[n, oy, ox, co] = act(bias[co] + sum over ky, kx, c of x[n, oy*sh + ky - pt, ox*sw + kx - pl, c] * w[ky, kx, c, co])
void conv2d(const ConvParams& p, const float* x, const float* w, const float* bias, int act, float* y) {
  const int S = p.kh * p.kw;
  const int64_t T = (int64_t)S * p.cin;
  const int nj = (int)((p.cout + NR - 1) / NR);
  const int64_t P = (int64_t)p.n * p.ho * p.wo;
  if (P == 0 || p.cout == 0) return;
  // W in NR-column panels: panel j holds rows t = 0..T-1 of columns j*NR .. j*NR + NR - 1 (zero past cout).
  float* pw = ms::scratch(0, (size_t)(nj * T * NR + VL));
  pack_column_panels(pw, w, T, p.cout, NR);
  float* pbias = nullptr;
  if (bias) {
    pbias = ms::scratch(1, (size_t)(nj * NR));
    for (int i = 0; i < nj * NR; i++) pbias[i] = i < p.cout ? bias[i] : 0.0f;
  }
  const float* zero = zeros(2, p.cin);
  const float** rows = reinterpret_cast<const float**>(ms::scratch(3, (size_t)S * MR * 2 + 16));
  float* out[MR];
  float* c[MR];
  Windows win(p);
  for (int64_t p0 = 0; p0 < P; p0 += MR) {
    for (int r = 0; r < MR; r++) {
      const int64_t q = p0 + r;
      if (q < P) {
        win.rows(x, zero, rows + r, MR);
        win.next();
        out[r] = y + q * p.cout;
      } else {
        for (int s = 0; s < S; s++) rows[s * MR + r] = zero;
        out[r] = nullptr;
      }
    }
    for (int j = 0; j < nj; j++) {
      for (int r = 0; r < MR; r++) c[r] = out[r] ? out[r] + j * NR : nullptr;
      ukr_indirect<STORE>(S, p.cin, rows, pw + j * T * NR, c, (int)imin(NR, p.cout - j * NR), pbias ? pbias + j * NR : nullptr,
                          act);
    }
  }
}

// dx[n, iy, ix, c] = sum over the (oy, ox, ky, kx) with iy = oy*sh + ky - pt, ix = ox*sw + kx - pl
// of sum over co of dy[n, oy, ox, co] * w[ky, kx, c, co]. Every element of dx is written.
void conv2d_backprop_input(const ConvParams& p, const float* dy, const float* w, float* dx) {
  const int S = p.kh * p.kw;
  const int64_t T = (int64_t)S * p.cin;
  const int64_t image = (int64_t)p.h * p.w * p.cin;
  const int64_t P = (int64_t)p.n * p.ho * p.wo;
  const int64_t hw = (int64_t)p.ho * p.wo;
  const int nj = (int)((T + NR - 1) / NR);
  int64_t zeroed = 0;  // images of dx set to zero so far (in order: pixels come image by image)
  if (P > 0 && T > 0) {
    // W^T in NR-tap panels: panel j holds, for each co, taps j*NR .. j*NR + NR - 1 (zero past T).
    float* pw = ms::scratch(0, (size_t)(nj * (int64_t)p.cout * NR + VL));
    for (int j = 0; j < nj; j++) {
      const int64_t t0 = (int64_t)j * NR;
      const int nt = (int)imin(NR, T - t0);
      float* dst = pw + (int64_t)j * p.cout * NR;
      for (int co = 0; co < p.cout; co++, dst += NR) {
        for (int i = 0; i < nt; i++) dst[i] = w[(t0 + i) * p.cout + co];
        for (int i = nt; i < NR; i++) dst[i] = 0.0f;
      }
    }
    const float* zero = zeros(2, p.cout);
    float** seg = reinterpret_cast<float**>(ms::scratch(3, (size_t)S * MR * 2 + 16));
    float* tile = ms::scratch(4, MR * NR);
    const float* a[MR];
    float* c[MR];
    float* tileRows[MR];
    for (int r = 0; r < MR; r++) tileRows[r] = tile + r * NR;
    Windows win(p);
    for (int64_t p0 = 0; p0 < P; p0 += MR) {
      const int rows = (int)imin(MR, P - p0);
      const int64_t lastImage = (p0 + rows - 1) / hw;
      for (; zeroed <= lastImage; zeroed++) memset(dx + zeroed * image, 0, (size_t)image * sizeof(float));
      for (int r = 0; r < MR; r++) {
        if (r < rows) {
          a[r] = dy + (p0 + r) * p.cout;
          win.rows<float>(dx, nullptr, seg + r, MR);
          win.next();
        } else {
          a[r] = zero;
          for (int s = 0; s < S; s++) seg[s * MR + r] = nullptr;
        }
      }
      for (int j = 0; j < nj; j++) {
        const int64_t t0 = (int64_t)j * NR;
        const int nt = (int)imin(NR, T - t0);
        const int64_t s0 = t0 / p.cin;
        const float* b = pw + (int64_t)j * p.cout * NR;
        if ((t0 + nt - 1) / p.cin == s0) {
          // The panel's taps are channels c0 .. c0 + nt - 1 of one kernel position: add each row
          // of the tile to nt consecutive floats of dx.
          const int64_t c0 = t0 - s0 * p.cin;
          for (int r = 0; r < MR; r++) c[r] = seg[s0 * MR + r] ? seg[s0 * MR + r] + c0 : nullptr;
          ukr_indirect<ADD>(1, p.cout, a, b, c, nt, nullptr, 0);
        } else {
          ukr_indirect<STORE>(1, p.cout, a, b, tileRows, NR, nullptr, 0);
          Run runs[NR];
          const int nruns = panel_runs(t0, nt, p.cin, runs);
          for (int r = 0; r < rows; r++) {
            for (int u = 0; u < nruns; u++) {
              float* d = seg[(int64_t)runs[u].s * MR + r];
              if (d) add_run(d + runs[u].c, tile + r * NR + runs[u].off, runs[u].len);
            }
          }
        }
      }
    }
  }
  for (; zeroed < p.n; zeroed++) memset(dx + zeroed * image, 0, (size_t)image * sizeof(float));
}

// dw[ky, kx, c, co] = sum over n, oy, ox of x[n, oy*sh + ky - pt, ox*sw + kx - pl, c] * dy[n, oy, ox, co]
void conv2d_backprop_filter(const ConvParams& p, const float* x, const float* dy, float* dw) {
  const int S = p.kh * p.kw;
  const int64_t T = (int64_t)S * p.cin;
  const int64_t P = (int64_t)p.n * p.ho * p.wo;
  const int64_t outLen = T * p.cout;
  if (outLen == 0) return;
  if (P == 0) {
    memset(dw, 0, (size_t)outLen * sizeof(float));
    return;
  }
  // Two ways to lay the product out; the one that computes fewer padded tile elements (the cout
  // side rounded to MR or NR, the taps to NR or MR) wins, with a margin for the first way, whose
  // packing copies whole vectors.
  //   transposed: dW^T[cout, taps] = dy^T * patches (cout in MR-row panels, taps in NR panels)
  //   direct:     dW[taps, cout] = patches^T * dy (taps in MR-row panels, cout in NR panels)
  const int64_t workT = round_up(p.cout, MR) * round_up(T, NR);
  const int64_t workD = round_up(T, MR) * round_up(p.cout, NR);
  const bool transposed = workT * 4 <= workD * 5;
  const int64_t M = transposed ? p.cout : T;  // rows of the product
  const int64_t N = transposed ? T : p.cout;  // columns
  const int64_t Mp = round_up(M, MR);
  const int64_t Np = round_up(N, NR);
  float* acc = ms::scratch(0, (size_t)(Mp * Np));
  memset(acc, 0, (size_t)(Mp * Np) * sizeof(float));
  float* pa = ms::scratch(1, (size_t)(Mp * KC));                        // A, packed: Mp/MR panels of [kc][MR]
  float* pb = ms::scratch(2, (size_t)((transposed ? (int64_t)NR : Np) * KC));   // B, packed: one panel, or all of them
  const float* zero = zeros(5, p.cin);
  const float** seg = reinterpret_cast<const float**>(ms::scratch(3, (size_t)KC * S * 2 + 16));  // [k][s]: x rows
  // The kernel position and channel of each tap (direct way: taps are gathered one by one).
  int32_t* tapSeg = nullptr;
  if (!transposed) {
    tapSeg = reinterpret_cast<int32_t*>(ms::scratch(4, (size_t)(2 * Mp + 16)));
    for (int64_t t = 0; t < Mp; t++) {
      tapSeg[2 * t] = t < T ? (int32_t)(t / p.cin) : -1;
      tapSeg[2 * t + 1] = t < T ? (int32_t)(t % p.cin) : 0;
    }
  }
  Windows win(p);
  for (int64_t p0 = 0; p0 < P; p0 += KC) {
    const int kc = (int)imin(KC, P - p0);
    for (int k = 0; k < kc; k++, win.next()) win.rows(x, zero, seg + (int64_t)k * S, 1);
    const float* dyb = dy + p0 * p.cout;
    if (transposed) {
      // A = dy^T: panel i, row r = channel i*MR + r, for each pixel k.
      pack_column_panels(pa, dyb, kc, p.cout, MR);
      // B = patches, one NR-tap panel at a time (packed, then multiplied by every A panel).
      for (int64_t j = 0; j < Np / NR; j++) {
        const int64_t t0 = j * NR;
        const int nt = (int)imin(NR, T - t0);
        const int64_t s0 = t0 / p.cin;
        float* dst = pb;
        if ((t0 + nt - 1) / p.cin == s0) {
          const int64_t c0 = t0 - s0 * p.cin;
          for (int k = 0; k < kc; k++, dst += NR) {
            const float* src = seg[(int64_t)k * S + s0] + c0;
            if (nt == NR) {
              vstore(dst, vload(src));
              vstore(dst + VL, vload(src + VL));
            } else {
              copy_padded(dst, src, nt, NR);
            }
          }
        } else {
          Run runs[NR];
          const int nruns = panel_runs(t0, nt, p.cin, runs);
          for (int k = 0; k < kc; k++, dst += NR) {
            const float* const* sk = seg + (int64_t)k * S;
            for (int u = 0; u < nruns; u++) copy_run(dst + runs[u].off, sk[runs[u].s] + runs[u].c, runs[u].len);
            for (int i = nt; i < NR; i++) dst[i] = 0.0f;
          }
        }
        for (int64_t i = 0; i < Mp / MR; i++) ukr_packed(kc, pa + i * kc * MR, pb, NR, acc + i * MR * Np + j * NR, Np);
      }
    } else {
      // B = dy: panel j, columns j*NR .. j*NR + NR - 1, for each pixel k; read in place when
      // cout is a multiple of NR.
      const bool inPlace = p.cout % NR == 0;
      if (!inPlace) pack_column_panels(pb, dyb, kc, p.cout, NR);
      // A = patches^T, one MR-tap panel at a time.
      for (int64_t i = 0; i < Mp / MR; i++) {
        const int32_t* ts = tapSeg + 2 * i * MR;
        float* dst = pa;
        for (int k = 0; k < kc; k++, dst += MR) {
          const float* const* sk = seg + (int64_t)k * S;
          for (int r = 0; r < MR; r++) dst[r] = ts[2 * r] >= 0 ? sk[ts[2 * r]][ts[2 * r + 1]] : 0.0f;
        }
        for (int64_t j = 0; j < Np / NR; j++) {
          float* cij = acc + i * MR * Np + j * NR;
          if (inPlace) ukr_packed(kc, pa, dyb + j * NR, p.cout, cij, Np);
          else ukr_packed(kc, pa, pb + j * kc * NR, NR, cij, Np);
        }
      }
    }
  }
  if (transposed) {
    for (int64_t t = 0; t < T; t++)
      for (int co = 0; co < p.cout; co++) dw[t * p.cout + co] = acc[co * Np + t];
  } else {
    for (int64_t t = 0; t < T; t++) memcpy(dw + t * p.cout, acc + t * Np, (size_t)p.cout * sizeof(float));
  }
}

}  // namespace MS_NS
