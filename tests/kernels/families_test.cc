// Which kernel family serves a call (kernels::chooseFamily): by M, the width and whether the
// activations are quantized to int8.
#include <doctest/doctest.h>

#include "kernels/families.h"

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
  CHECK(kernels::chooseFamily(spec(4, 128, false), 2, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(2, 64, false), 2, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(8, 0, true), 2, false) == KernelFamily::gemv);
  CHECK(kernels::chooseFamily(spec(8, 0, true), 3, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(1, 128, false), 24, false) == KernelFamily::gemm);
  CHECK(kernels::chooseFamily(spec(3, 128, false), 16, false) == KernelFamily::gemv_tiled);  // straddles words
  CHECK(kernels::chooseFamily(spec(4, 0, false, 1024, 1025), 16, false) == KernelFamily::gemv_tiled);  // odd rows
}

TEST_CASE("int8 activations: the int8 GEMM, but one row streams through the weight-only GEMV") {
  for (kernels::QuantSpec q : {spec(8, 0, true), spec(4, 128, false)}) {
    CAPTURE(q.bits);
    CHECK(kernels::chooseFamily(q, 1, true) == KernelFamily::gemv);
    CHECK(kernels::chooseFamily(q, 2, true) == KernelFamily::gemm_int8);
    CHECK(kernels::chooseFamily(q, 64, true) == KernelFamily::gemm_int8);
  }
  // A format the int8 GEMM refuses goes to it at M = 1 too, so that every M gets its error.
  CHECK(kernels::chooseFamily(spec(8, 0, true, 1024, 1025), 1, true) == KernelFamily::gemm_int8);
  CHECK(kernels::chooseFamily(spec(3, 128, false), 1, true) == KernelFamily::gemm_int8);
}
