#include "kernels/gemv.h"

#include "kernels/pipelined_loop.h"

#include "uintx/error.h"

namespace uintx::kernels {

using namespace uintx::dsl;

int64_t QuantSpec::rowBytes() const {
  return (K + valuesPerWord() - 1) / valuesPerWord() * (packingBits / 8);
}

std::string GemvConfig::toString() const {
  return "BN=" + std::to_string(blockN) + " BK=" + std::to_string(blockK) + " warps=" +
         std::to_string(numWarps) + " splitK=" + std::to_string(splitK) + " BM=" + std::to_string(blockM) +
         " stages=" + std::to_string(stages);
}

static bool pow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

Value codesToFloat(Value codes, const QuantSpec& q) {
  if (!q.symmetric) return bitcast(codes | 0x4B000000, DType::f32) - 8388608.0;
  int half = 1 << (q.bits - 1);
  return bitcast((codes ^ half) | 0x4B000000, DType::f32) - (8388608.0 + half);
}

Value loadWordTile(KernelBuilder& kb, const QuantSpec& q, int blockK, Value qweight, Value rn2, Value rnMask2,
                   Value k0) {
  int per = 32 / q.bits;
  int wordsPerRow = int(q.rowBytes() / 4);
  Value rw = k0 / per + kb.arange(0, blockK / per);
  return load(qweight + (rn2 * wordsPerRow + expandDims(rw, 0)), rnMask2, 0.0);
}

bool usesWordPath(const QuantSpec& q, const GemvConfig& c) {
  return 32 % q.bits == 0 && q.rowBytes() % 16 == 0 && q.K % (int64_t(c.blockK) * c.splitK) == 0 &&
         c.blockK % (32 / q.bits) == 0;
}

// Elements per thread along K: four 32-bit words when unpacking (16-byte loads), at most 32.
static int vectorWidth(const QuantSpec& q, const GemvConfig& c) {
  int per = 32 % q.bits == 0 ? 32 / q.bits : 1;
  int vec = std::max(per, std::min(32, 4 * per));
  return std::min<int>(vec, c.blockK);
}

void validateGemvConfig(const QuantSpec& q, const GemvConfig& c) {
  auto bad = [&](const std::string& why) { throw Error("GEMV config " + c.toString() + ": " + why); };
  if (!pow2(c.blockN) || !pow2(c.blockK) || !pow2(c.blockM)) bad("block sizes must be powers of two");
  if (c.splitK < 1 || c.blockM < 1 || c.blockM > 16) bad("splitK >= 1 and blockM in [1, 16]");
  if (c.stages != 1 && c.stages != 2) bad("stages must be 1 or 2");
  if (c.splitK > 1 && q.K % (int64_t(c.blockK) * c.splitK) != 0)
    bad("split-K needs K (" + std::to_string(q.K) + ") divisible by blockK * splitK");
  if (q.bits < 1 || q.bits > 8) bad("bit width " + std::to_string(q.bits) + " is outside 1..8");
}

// Loads the q codes of the tile [BN, BK] at rows rn, columns kb + arange(BK), as u32.
static Value loadCodes(KernelBuilder& kb, const QuantSpec& q, const GemvConfig& c, Value qweight,
                       Value rn2, Value rnMask2, Value kb0, bool wordPath) {
  if (wordPath) return unpackBits(loadWordTile(kb, q, c.blockK, qweight, rn2, rnMask2, kb0), q.bits);
  // Any width, any word: the (up to two) bytes holding each value's bits.
  int per = q.valuesPerWord(), wordBytes = q.packingBits / 8;
  Value rk = expandDims(kb0 + kb.arange(0, c.blockK), 0);
  Value kMask = rk < int(q.K);
  Value mask = rnMask2 & kMask;
  Value bit = (rk % per) * q.bits;
  Value byte = rn2 * int(q.rowBytes()) + (rk / per) * wordBytes + bit / 8;
  Value shift = cast(bit % 8, DType::u32);
  Value lo = cast(load(qweight + byte, mask, 0.0), DType::u32);
  Value code = lo >> shift;
  if (q.bits > 1) {  // a value may continue in the next byte of its word
    Value spans = mask & ((bit % 8) + q.bits > 8);
    Value hi = cast(load(qweight + (byte + 1), spans, 0.0), DType::u32);
    code = code | ((hi << 8) >> shift);
  }
  return code & ((1u << q.bits) - 1);
}

KernelProgram buildGemv(const QuantSpec& q, DType act, bool hasBias, const GemvConfig& c, std::optional<DType> outDtype) {
  DType yType = outDtype.value_or(act);
  validateGemvConfig(q, c);
  bool wordPath = usesWordPath(q, c);
  bool perRowScale = q.groupSize >= q.K;
  KernelBuilder kb("gemv_w" + std::to_string(q.bits) + "_" + std::string(dtypeName(act)));
  Value x = kb.pointerArg("x", act);
  Value qweight = kb.pointerArg("qweight", wordPath ? DType::u32 : DType::u8);
  Value scales = kb.pointerArg("scales", q.scaleDtype);
  Value zeros = q.symmetric ? Value() : kb.pointerArg("zeros", q.scaleDtype);
  Value bias = hasBias && c.splitK == 1 ? kb.pointerArg("bias", q.scaleDtype) : Value();
  Value out = kb.pointerArg("out", c.splitK == 1 ? yType : DType::f32);
  Value M = kb.scalarArg("M", DType::i32);
  kb.setNumWarps(c.numWarps);
  kb.setVectorWidth(vectorWidth(q, c));

  const int BN = c.blockN, BK = c.blockK, N = int(q.N), K = int(q.K);
  Value pidN = kb.programId(0), pidK = kb.programId(1), pidM = kb.programId(2);
  Value rn = pidN * BN + kb.arange(0, BN);
  Value rnMask = rn < N;
  Value rn2 = expandDims(rn, 1), rnMask2 = expandDims(rnMask, 1);
  Value m0 = pidM * c.blockM;
  int64_t kChunk = c.splitK == 1 ? q.K : q.K / c.splitK;
  Value kLo = pidK * int(kChunk);
  Value kHi = c.splitK == 1 ? kb.constant(double(q.K), DType::i32) : kLo + int(kChunk);
  Value numGroups = kb.constant(double(q.K / q.groupSize), DType::i32);

  // Rows 1-2 keep per-element partial sums (one reduction at the end); more rows reduce per
  // step to keep registers bounded.
  bool tileAcc = c.blockM <= 2;
  std::vector<Value> init;
  for (int i = 0; i < c.blockM; ++i)
    init.push_back(tileAcc ? kb.zeros({BN, BK}, DType::f32) : kb.zeros({BN}, DType::f32));

  // What one step reads from memory: codes, scales, zeros, activation rows. With two stages
  // the loop carries the next step's loads, issued before this step's math, so each thread
  // keeps two steps of loads in flight (register double buffering).
  auto loadStep = [&](Value k0) {
    std::vector<Value> raw{loadCodes(kb, q, c, qweight, rn2, rnMask2, k0, wordPath)};
    Value rk = k0 + kb.arange(0, BK);
    if (!perRowScale) {
      Value g = rn2 * numGroups + expandDims(rk, 0) / q.groupSize;
      raw.push_back(load(scales + g, rnMask2, 0.0));
      if (!q.symmetric) raw.push_back(load(zeros + g, rnMask2, 0.0));
    }
    Value kMask = rk < K;
    for (int i = 0; i < c.blockM; ++i) {
      Value m = m0 + i;
      raw.push_back(load(x + (m * K + rk), kMask & (m < M), 0.0));
    }
    return raw;
  };
  bool prefetch = c.stages > 1 && wordPath;  // exact only when K is a multiple of the step
  auto acc = pipelinedLoop(kb, kLo, kHi, BK, init, loadStep, [&](Value, const std::vector<Value>& raw,
                                                                 const std::vector<Value>& a) {
    size_t r = 0;
    Value w = codesToFloat(raw[r++], q);
    if (!perRowScale) {
      // q*s - z*s: z*s is the same value across a group, computed once; q*s - zs is one fma.
      Value s = cast(raw[r++], DType::f32);
      if (!q.symmetric) w = w * s - cast(raw[r++], DType::f32) * s;
      else w = w * s;
    } else if (!q.symmetric) {
      w = w - expandDims(cast(load(zeros + rn, rnMask, 0.0), DType::f32), 1);
    }
    std::vector<Value> out;
    for (int i = 0; i < c.blockM; ++i) {
      Value xm = cast(raw[r++], DType::f32);
      Value prod = w * expandDims(xm, 0);
      out.push_back(tileAcc ? a[i] + prod : a[i] + sum(prod, 1));
    }
    return out;
  }, prefetch);

  Value rowScale = perRowScale ? cast(load(scales + rn, rnMask, 0.0), DType::f32) : Value();
  for (int i = 0; i < c.blockM; ++i) {
    Value m = m0 + i;
    Value r = tileAcc ? sum(acc[i], 1) : acc[i];
    if (perRowScale) r = r * rowScale;
    Value mask = rnMask & (m < M);
    if (c.splitK == 1) {
      if (bias.builder()) r = r + cast(load(bias + rn, rnMask, 0.0), DType::f32);
      kb.store(out + (m * N + rn), cast(r, yType), mask);
    } else {
      kb.store(out + ((pidK * M + m) * N + rn), r, mask);
    }
  }
  return kb.finish();
}

KernelProgram buildSplitKReduce(int64_t N, int splitK, DType act, bool hasBias, DType biasDtype, int block) {
  KernelBuilder kb("splitk_reduce_" + std::string(dtypeName(act)));
  Value partial = kb.pointerArg("partial", DType::f32);
  Value bias = hasBias ? kb.pointerArg("bias", biasDtype) : Value();
  Value y = kb.pointerArg("y", act);
  Value M = kb.scalarArg("M", DType::i32);
  Value rn = kb.programId(0) * block + kb.arange(0, block);
  Value m = kb.programId(1);
  Value mask = rn < int(N);
  Value r = kb.zeros({block}, DType::f32);
  for (int s = 0; s < splitK; ++s) r = r + load(partial + ((M * s + m) * int(N) + rn), mask, 0.0);
  if (bias.builder()) r = r + cast(load(bias + rn, mask, 0.0), DType::f32);
  kb.store(y + (m * int(N) + rn), cast(r, act), mask);
  return kb.finish();
}

}  // namespace uintx::kernels
