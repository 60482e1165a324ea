#include "parallel/parallel_kernels.h"

#include <cmath>
#include <string>

namespace uintx::parallel {

using namespace uintx::dsl;

namespace {

// 16-byte accesses for 16-bit types, as for 32-bit ones.
void setWidth(KernelBuilder& kb, DType act) { kb.setVectorWidth(dtypeBits(act) == 16 ? 8 : 4); }

// exp(x) for an f32 tile: x log2(e) = n + f with n an integer and |f| <= 1/2; 2^f from its
// Taylor series (degree 7: error < 1e-8 on that range), 2^n by writing the exponent bits.
// The argument is clamped to [-126, 126] powers of two, so no overflow, no denormals.
Value exp2Approx(Value t) {
  t = minimum(maximum(t, -126.0), 126.0);
  Value n = cast(where(t >= 0.0, t + 0.5, t - 0.5), DType::i32);  // round half away from zero
  Value f = t - cast(n, DType::f32);
  Value x = f * M_LN2;
  // Horner form of sum_k x^k / k!, k = 0..7.
  Value p = x * (1.0 / 5040.0) + (1.0 / 720.0);
  p = p * x + (1.0 / 120.0);
  p = p * x + (1.0 / 24.0);
  p = p * x + (1.0 / 6.0);
  p = p * x + 0.5;
  p = p * x + 1.0;
  p = p * x + 1.0;
  Value twoToN = bitcast((n + 127) << 23, DType::f32);
  return p * twoToN;
}

}  // namespace

KernelProgram buildSwiGlu(DType act, int block, int divisibility) {
  KernelBuilder kb(std::string("swiglu_") + dtypeName(act));
  Value gate = kb.pointerArg("gate", act);
  Value up = kb.pointerArg("up", act);
  Value h = kb.pointerArg("h", act);
  Value n = kb.scalarArg("n", DType::i32, divisibility);
  kb.setNumWarps(4);
  setWidth(kb, act);
  Value offs = kb.programId(0) * block + kb.arange(0, block);
  Value mask = offs < n;
  Value g = cast(load(gate + offs, mask, 0.0), DType::f32);
  Value u = cast(load(up + offs, mask, 0.0), DType::f32);
  Value expNeg = exp2Approx(g * -M_LOG2E);  // exp(-g)
  Value silu = g / (expNeg + 1.0);
  kb.store(h + offs, cast(silu * u, act), mask);
  return kb.finish();
}

KernelProgram buildSumPartials(DType act, int block, int divisibility, std::optional<DType> partial) {
  KernelBuilder kb(std::string("sum_partials_") + dtypeName(partial.value_or(act)) + "_to_" + dtypeName(act));
  Value partials = kb.pointerArg("partials", partial.value_or(act));
  Value out = kb.pointerArg("out", act);
  Value n = kb.scalarArg("n", DType::i32, divisibility);
  Value world = kb.scalarArg("world", DType::i32);
  kb.setNumWarps(4);
  setWidth(kb, act);
  Value offs = kb.programId(0) * block + kb.arange(0, block);
  Value mask = offs < n;
  auto acc = kb.forLoop(0, world, 1, {kb.zeros({block}, DType::f32)}, [&](Value r, const std::vector<Value>& a) {
    return std::vector<Value>{a[0] + cast(load(partials + (r * n + offs), mask, 0.0), DType::f32)};
  });
  kb.store(out + offs, cast(acc[0], act), mask);
  return kb.finish();
}

KernelProgram buildRankMajorToRowMajor(DType act, int block) {
  KernelBuilder kb(std::string("rank_major_to_row_major_") + dtypeName(act));
  Value src = kb.pointerArg("src", act);
  Value dst = kb.pointerArg("dst", act);
  Value total = kb.scalarArg("total", DType::i32);
  Value rows = kb.scalarArg("rows", DType::i32);
  Value cols = kb.scalarArg("cols", DType::i32);
  kb.setNumWarps(4);
  Value i = kb.programId(0) * block + kb.arange(0, block);
  Value mask = i < total;
  Value width = total / rows;  // world * cols
  Value m = i / width, c = i % width;
  Value r = c / cols, j = c % cols;
  kb.store(dst + i, load(src + ((r * rows + m) * cols + j), mask, 0.0), mask);
  return kb.finish();
}

}  // namespace uintx::parallel
