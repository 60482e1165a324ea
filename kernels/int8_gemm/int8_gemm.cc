#include "kernels/int8_gemm/int8_gemm.h"

#include "kernels/common/decode.h"
#include "kernels/common/pipelined_loop.h"
#include "kernels/gemm/gemm_tiles.h"
#include "uintx/error.h"

namespace uintx::kernels {

using namespace uintx::dsl;

KernelProgram buildInt8Gemm(const QuantSpec& q, DType act, bool hasBias, const GemmConfig& c,
                            std::optional<DType> outDtype) {
  DType yType = outDtype.value_or(act);
  validateGemmConfig(q, c, true);
  KernelBuilder kb("gemm_w" + std::to_string(q.bits) + "a8_" + dtypeName(act));
  // 8-bit codes are int8 bytes in K order whatever the word size (docs/FORMATS.md): the
  // symmetric 8-bit weights are read as an int8 tile, which goes to the dot untouched (and,
  // pipelined, global -> shared memory by cp.async, never through registers).
  const bool byteCodes = q.symmetric;
  // With tmaCopies both int8 operands are tensors ([M, K] and [N, K]) read in blocks by the TMA.
  const bool tma = c.tmaCopies;
  const int BM = c.blockM, BN = c.blockN, BK = c.blockK;
  Value xq = tma ? kb.tensorArg("xq", DType::i8, {BM, BK}) : kb.pointerArg("xq", DType::i8);
  Value xscale = kb.pointerArg("xscale", DType::f32);
  Value qweight = tma ? kb.tensorArg("qweight", DType::i8, {BN, BK}, kWeightData)
                      : kb.pointerArg("qweight", byteCodes ? DType::i8 : DType::u32, kWeightData);
  Value scales = kb.pointerArg("scales", q.scaleDtype, kWeightData);
  Value zeros = q.symmetric ? Value() : kb.pointerArg("zeros", q.scaleDtype, kWeightData);
  GemmOutputs outputs = gemmOutputs(kb, q, c, yType, hasBias);
  Value M = kb.scalarArg("M", DType::i32);
  ProgramWork work = programWork(kb, c, M, q.N, q.K);
  kb.setNumWarps(c.numWarps);
  kb.setVectorWidth(gemmVectorWidth(q, c));
  BlockIndices b = blockIndices(kb, q, c, M, work);
  const Value &rm = b.rm, &rmMask2 = b.rmMask2, &rn2 = b.rn2, &rnMask2 = b.rnMask2, &rn = b.rn, &rnMask = b.rnMask,
              &numGroups = b.numGroups;
  // With weightsAsA the problem is transposed, acc[BN, BM] = w x^T: the weight rows take the
  // tensor core's 64-row side and a few rows of x its narrow side (n 8 to 64), where x w^T
  // would pad x to 64 rows. Both operands still come int8 from their cp.async rings.
  const bool wA = c.weightsAsA;
  const DType accType = q.symmetric ? DType::i32 : DType::f32;
  Value accInit = wA ? kb.zeros({BN, BM}, accType) : kb.zeros({BM, BN}, accType);
  auto loadStep = [&](Value k0) {
    if (tma) return std::vector<Value>{loadActivationTile(kb, q, c, b, xq, k0), kb.loadBlock(qweight, work.column * BN, k0)};
    Value w = byteCodes ? load(qweight + (rn2 * int(q.rowBytes()) + expandDims(k0 + kb.arange(0, BK), 0)), rnMask2, 0.0)
                        : loadWordTile(kb, q, BK, qweight, rn2, rnMask2, k0);
    return std::vector<Value>{loadActivationTile(kb, q, c, b, xq, k0), w};
  };
  auto compute = [&](Value k0, const std::vector<Value>& t, const std::vector<Value>& carried) {
    Value a = t[0];
    if (byteCodes) return std::vector<Value>{wA ? dot(t[1], trans(a), carried[0]) : dot(a, trans(t[1]), carried[0])};
    Value codes = unpackBits(t[1], q.bits);
    // 4-bit, one group per step: sum_k (q - z) s x = s * (sum_k q x - z * sum_k x).
    Value qx = dot(a, trans(cast(codes, DType::i8)), kb.zeros({BM, BN}, DType::i32));
    Value xsum = expandDims(cast(sum(cast(a, DType::i32), 1), DType::f32), 1);
    Value g = rn * numGroups + k0 / q.groupSize;
    Value s = expandDims(cast(load(scales + g, rnMask, 0.0), DType::f32), 0);
    Value z = expandDims(cast(load(zeros + g, rnMask, 0.0), DType::f32), 0);
    return std::vector<Value>{carried[0] + s * (cast(qx, DType::f32) - z * xsum)};
  };
  Value acc = kLoop(kb, c, work, accInit, loadStep, compute);
  // Output tiles index (row of x, column of y) as [BM, 1] x [1, BN], or [1, BM] x [BN, 1] for
  // the transposed accumulator.
  const int mAxis = wA ? 0 : 1, nAxis = wA ? 1 : 0;
  Value rmOut = expandDims(rm, mAxis), rnOut = expandDims(rn, nAxis);
  Value mask = (wA ? expandDims(rm < M, 0) : rmMask2) & expandDims(rnMask, nAxis);
  Value r = cast(acc, DType::f32) * expandDims(load(xscale + rm, rm < M, 0.0), mAxis);
  if (q.symmetric) r = r * expandDims(cast(load(scales + rn, rnMask, 0.0), DType::f32), nAxis);
  // Split, the programs store f32 partials (every factor above is linear in the K slice) and
  // the reduce adds the bias.
  Value biasTile = outputs.bias.builder() ? expandDims(cast(load(outputs.bias + rn, rnMask, 0.0), DType::f32), nAxis) : Value();
  storeOutput(kb, c, work, outputs, r, rmOut, rnOut, mask, biasTile, M, q.N, yType);
  return kb.finish();
}

}  // namespace uintx::kernels
