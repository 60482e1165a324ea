// Which kernel family serves a call (kernels::chooseFamily): by M, the width and whether the
// activations are quantized to int8.
#include <doctest/doctest.h>

#include "kernels/families.h"
#include "packing/weight_format.h"
#include "uintx/error.h"

using namespace uintx;
using cache::KernelFamily;

static kernels::QuantSpec spec(int bits, int group, bool symmetric, int64_t N = 4096, int64_t K = 4096) {
  kernels::QuantSpec q;
  q.bits = bits;
  q.symmetric = symmetric;
  q.groupSize = group ? group : int(K);
  q.N = N;
  q.K = K;
  return q;
}

TEST_CASE("weight-only: the GEMV for one row (two for codes over 4 bits), then the GEMM, CUDA cores where it cannot") {
  CHECK(kernels::chooseFamily(spec(4, 128, false), 1, false) == KernelFamily::gemv);
  // Two rows: the GEMM for codes up to 4 bits, on layers of any size.
  CHECK(kernels::chooseFamily(spec(4, 128, false, 8192, 8192), 2, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(2, 64, false, 4096, 4224), 2, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(4, 128, false), 2, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(2, 64, false, 1024, 4160), 2, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(4, 128, false), 3, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(8, 0, true), 2, false) == KernelFamily::gemv);
  CHECK(kernels::chooseFamily(spec(8, 0, true), 3, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(1, 128, false), 24, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(3, 128, false), 16, false) == KernelFamily::gemv_tiled);  // straddles words
  CHECK(kernels::chooseFamily(spec(4, 0, false, 1024, 1025), 16, false) == KernelFamily::gemv_tiled);  // odd rows
}

TEST_CASE("int8 activations: the int8 GEMM, but few rows run the weight-only kernels, x not quantized") {
  // 8-bit weights: one row; two on layers of at most 2^24 weights.
  CHECK(kernels::chooseFamily(spec(8, 0, true, 8192, 8192), 1, true) == KernelFamily::gemv);
  CHECK(kernels::chooseFamily(spec(8, 0, true, 8192, 8192), 2, true) == KernelFamily::gemm_int8);
  for (kernels::QuantSpec q : {spec(8, 0, true), spec(8, 0, true, 2048, 4096)}) {
    CAPTURE(q.N);
    CHECK(kernels::chooseFamily(q, 2, true) == KernelFamily::gemv);
    CHECK(kernels::chooseFamily(q, 3, true) == KernelFamily::gemm_int8);
    CHECK(kernels::chooseFamily(q, 64, true) == KernelFamily::gemm_int8);
  }
  // 4-bit weights (asymmetric or symmetric): at every M, the weight-only GEMV or GEMM as
  // without int8.
  for (kernels::QuantSpec q : {spec(4, 128, false), spec(4, 128, false, 28672, 8192), spec(4, 128, true)})
    for (int64_t M : {1, 2, 3, 16, 17, 64, 256, 4096}) {
      CAPTURE(q.N);
      CAPTURE(M);
      CHECK(kernels::chooseFamily(q, M, true) == kernels::chooseFamily(q, M, false));
    }
  // A format the int8 GEMM refuses goes to it at M = 1 too, so that every M gets its error.
  CHECK(kernels::chooseFamily(spec(8, 0, true, 1024, 1025), 1, true) == KernelFamily::gemm_int8);
  CHECK(kernels::chooseFamily(spec(3, 128, false), 1, true) == KernelFamily::gemm_int8);
}

// The root check behind every call that nothing was tuned for: over widths, groups, word sizes,
// awkward N and K and M around every tile size, the family chooseFamily picks runs the default
// config it gets (configError, what makePlan checks before compiling), except a format the
// int8 GEMM refuses by its rules, which must be refused.
TEST_CASE("the default config of the chosen family runs every valid format, N, K and M") {
  int checked = 0;
  for (int bits = 1; bits <= 8; ++bits)
    for (int packing : {8, 32})
      for (int64_t K : {32, 160, 1000, 2080, 3584, 4096, 4160, 28672})
        for (int group : {32, 64, 128, 256, 0})
          for (int64_t N : {7, 1000, 4096}) {
            WeightFormat f;
            f.bit_width = bits, f.packing_bitwidth = packing, f.N = N, f.K = K;
            f.group_size = group ? group : int(K);
            try {
              f.validate();
            } catch (const Error&) {
              continue;  // not a format (a group that does not divide K, a word narrower than a code)
            }
            kernels::QuantSpec q = kernels::quantSpecOf(f);
            for (bool int8 : {false, true})
              for (int64_t M : {1, 2, 3, 16, 17, 64, 65, 128, 129, 256, 300, 4096}) {
                KernelFamily family = kernels::chooseFamily(q, M, int8);
                std::string error = kernels::configError(family, q, kernels::defaultConfig(family, q, M, 132));
                INFO(bits << "-bit, group " << f.group_size << ", packing " << packing << ", " << N << "x" << K
                          << ", M " << M << (int8 ? ", int8" : "") << ": " << error);
                // The int8 GEMM's format rules (docs/FORMATS.md), not derived from its default.
                bool group4 = f.group_size == 32 || f.group_size == 64 || f.group_size == 128 || f.group_size == 256;
                bool int8Runs = (bits == 8 || (bits == 4 && group4)) &&
                                q.rowBytes() % 16 == 0 && K % 32 == 0;
                bool int8Refuses = int8 && !int8Runs;
                if (int8Refuses) {
                  CHECK(!error.empty());
                } else {
                  CHECK(error.empty());
                }
                ++checked;
              }
          }
  CHECK(checked > 10000);
}
