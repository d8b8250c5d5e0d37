// modelspec's native training kernels: a Node-API addon, optional, used by the wasm backend's
// training kernels (src/backends/tfjs/wasm-kernels/native.ts) when it is built and loads.
//
// Functions on Float32Array views (typically of the wasm heap), NHWC tensors, filters
// [kh, kw, cin, cout], dilation 1, single-threaded:
//   conv2d(x, w, y, params, bias?, activation?)         y = act(conv(x, w) + bias)
//   conv2dBackpropInput(dy, w, dx, params)              dx (every element written)
//   conv2dBackpropFilter(x, dy, dw, params)             dw
//   maxPoolGrad(x, dy, dx, poolParams)                  dx (every element written)
//   batchNorm(x, mean, variance, offset?, scale?, epsilon, y)
//                                                       y = offset + (x - mean) * scale / sqrt(variance + epsilon),
//                                                       per channel (the last axis: mean's length)
// params: Int32Array [n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, padTop, padLeft];
// poolParams: Int32Array [n, h, w, c, ho, wo, fh, fw, sh, sw, padTop, padLeft].
// Also `isa` ('avx512' or 'avx2': the kernels in use) and setIsa(name) (tests, benchmarks).
//
// Loading throws when the CPU lacks AVX2 or FMA (the caller then keeps the wasm kernels). This
// file is compiled for the baseline x86-64 instruction set, so that check itself runs anywhere.
// Every function checks its arguments' types and lengths against the shapes before touching memory.
#include <node_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"

namespace {

struct Kernels {
  const char* name;
  void (*conv2d)(const ms::ConvParams&, const float*, const float*, const float*, int, float*);
  void (*backprop_input)(const ms::ConvParams&, const float*, const float*, float*);
  void (*backprop_filter)(const ms::ConvParams&, const float*, const float*, float*);
  void (*max_pool_grad)(const ms::PoolParams&, const float*, const float*, float*);
};

#if defined(__x86_64__) || defined(_M_X64)
const Kernels kAvx2 = {"avx2", ms_avx2::conv2d, ms_avx2::conv2d_backprop_input, ms_avx2::conv2d_backprop_filter,
                       ms_avx2::max_pool_grad};
const Kernels kAvx512 = {"avx512", ms_avx512::conv2d, ms_avx512::conv2d_backprop_input,
                         ms_avx512::conv2d_backprop_filter, ms_avx512::max_pool_grad};
bool hasAvx512 = false;
#endif
// Chosen at load (shared by every thread; setIsa is for tests and benchmarks).
const Kernels* active = nullptr;

bool check(napi_env env, napi_status s) {
  if (s == napi_ok) return true;
  const napi_extended_error_info* info = nullptr;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, nullptr, info && info->error_message ? info->error_message : "Node-API call failed");
  return false;
}

bool fail(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return false;
}

struct Args {
  napi_value v[8];
  size_t n = 8;
};

bool get_args(napi_env env, napi_callback_info info, Args& a, size_t required) {
  if (!check(env, napi_get_cb_info(env, info, &a.n, a.v, nullptr, nullptr))) return false;
  if (a.n < required) return fail(env, "modelspec native kernels: too few arguments");
  return true;
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_undefined || t == napi_null);
}

// A Float32Array's first element (the data pointer is already adjusted by the view's byte offset)
// and length, checked against the number of elements the shape needs; the length itself if asked.
template <typename T>
bool typed(napi_env env, napi_value v, napi_typedarray_type want, const char* what, int64_t need, T** data, size_t* length_out = nullptr) {
  bool isTyped = false;
  if (!check(env, napi_is_typedarray(env, v, &isTyped))) return false;
  napi_typedarray_type type;
  size_t length = 0;
  void* ptr = nullptr;
  if (isTyped && !check(env, napi_get_typedarray_info(env, v, &type, &length, &ptr, nullptr, nullptr))) return false;
  if (!isTyped || type != want) {
    char msg[160];
    snprintf(msg, sizeof msg, "modelspec native kernels: %s must be a %s", what, want == napi_float32_array ? "Float32Array" : "Int32Array");
    return fail(env, msg);
  }
  if (need < 0 || (uint64_t)need > (uint64_t)length) {
    char msg[160];
    snprintf(msg, sizeof msg, "modelspec native kernels: %s has %zu elements, the shapes need %lld", what, length, (long long)need);
    return fail(env, msg);
  }
  *data = static_cast<T*>(ptr);
  if (length_out) *length_out = length;
  return true;
}

bool conv_params(napi_env env, napi_value v, ms::ConvParams& p) {
  int32_t* a = nullptr;
  if (!typed(env, v, napi_int32_array, "params", 13, &a)) return false;
  p = {a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12]};
  if (p.n < 0 || p.h < 0 || p.w < 0 || p.cin < 0 || p.ho < 0 || p.wo < 0 || p.cout < 0 || p.kh < 1 || p.kw < 1 ||
      p.sh < 1 || p.sw < 1)
    return fail(env, "modelspec native kernels: invalid convolution parameters");
  // Element counts well inside int64; window coordinates (oy * sh - pt + ky, ...) inside int32.
  const double elems[] = {(double)p.n * p.h * p.w * p.cin, (double)p.n * p.ho * p.wo * p.cout,
                          (double)p.kh * p.kw * p.cin * p.cout};
  for (double e : elems)
    if (e > 1e12) return fail(env, "modelspec native kernels: convolution too large");
  const double coords[] = {(double)p.ho * p.sh + p.kh + (p.pt < 0 ? -(double)p.pt : p.pt),
                           (double)p.wo * p.sw + p.kw + (p.pl < 0 ? -(double)p.pl : p.pl), (double)p.h, (double)p.w};
  for (double c : coords)
    if (c > 1e9) return fail(env, "modelspec native kernels: convolution too large");
  return true;
}

int64_t size_x(const ms::ConvParams& p) { return (int64_t)p.n * p.h * p.w * p.cin; }
int64_t size_y(const ms::ConvParams& p) { return (int64_t)p.n * p.ho * p.wo * p.cout; }
int64_t size_w(const ms::ConvParams& p) { return (int64_t)p.kh * p.kw * p.cin * p.cout; }

napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

napi_value Conv2d(napi_env env, napi_callback_info info) {
  Args a;
  ms::ConvParams p;
  const float *x, *w, *bias = nullptr;
  float* y;
  if (!get_args(env, info, a, 4) || !conv_params(env, a.v[3], p)) return nullptr;
  if (!typed(env, a.v[0], napi_float32_array, "x", size_x(p), &x) || !typed(env, a.v[1], napi_float32_array, "w", size_w(p), &w) ||
      !typed(env, a.v[2], napi_float32_array, "y", size_y(p), &y))
    return nullptr;
  if (a.n > 4 && !is_nullish(env, a.v[4]) && !typed(env, a.v[4], napi_float32_array, "bias", p.cout, &bias)) return nullptr;
  int32_t act = 0;
  if (a.n > 5 && !is_nullish(env, a.v[5]) && !check(env, napi_get_value_int32(env, a.v[5], &act))) return nullptr;
  if (act < ms::kLinear || act > ms::kRelu6) return fail(env, "modelspec native kernels: unknown activation"), nullptr;
  active->conv2d(p, x, w, bias, act, y);
  return undefined(env);
}

napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  Args a;
  ms::ConvParams p;
  const float *dy, *w;
  float* dx;
  if (!get_args(env, info, a, 4) || !conv_params(env, a.v[3], p)) return nullptr;
  if (!typed(env, a.v[0], napi_float32_array, "dy", size_y(p), &dy) || !typed(env, a.v[1], napi_float32_array, "w", size_w(p), &w) ||
      !typed(env, a.v[2], napi_float32_array, "dx", size_x(p), &dx))
    return nullptr;
  active->backprop_input(p, dy, w, dx);
  return undefined(env);
}

napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  Args a;
  ms::ConvParams p;
  const float *x, *dy;
  float* dw;
  if (!get_args(env, info, a, 4) || !conv_params(env, a.v[3], p)) return nullptr;
  if (!typed(env, a.v[0], napi_float32_array, "x", size_x(p), &x) || !typed(env, a.v[1], napi_float32_array, "dy", size_y(p), &dy) ||
      !typed(env, a.v[2], napi_float32_array, "dw", size_w(p), &dw))
    return nullptr;
  active->backprop_filter(p, x, dy, dw);
  return undefined(env);
}

napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Args a;
  int32_t* q = nullptr;
  const float *x, *dy;
  float* dx;
  if (!get_args(env, info, a, 4) || !typed(env, a.v[3], napi_int32_array, "params", 12, &q)) return nullptr;
  const ms::PoolParams p = {q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], q[10], q[11]};
  if (p.n < 0 || p.h < 0 || p.w < 0 || p.c < 0 || p.ho < 0 || p.wo < 0 || p.fh < 1 || p.fw < 1 || p.sh < 1 || p.sw < 1 ||
      (double)p.n * p.h * p.w * p.c > 1e12 || (double)p.n * p.ho * p.wo * p.c > 1e12 ||
      (double)p.ho * p.sh + p.fh + (p.pt < 0 ? -(double)p.pt : p.pt) > 1e9 ||
      (double)p.wo * p.sw + p.fw + (p.pl < 0 ? -(double)p.pl : p.pl) > 1e9 || (double)p.h * p.w > 1e12)
    return fail(env, "modelspec native kernels: invalid pooling parameters"), nullptr;
  const int64_t nx = (int64_t)p.n * p.h * p.w * p.c, ny = (int64_t)p.n * p.ho * p.wo * p.c;
  if (!typed(env, a.v[0], napi_float32_array, "x", nx, &x) || !typed(env, a.v[1], napi_float32_array, "dy", ny, &dy) ||
      !typed(env, a.v[2], napi_float32_array, "dx", nx, &dx))
    return nullptr;
  active->max_pool_grad(p, x, dy, dx);
  return undefined(env);
}

// Batch normalisation at inference: memory-bound, one pass; plain C++ that the compiler
// vectorises for the baseline instruction set (SSE2), which is enough to read and write at memory speed.
napi_value BatchNorm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 7)) return nullptr;
  const float *x, *mean, *var, *offset = nullptr, *scale = nullptr;
  float* y;
  double eps = 0;
  size_t total = 0, channels = 0;
  if (!typed(env, a.v[0], napi_float32_array, "x", 0, &x, &total) || !typed(env, a.v[1], napi_float32_array, "mean", 0, &mean, &channels))
    return nullptr;
  if (channels == 0 || total % channels != 0) return fail(env, "modelspec native kernels: x's length is not a multiple of the channels"), nullptr;
  const int64_t c = (int64_t)channels, n = (int64_t)total;
  if (!typed(env, a.v[2], napi_float32_array, "variance", c, &var) ||
      (!is_nullish(env, a.v[3]) && !typed(env, a.v[3], napi_float32_array, "offset", c, &offset)) ||
      (!is_nullish(env, a.v[4]) && !typed(env, a.v[4], napi_float32_array, "scale", c, &scale)) ||
      !check(env, napi_get_value_double(env, a.v[5], &eps)) || !typed(env, a.v[6], napi_float32_array, "y", n, &y))
    return nullptr;
  float* factor = static_cast<float*>(malloc(sizeof(float) * 2 * c));
  if (!factor) return fail(env, "modelspec native kernels: out of memory"), nullptr;
  float* shift = factor + c;
  for (int64_t k = 0; k < c; k++) {
    factor[k] = (scale ? scale[k] : 1.0f) / sqrtf(var[k] + (float)eps);
    shift[k] = offset ? offset[k] : 0.0f;
  }
  for (int64_t i = 0; i < n; i += c) {
    const float* xi = x + i;
    float* yi = y + i;
    for (int64_t k = 0; k < c; k++) yi[k] = shift[k] + (xi[k] - mean[k]) * factor[k];
  }
  free(factor);
  return undefined(env);
}

napi_value string(napi_env env, const char* s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_value GetIsa(napi_env env, napi_callback_info) { return string(env, active->name); }

// setIsa('avx2' | 'avx512'): switch kernels (if the CPU has them); returns the ISA now in use.
napi_value SetIsa(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return nullptr;
  char name[16] = {0};
  size_t len = 0;
  if (!check(env, napi_get_value_string_utf8(env, a.v[0], name, sizeof name, &len))) return nullptr;
#if defined(__x86_64__) || defined(_M_X64)
  if (strcmp(name, "avx2") == 0) active = &kAvx2;
  else if (strcmp(name, "avx512") == 0 && hasAvx512) active = &kAvx512;
#endif
  return string(env, active->name);
}

}  // namespace

NAPI_MODULE_INIT() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    napi_throw_error(env, "ERR_MODELSPEC_NATIVE_CPU", "modelspec native kernels: this CPU lacks AVX2/FMA");
    return nullptr;
  }
  hasAvx512 = __builtin_cpu_supports("avx512f");
  const char* want = getenv("MODELSPEC_NATIVE_ISA");
  active = hasAvx512 && !(want && strcmp(want, "avx2") == 0) ? &kAvx512 : &kAvx2;
#else
  napi_throw_error(env, "ERR_MODELSPEC_NATIVE_CPU", "modelspec native kernels: x86-64 only");
  return nullptr;
#endif
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2d, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"batchNorm", nullptr, BatchNorm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setIsa", nullptr, SetIsa, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"isa", nullptr, nullptr, GetIsa, nullptr, nullptr, napi_enumerable, nullptr},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return nullptr;
  return exports;
}
