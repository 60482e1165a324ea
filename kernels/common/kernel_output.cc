#include "kernels/common/kernel_output.h"

#include "kernels/common/quant_spec.h"

namespace uintx::kernels {

using namespace uintx::dsl;

OutputParams outputParams(KernelBuilder& kb, DType yType, bool hasBias, DType biasDtype, int splitK) {
  OutputParams p;
  p.yType = yType;
  p.splitK = splitK;
  if (hasBias) p.bias = kb.pointerArg("bias", biasDtype, kWeightData);
  p.y = kb.pointerArg("y", yType);
  if (splitK > 1) {
    p.partial = kb.pointerArg("partial", DType::f32);
    p.counters = kb.pointerArg("counters", DType::i32);
  }
  return p;
}

// acc (+ bias) into y, under `enabled` (a scalar) where the tile's mask holds.
static void storeTile(const OutputParams& out, const OutputTile& t, Value acc, Value enabled) {
  Value mask = enabled.builder() ? t.mask & enabled : t.mask;
  if (out.bias.builder())
    acc = acc + cast(load(out.bias + t.n, enabled.builder() ? t.nMask & enabled : t.nMask, 0.0), DType::f32);
  acc.builder()->store(out.y + t.offset, cast(acc, out.yType), mask);
}

void storeOutput(KernelBuilder& kb, const OutputParams& out, const std::vector<OutputTile>& tiles, Value M, int64_t N,
                 Value slice, Value tileIndex) {
  if (out.splitK == 1) {
    for (const OutputTile& t : tiles) storeTile(out, t, t.acc, Value());
    return;
  }
  Value sliceElems = M * int(N);
  for (const OutputTile& t : tiles) kb.store(out.partial + (slice * sliceElems + t.offset), t.acc, t.mask);
  Value last = kb.lastToArrive(out.counters + tileIndex, out.splitK);
  // The programs that are not last run the sum zero times and store nothing.
  Value slices = where(last, kb.constant(out.splitK, DType::i32), 0.0);
  for (const OutputTile& t : tiles) {
    Value zero = kb.zeros(t.acc.shape(), DType::f32);
    Value sum = kb.forLoop(0, slices, 1, {zero}, [&](Value s, const std::vector<Value>& c) {
      return std::vector<Value>{c[0] + load(out.partial + (s * sliceElems + t.offset), t.mask, 0.0)};
    })[0];
    storeTile(out, t, sum, last);
  }
}

}  // namespace uintx::kernels
