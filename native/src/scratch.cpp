// Per-thread scratch buffers for the kernels (packed operands, pointer tables): grown on demand,
// kept between calls, freed when the thread ends (each worker_threads worker is its own thread).
#include <stdio.h>
#include <stdlib.h>

#include "kernels.h"

namespace ms {
namespace {

constexpr int kSlots = 8;

struct Scratch {
  float* data[kSlots] = {};
  size_t capacity[kSlots] = {};
  ~Scratch() {
    for (int i = 0; i < kSlots; i++) free(data[i]);
  }
};

thread_local Scratch tls;

}  // namespace

float* scratch(int slot, size_t floats) {
  if (slot < 0 || slot >= kSlots) abort();
  if (floats > tls.capacity[slot]) {
    free(tls.data[slot]);
    // Room for 16 more floats, so that a kernel may read a whole vector at the end.
    const size_t bytes = ((floats + 16) * sizeof(float) + 63) / 64 * 64;
    tls.data[slot] = static_cast<float*>(aligned_alloc(64, bytes));
    if (!tls.data[slot]) {
      fprintf(stderr, "modelspec native kernels: out of memory (%zu bytes of scratch)\n", bytes);
      abort();
    }
    tls.capacity[slot] = floats;
  }
  return tls.data[slot];
}

}  // namespace ms
