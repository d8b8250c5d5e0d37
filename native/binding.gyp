# modelspec's optional native training kernels (see src/addon.cpp). Built by scripts/build-native.ts
# at the end of `npm run build`; deliberately not at the package root, where npm would run
# node-gyp on install and fail the install without a compiler.
{
  "targets": [
    {
      "target_name": "modelspec_kernels",
      "sources": ["src/addon.cpp", "src/scratch.cpp", "src/kernels_avx2.cpp", "src/kernels_avx512.cpp"],
      "defines": ["NAPI_VERSION=8"],
      # The kernel files turn on AVX2/FMA (and AVX-512F) themselves with `#pragma GCC target`;
      # the rest stays baseline x86-64, so that the CPU check at load runs on any x86-64.
      "cflags": ["-O3", "-fno-math-errno", "-fvisibility=hidden"],
      "cflags_cc": ["-O3", "-std=c++17", "-fno-math-errno", "-fvisibility=hidden", "-Wno-maybe-uninitialized"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=c++17", "-fvisibility=hidden"],
        "MACOSX_DEPLOYMENT_TARGET": "10.15"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "AdditionalOptions": ["/O2", "/std:c++17"] }
      }
    }
  ]
}
