// Shared declarations of the native training kernels (see addon.cpp for the overview).
// Included by the N-API glue (compiled for the baseline x86-64 ISA) and by the ISA-specific kernel
// files (kernels_avx2.cpp, kernels_avx512.cpp), so it holds plain C-style declarations only.
#ifndef MODELSPEC_KERNELS_H
#define MODELSPEC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

namespace ms {

// A 2-D convolution, NHWC, filter [kh, kw, cin, cout] (tfjs's layout), dilation 1.
// pt/pl: padding before the first row/column (tfjs's convInfo.padInfo.top/left); the bottom and
// right padding follow from the output size.
struct ConvParams {
  int n, h, w, cin;  // input
  int ho, wo, cout;  // output
  int kh, kw, sh, sw, pt, pl;
};

// A max pooling window over NHWC (as tfjs's computePool2DInfo describes it).
struct PoolParams {
  int n, h, w, c;
  int ho, wo;
  int fh, fw, sh, sw, pt, pl;
};

enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2 };

// A 64-byte aligned buffer of at least `floats` floats, private to the calling thread, reused
// between calls (its contents are not kept). Slots are independent buffers.
float* scratch(int slot, size_t floats);

}  // namespace ms

// One set of entry points per instruction set; addon.cpp picks one at load time.
#define MS_DECLARE_KERNELS(NS)                                                                        \
  namespace NS {                                                                                      \
  void conv2d(const ms::ConvParams& p, const float* x, const float* w, const float* bias, int act,   \
              float* y);                                                                              \
  void conv2d_backprop_input(const ms::ConvParams& p, const float* dy, const float* w, float* dx);   \
  void conv2d_backprop_filter(const ms::ConvParams& p, const float* x, const float* dy, float* dw);  \
  void max_pool_grad(const ms::PoolParams& p, const float* x, const float* dy, float* dx);           \
  }

MS_DECLARE_KERNELS(ms_avx2)
MS_DECLARE_KERNELS(ms_avx512)

#endif
