#include "kernels/quantize_rows/quantize_rows.h"

namespace uintx::kernels {

using namespace uintx::dsl;

KernelProgram buildQuantizeRows(int64_t K, DType act, int block) {
  KernelBuilder kb("quantize_rows_" + std::string(dtypeName(act)));
  Value x = kb.pointerArg("x", act);
  Value xq = kb.pointerArg("xq", DType::i8);
  Value scale = kb.pointerArg("xscale", DType::f32);
  Value M = kb.scalarArg("M", DType::i32);
  (void)M;
  Value m = kb.programId(0);
  Value row = m * int(K);
  Value zero = kb.zeros({block}, DType::f32);
  Value amax = kb.forLoop(0, kb.constant(double(K), DType::i32), block, {zero}, [&](Value k0, const std::vector<Value>& c) {
    Value rk = k0 + kb.arange(0, block);
    Value v = cast(load(x + (row + rk), rk < int(K), 0.0), DType::f32);
    return std::vector<Value>{maximum(c[0], maximum(v, -v))};
  })[0];
  Value mx = max(amax, 0);
  Value s = where(mx > 0.0, mx / 127.0, kb.constant(1.0, DType::f32));
  kb.store(scale + m, s);
  kb.forLoop(0, kb.constant(double(K), DType::i32), block, {}, [&](Value k0, const std::vector<Value>&) {
    Value rk = k0 + kb.arange(0, block);
    Value mask = rk < int(K);
    Value v = cast(load(x + (row + rk), mask, 0.0), DType::f32) / s;
    Value r = v + where(v >= 0.0, kb.constant(0.5, DType::f32), -0.5);  // round half away from zero
    Value qv = minimum(maximum(cast(r, DType::i32), -127.0), 127.0);
    kb.store(xq + (row + rk), cast(qv, DType::i8), mask);
    return std::vector<Value>{};
  });
  return kb.finish();
}

}  // namespace uintx::kernels
