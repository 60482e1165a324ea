#include "kernels/quantize_rows/quantize_rows.h"

#include <algorithm>

namespace uintx::kernels {

using namespace uintx::dsl;

namespace {

int64_t nextPowerOfTwo(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

}  // namespace

KernelProgram buildQuantizeRows(int64_t K, DType act, int block) {
  if (block <= 0) block = int(std::min(nextPowerOfTwo(K), kQuantizeRowsMaxBlock));
  KernelBuilder kb("quantize_rows_" + std::string(dtypeName(act)));
  Value x = kb.pointerArg("x", act);
  Value xq = kb.pointerArg("xq", DType::i8);
  Value scale = kb.pointerArg("xscale", DType::f32);
  Value M = kb.scalarArg("M", DType::i32);
  (void)M;
  kb.setNumWarps(kQuantizeRowsWarps);
  // The int8 GEMM after it may launch at once: its programs take the SMs these few leave free
  // and copy their first weight tiles while the rows are quantized (they wait for this kernel
  // before they read xq: codegen/lowering/lower_kernel.cc).
  kb.setLaunchOverlap(LaunchOverlap::early);
  Value m = kb.programId(0);
  Value row = m * int(K);
  auto scaleOf = [&](Value amax) {
    Value mx = max(amax, 0);
    return where(mx > 0.0, mx / 127.0, kb.constant(1.0, DType::f32));
  };
  auto quantize = [&](Value v, Value s) {  // round half away from zero, clamp to [-127, 127]
    Value t = v / s;
    Value r = t + where(t >= 0.0, kb.constant(0.5, DType::f32), -0.5);
    return cast(minimum(maximum(cast(r, DType::i32), -127.0), 127.0), DType::i8);
  };
  if (block >= K) {
    // The whole row in registers: one load, so the program waits for memory once.
    Value rk = kb.arange(0, block);
    Value mask = rk < int(K);
    Value v = cast(load(x + (row + rk), mask, 0.0), DType::f32);
    Value s = scaleOf(maximum(v, -v));
    kb.store(scale + m, s);
    kb.store(xq + (row + rk), quantize(v, s), mask);
    return kb.finish();
  }
  Value zero = kb.zeros({block}, DType::f32);
  Value amax = kb.forLoop(0, kb.constant(double(K), DType::i32), block, {zero}, [&](Value k0, const std::vector<Value>& c) {
    Value rk = k0 + kb.arange(0, block);
    Value v = cast(load(x + (row + rk), rk < int(K), 0.0), DType::f32);
    return std::vector<Value>{maximum(c[0], maximum(v, -v))};
  })[0];
  Value s = scaleOf(amax);
  kb.store(scale + m, s);
  kb.forLoop(0, kb.constant(double(K), DType::i32), block, {}, [&](Value k0, const std::vector<Value>&) {
    Value rk = k0 + kb.arange(0, block);
    Value mask = rk < int(K);
    kb.store(xq + (row + rk), quantize(cast(load(x + (row + rk), mask, 0.0), DType::f32), s), mask);
    return std::vector<Value>{};
  });
  return kb.finish();
}

}  // namespace uintx::kernels
