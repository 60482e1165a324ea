#include "kernels/gemm/tail_reduce.h"

#include <algorithm>

#include "kernels/gemm/gemm_tiles.h"

namespace uintx::kernels {

using namespace uintx::dsl;

constexpr int64_t kMinStepsPerSlice = 4;

TailSplit tailSplitOf(const QuantSpec& q, const GemmConfig& c, int64_t M, uint64_t sms) {
  TailSplit t;
  t.tiles = int64_t(ceilDiv(q.N, c.blockN)) * int64_t(ceilDiv(M, c.blockM));
  t.fullTiles = t.tiles;
  if (c.tailSplit <= 1 || sms == 0) return t;
  const int64_t tail = t.tiles % int64_t(sms), steps = q.K / c.blockK;
  if (tail == 0 || 2 * tail > int64_t(sms) || steps % c.tailSplit != 0 || steps / c.tailSplit < kMinStepsPerSlice)
    return t;
  // As for split-K (splitToFillSms): a split that does not fill a tenth more of the SMs is not
  // worth its partial sums and second launch.
  const int slices = c.tailSplit;
  if (10 * tail * (slices - 1) < int64_t(sms)) return t;
  t.fullTiles = t.tiles - tail, t.slices = slices;
  return t;
}

GemmConfig asRun(const QuantSpec& q, GemmConfig c, int64_t M, uint64_t sms) {
  if (c.tailSplit > 1 && tailSplitOf(q, c, M, sms).tailTiles() == 0) c.tailSplit = 1;
  return c;
}

size_t tailPartialBytes(const QuantSpec& q, const GemmConfig& c, int64_t M, uint64_t sms) {
  const TailSplit t = tailSplitOf(q, c, M, sms);
  return (size_t(t.tailTiles()) * size_t(t.slices) * size_t(c.blockM) * size_t(c.blockN) * 4 + 255) / 256 * 256;
}

KernelProgram buildTailReduce(const QuantSpec& q, const GemmConfig& c, DType yType, bool hasBias) {
  KernelBuilder kb("tail_reduce_" + std::string(dtypeName(yType)));
  Value partial = kb.pointerArg("partial", DType::f32);
  Value bias = hasBias ? kb.pointerArg("bias", q.scaleDtype, kWeightData) : Value();
  Value y = kb.pointerArg("y", yType);
  Value M = kb.scalarArg("M", DType::i32);
  Value full = kb.scalarArg("full_tiles", DType::i32);
  kb.setNumWarps(4);
  const int N = int(q.N);
  Value t = kb.programId(0);
  auto [row, column] = tileOfIndex(kb, c, M, q.N, full + t);
  Value localRow = expandDims(kb.arange(0, c.blockM), 1), localColumn = expandDims(kb.arange(0, c.blockN), 0);
  Value rm = row * c.blockM + localRow;
  Value rn1 = column * c.blockN + kb.arange(0, c.blockN);
  Value rn = expandDims(rn1, 0);
  Value mask = (rm < M) & (rn < N);
  Value local = localRow * c.blockN + localColumn;
  Value r = kb.zeros({c.blockM, c.blockN}, DType::f32);
  for (int s = 0; s < c.tailSplit; ++s)
    r = r + load(partial + ((t * c.tailSplit + s) * (c.blockM * c.blockN) + local), mask, 0.0);
  if (bias.builder()) r = r + expandDims(cast(load(bias + rn1, rn1 < N, 0.0), DType::f32), 0);
  kb.store(y + (rm * N + rn), cast(r, yType), mask);
  return kb.finish();
}

void launchTailSplit(const codegen::JitKernel& main, const codegen::JitKernel& reduce, const QuantSpec& q,
                     const GemmConfig& c, NamedArgs args, const LinearCall& call, CUdeviceptr partial, bool hasBias,
                     CUstream stream) {
  const TailSplit t = tailSplitOf(q, c, call.M, main.smCount());
  const LaunchArg full = LaunchArg::i32(int32_t(t.fullTiles));
  args.push_back({"full_tiles", full});
  // Without tail tiles the workspace is empty and no program stores a partial: the parameter
  // still needs a valid address (launches reject null pointers), y's.
  args.push_back({"partial", LaunchArg::ptr(t.tailTiles() ? partial : call.y)});
  args.push_back({"y", LaunchArg::ptr(call.y)});
  if (hasBias) args.push_back({"bias", LaunchArg::ptr(call.bias)});
  main.launch({unsigned(t.programs())}, stream, args);
  if (t.tailTiles() == 0) return;
  NamedArgs r{{"partial", LaunchArg::ptr(partial)}, {"y", LaunchArg::ptr(call.y)},
              {"M", LaunchArg::i32(int32_t(call.M))}, {"full_tiles", full}};
  if (hasBias) r.push_back({"bias", LaunchArg::ptr(call.bias)});
  reduce.launch({unsigned(t.tailTiles())}, stream, r);
}

}  // namespace uintx::kernels
