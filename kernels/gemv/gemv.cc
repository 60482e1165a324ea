#include "kernels/gemv/gemv.h"

#include <cmath>

#include "kernels/common/config_fields.h"
#include "kernels/common/decode.h"
#include "kernels/common/pipelined_loop.h"
#include "uintx/error.h"

namespace uintx::kernels {

using namespace uintx::dsl;

std::string GemvConfig::toString() const {
  return "BN=" + std::to_string(blockN) + " BK=" + std::to_string(blockK) + " warps=" +
         std::to_string(numWarps) + " splitK=" + std::to_string(splitK) + " BM=" + std::to_string(blockM) +
         " stages=" + std::to_string(stages);
}

static const ConfigFields<GemvConfig> kGemvFields = {
    {"BLOCK_N", &GemvConfig::blockN},     {"BLOCK_K", &GemvConfig::blockK},  {"BLOCK_M", &GemvConfig::blockM},
    {"num_warps", &GemvConfig::numWarps}, {"split_k", &GemvConfig::splitK},  {"num_stages", &GemvConfig::stages}};

GemvConfig gemvConfigFrom(const cache::KernelConfig& k) { return configFromFields(k, kGemvFields); }
cache::KernelConfig toKernelConfig(const GemvConfig& c) { return configToFields(c, kGemvFields); }

static bool pow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

bool usesWordPath(const QuantSpec& q, const GemvConfig& c) {
  // A last step past K masks whole segments, so K need only be a multiple of the vector width
  // (segments divide it).
  return 32 % q.bits == 0 && q.rowBytes() % 16 == 0 && c.blockK % (32 / q.bits) == 0 &&
         q.K % gemvVectorWidth(q, c) == 0;
}

int64_t gemvSteps(const QuantSpec& q, const GemvConfig& c) { return (q.K + c.blockK - 1) / c.blockK; }

int gemvVectorWidth(const QuantSpec& q, const GemvConfig& c) {
  int per = 32 % q.bits == 0 ? 32 / q.bits : 1;
  int vec = std::max(per, std::min(32, 4 * per));
  return std::min<int>(vec, c.blockK);
}

double gemvElementsPerThread(const GemvConfig& c) { return double(c.blockN) * c.blockK / (32.0 * c.numWarps); }

// S: the run of consecutive K one thread holds (the segment). One scale and zero must cover a
// segment, so S divides the group size (group sizes are powers of two of at least 32 or K).
static int segmentWidth(const QuantSpec& q, const GemvConfig& c) {
  int s = gemvVectorWidth(q, c);
  if (q.groupSize < q.K)
    while (s > 1 && q.groupSize % s) s /= 2;
  return s;
}

void validateGemvConfig(const QuantSpec& q, const GemvConfig& c) {
  auto bad = [&](const std::string& why) { throw Error("GEMV config " + c.toString() + ": " + why); };
  // Bounds first: configs come from files, and a huge tile would exhaust memory in the compiler.
  if (!pow2(c.blockN) || c.blockN > kMaxGemvBlockN) bad("block sizes must be powers of two, blockN up to " + std::to_string(kMaxGemvBlockN));
  if (!pow2(c.blockK) || c.blockK > kMaxGemvBlockK) bad("block sizes must be powers of two, blockK up to " + std::to_string(kMaxGemvBlockK));
  if (!pow2(c.blockM) || c.blockM > 16) bad("block sizes must be powers of two, blockM up to 16");
  if (!pow2(c.numWarps) || c.numWarps > 16) bad("numWarps must be a power of two up to 16");
  if (c.splitK < 1 || c.splitK > kMaxSplitK) bad("splitK must be in [1, " + std::to_string(kMaxSplitK) + "]");
  if (gemvElementsPerThread(c) * c.blockM > kMaxGemvTileElementsPerThread)
    bad("the tile holds more than " + std::to_string(kMaxGemvTileElementsPerThread) + " elements per thread");
  if (c.stages < 1 || c.stages > 8) bad("stages must be in [1, 8]");
  if (c.splitK > gemvSteps(q, c))
    bad("split-K into " + std::to_string(c.splitK) + " slices needs as many K steps; K = " + std::to_string(q.K) +
        " has " + std::to_string(gemvSteps(q, c)));
  if (q.bits < 1 || q.bits > 8) bad("bit width " + std::to_string(q.bits) + " is outside 1..8");
}

// Index tiles of one K step seen as [.., G, S]: segment g, element s within it.
struct SegmentIndex {
  Value g2;  // [1, G]: g
  Value g3;  // [1, G, 1]: g
  Value s3;  // [1, 1, S]: s
};

// The q codes of the tile [BN, G, S] (rows rn3 [BN, 1, 1], K offsets k0 + g*S + s) as u32;
// symmetric codes come back offset to unsigned (q + 2^(bits-1)).
static Value loadCodes(KernelBuilder& kb, const QuantSpec& q, int S, const SegmentIndex& ix, Value qweight,
                       Value rn3, Value rnMask3, Value k0, bool wordPath, bool kTail) {
  if (wordPath) {
    // The segment's S / per words: consecutive in memory, one 16-byte load when S / per = 4.
    // With a last step past K (kTail), segments past K are masked whole.
    int per = 32 / q.bits, wps = S / per;
    int wordsPerRow = int(q.rowBytes() / 4);
    Value rw = k0 / per + ix.g3 * wps + expandDims(expandDims(kb.arange(0, wps), 0), 0);
    Value mask = kTail ? rnMask3 & (k0 + ix.g3 * S < int(q.K)) : rnMask3;
    Value words = load(qweight + (rn3 * wordsPerRow + rw), mask, 0.0);
    return unpackBits(q.symmetric ? signedFieldsToUnsigned(words, q.bits) : words, q.bits);
  }
  // Any width, any word: the (up to two) bytes holding each value's bits.
  int per = q.valuesPerWord(), wordBytes = q.packingBits / 8;
  Value rk = k0 + (ix.g3 * S + ix.s3);
  Value kMask = rk < int(q.K);
  Value mask = rnMask3 & kMask;
  Value bit = (rk % per) * q.bits;
  Value byte = rn3 * int(q.rowBytes()) + (rk / per) * wordBytes + bit / 8;
  Value shift = cast(bit % 8, DType::u32);
  Value lo = cast(load(qweight + byte, mask, 0.0), DType::u32);
  Value code = lo >> shift;
  if (q.bits > 1) {  // a value may continue in the next byte of its word
    Value spans = mask & ((bit % 8) + q.bits > 8);
    Value hi = cast(load(qweight + (byte + 1), spans, 0.0), DType::u32);
    code = code | ((hi << 8) >> shift);
  }
  code = code & ((1u << q.bits) - 1);
  return q.symmetric ? code ^ double(1u << (q.bits - 1)) : code;
}

// Per segment (one row, S consecutive k: one scale s, one zero z) with f = 1 + u / 2^bits:
//   sum_k s (u_k - z) x_k = s 2^bits P,   P = sum_k (f_k - 1 - z / 2^bits) x_k
// = s (2^bits (Pf - Sx) - z Sx),           Pf = sum_k f_k x_k,  Sx = sum_k x_k.
// The first form subtracts per weight (exact: Sterbenz) and pays it once for all activation
// rows; the second pays per activation element (Sx) instead, once for all the thread's weight
// rows: one row of x (blockM = 1) takes the second, several rows the first. Symmetric formats
// use u = q + 2^(bits-1) and z = 2^(bits-1). The sums over a segment stay in the thread; the
// per-segment partials [BN, G] are reduced over G once, after the K loop.
KernelProgram buildGemv(const QuantSpec& q, DType act, bool hasBias, const GemvConfig& c, std::optional<DType> outDtype) {
  DType yType = outDtype.value_or(act);
  validateGemvConfig(q, c);
  const int S = segmentWidth(q, c);
  // Whole words need whole words per segment (always so for the registered group sizes).
  bool wordPath = usesWordPath(q, c) && S % (32 / q.bits) == 0;
  const bool kTail = q.K % c.blockK != 0;  // the last step runs past K
  bool perRowScale = q.groupSize >= q.K;
  KernelBuilder kb("gemv_w" + std::to_string(q.bits) + "_" + std::string(dtypeName(act)));
  Value x = kb.pointerArg("x", act);
  Value qweight = kb.pointerArg("qweight", wordPath ? DType::u32 : DType::u8, kWeightData);
  Value scales = kb.pointerArg("scales", q.scaleDtype, kWeightData);
  Value zeros = q.symmetric ? Value() : kb.pointerArg("zeros", q.scaleDtype, kWeightData);
  Value bias = hasBias && c.splitK == 1 ? kb.pointerArg("bias", q.scaleDtype, kWeightData) : Value();
  Value out = kb.pointerArg(c.splitK == 1 ? "y" : "partial", c.splitK == 1 ? yType : DType::f32);
  Value M = kb.scalarArg("M", DType::i32);
  kb.setNumWarps(c.numWarps);
  kb.setVectorWidth(S);
  // Unsplit, back-to-back calls overlap: the next kernel launches at once, its programs take the
  // slots of finished ones, and each requests its first step's weights, scales and zeros before
  // it waits for this one (the activations after). Graph-timed W4 M=1: 8192x8192 19.5 us without
  // overlap, 18.3 with this; 28672x8192 57.7 / 56.7; 14336x4096 17.8 / 16.6. Grids that leave
  // SMs room are launched without it (codegen/jit_kernel.cc). A split GEMV, followed by its
  // reduce, keeps the standard overlap (not measured the other way).
  if (c.splitK == 1) kb.setLaunchOverlap(LaunchOverlap::early);

  const int BN = c.blockN, BK = c.blockK, N = int(q.N), K = int(q.K), G = BK / S;
  const double levels = double(1 << q.bits);
  Value pidN = kb.programId(0), pidK = kb.programId(1), pidM = kb.programId(2);
  Value rn = pidN * BN + kb.arange(0, BN);
  Value rnMask = rn < N;
  Value rn2 = expandDims(rn, 1), rnMask2 = expandDims(rnMask, 1);
  Value rn3 = expandDims(rn2, 2), rnMask3 = expandDims(rnMask2, 2);
  Value gRange = kb.arange(0, G);
  SegmentIndex ix{expandDims(gRange, 0), expandDims(expandDims(gRange, 0), 2),
                  expandDims(expandDims(kb.arange(0, S), 0), 0)};
  Value m0 = pidM * c.blockM;
  // Split: slice pidK takes steps [pidK steps / splitK, (pidK + 1) steps / splitK); the last
  // one's last step may run past K (masked, as unsplit).
  const int steps = int(gemvSteps(q, c));
  Value kLo = c.splitK == 1 ? kb.constant(0, DType::i32) : pidK * steps / c.splitK * BK;
  Value kHi = c.splitK == 1 ? kb.constant(double(q.K), DType::i32) : (pidK + 1) * steps / c.splitK * BK;
  Value numGroups = kb.constant(double(q.K / q.groupSize), DType::i32);

  std::vector<Value> init;
  for (int i = 0; i < c.blockM; ++i) init.push_back(kb.zeros({BN, G}, DType::f32));

  // What one step reads from memory: codes, scales, zeros, activation rows. With two stages
  // the loop carries the next step's loads, issued before this step's math, so each thread
  // keeps two steps of loads in flight (register double buffering). With more, the code
  // generator pipelines the loop instead: the loads that allow it go through a shared-memory
  // ring `stages` deep (cp.async), `stages - 1` steps ahead, no registers held.
  auto loadStep = [&](Value k0) {
    std::vector<Value> raw{loadCodes(kb, q, S, ix, qweight, rn3, rnMask3, k0, wordPath, kTail)};
    if (!perRowScale) {
      Value kSeg = k0 + ix.g2 * S;  // each segment's first k
      Value g = rn2 * numGroups + kSeg / q.groupSize;
      Value mask = wordPath && !kTail ? rnMask2 : rnMask2 & (kSeg < K);
      raw.push_back(load(scales + g, mask, 0.0));
      if (!q.symmetric) raw.push_back(load(zeros + g, mask, 0.0));
    }
    Value rk = k0 + (ix.g3 * S + ix.s3);
    Value kMask = rk < K;
    for (int i = 0; i < c.blockM; ++i) {
      Value m = m0 + i;
      raw.push_back(load(x + (m * K + rk), kMask & (m < M), 0.0));
    }
    return raw;
  };
  // Per-row zeros are loop invariants: read once.
  Value rowZero = perRowScale && !q.symmetric ? expandDims(cast(load(zeros + rn, rnMask, 0.0), DType::f32), 1) : Value();
  bool shareSx = c.blockM == 1;
  const double half = double(1 << (q.bits - 1));
  bool prefetch = c.stages == 2 && wordPath;
  int sharedStages = c.stages > 2 && wordPath ? c.stages : 1;
  // One row of x on the word path (pairedSlots) decodes without the exponent of 1.0. The word is
  // shifted once per two neighbouring fields, field 2p+1 landing in the top `bits` mantissa bits
  // and field 2p in the `bits` below them; each field, masked out (one lop3), is read as the
  // float it makes with a zero exponent: u 2^(-126-bits) or u 2^(-126-2 bits), a subnormal, exact.
  // The activations are scaled to match, x 2^(62+bits) or x 2^(62+2 bits) (powers of two, exact,
  // once per segment for all the thread's rows; finite for |x| < 2^50 at 8 bits), so that every
  // product is u x 2^-64 and the zero point is one term per segment: sum (u - z) x 2^-64 =
  // sum f x'' - z Sx 2^-64. About 2.5 instructions per weight (half a shift, a lop3, an fma)
  // against 4 (shift, and, or, fma).
  const bool pairedSlots = shareSx && wordPath;
  const double pairedUnit = std::ldexp(1.0, 64);  // partial sums count (u - z) x / pairedUnit
  Value evenField = pairedSlots ? (ix.s3 % 2) == 0 : Value();  // [1, 1, S]
  Value pairedScale = pairedSlots ? where(evenField, kb.constant(std::ldexp(1.0, 62 + 2 * q.bits), DType::f32),
                                          std::ldexp(1.0, 62 + q.bits))
                                  : Value();
  auto acc = pipelinedLoop(kb, kLo, kHi, BK, init, loadStep, [&](Value, const std::vector<Value>& raw,
                                                                 const std::vector<Value>& a) {
    size_t r = 0;
    Value f = pairedSlots ? codesToPairedSubnormal(raw[r++], evenField, q.bits)
                          : codesToUnitFloat(raw[r++], q.bits);  // [BN, G, S]
    Value s = perRowScale ? Value() : cast(raw[r++], DType::f32);
    Value z = q.symmetric ? Value() : perRowScale ? rowZero : cast(raw[r++], DType::f32);  // [BN, G or 1]
    Value w;  // (u - z) / 2^bits
    if (!shareSx) w = q.symmetric ? f - (1 + half / levels) : f - expandDims(z * (1 / levels) + 1.0, 2);
    std::vector<Value> out;
    for (int i = 0; i < c.blockM; ++i) {
      Value xm = cast(raw[r++], DType::f32);  // [1, G, S]
      Value t;  // [BN, G]: sum (u - z) x over the segment, / 2^bits (pairedSlots: / pairedUnit)
      if (pairedSlots) {
        Value sx = sum(xm, 2) * (1 / pairedUnit);
        t = sum(f * (xm * pairedScale), 2) - (q.symmetric ? sx * half : z * sx);
      } else if (shareSx) {
        Value sx = sum(xm, 2);
        t = (sum(f * xm, 2) - sx) - (q.symmetric ? sx * (half / levels) : z * (1 / levels) * sx);
      } else {
        t = sum(w * xm, 2);
      }
      out.push_back(perRowScale ? a[i] + t : a[i] + s * t);
    }
    return out;
  }, prefetch, sharedStages);

  // The partials count (u - z) / 2^bits (or / pairedUnit): times that (exact).
  const double unit = pairedSlots ? pairedUnit : levels;
  Value rowScale = perRowScale ? cast(load(scales + rn, rnMask, 0.0), DType::f32) * unit : Value();
  for (int i = 0; i < c.blockM; ++i) {
    Value m = m0 + i;
    Value r = sum(acc[i], 1);
    r = perRowScale ? r * rowScale : r * unit;
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

}  // namespace uintx::kernels
