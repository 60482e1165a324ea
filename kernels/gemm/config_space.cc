#include "kernels/gemm/config_space.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <string>

#include "cache/env_integer.h"
#include "codegen/layout.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemm/tail_reduce.h"
#include "uintx/error.h"

namespace uintx::kernels {

namespace {

constexpr int kBlockMs[] = {16, 32, 64, 128, 256};
constexpr int kBlockNs[] = {32, 64, 128, 256};
constexpr int kBlockKs[] = {32, 64, 128, 256};
constexpr int kNumWarps[] = {4, 8};
constexpr int kStages[] = {1, 2, 3, 4, 6};
constexpr int kSplitKs[] = {1, 2, 4, 8};

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Programs of the grid before split-K: (N / blockN) x (M / blockM).
int64_t unsplitPrograms(const cache::KernelKey& key, const kernels::GemmConfig& c) {
  return cdiv(key.N, c.blockN) * cdiv(key.m_bucket, c.blockM);
}

// The largest grid any config of the space could give this key: the smallest tiles, split as
// far as the format allows. The grid rule compares against it, so a shape that cannot fill
// the GPU keeps its widest configs.
int64_t widestGrid(const cache::KernelKey& key, const kernels::QuantSpec& q, bool int8) {
  int maxSplit = 1;
  for (int s : kSplitKs) {
    kernels::GemmConfig c;
    c.blockK = kBlockKs[0];
    c.splitK = s;
    if (int8 && !q.symmetric) c.blockK = q.groupSize;  // one group per K step
    if (kernels::gemmSupports(q, c, int8) && q.K / (int64_t(c.blockK) * s) >= 2) maxSplit = s;
  }
  return cdiv(key.N, kBlockNs[0]) * cdiv(key.m_bucket, kBlockMs[0]) * maxSplit;
}

// Bytes the grid reads from memory: every row block re-reads the weights, every column block
// re-reads the activations.
double trafficBytes(const cache::KernelKey& key, int blockM, int blockN) {
  double weights = double(key.N) * double(key.K) * key.bit_width / 8;
  double activations = double(key.m_bucket) * double(key.K) * (key.family == cache::KernelFamily::gemm_int8 ? 1 : 2);
  return weights * double(cdiv(key.m_bucket, blockM)) + activations * double(cdiv(key.N, blockN));
}

// Up to 64 rows the GEMM streams its weights: an SM must keep enough weight bytes in flight to
// cover DRAM latency, the tiles its resident programs have issued ahead (stages - 1 each; a
// single stage waits for its one tile). log2 of how far short of kWeightBytesInFlight a config
// falls; 0 at 128 rows and more, where the tensor cores bound the step.
constexpr double kWeightBytesInFlight = 32 * 1024;
constexpr int kSmallMProgramsPerSm = 4;
double latencyShortfall(const cache::KernelKey& key, const kernels::GemmConfig& c, int smCount) {
  if (key.m_bucket > 64) return 0.0;
  double programsPerSm = std::clamp(double(unsplitPrograms(key, c) * c.splitK) / smCount, 1.0, double(kSmallMProgramsPerSm));
  double tile = double(c.blockN) * c.blockK * key.bit_width / 8;
  double inFlight = programsPerSm * tile * (c.stages > 1 ? c.stages - 1 : 0.5);
  return inFlight < kWeightBytesInFlight ? std::log2(kWeightBytesInFlight / inFlight) : 0.0;
}

// Lower is more plausible: grids that leave SMs idle, more memory traffic than the largest
// tiles would read (less reuse of each loaded tile), splitting, a single stage and longer K
// steps than the default's cost a little; so do small-M grids that keep too few weight bytes
// in flight.
double implausibility(const cache::KernelKey& key, const kernels::GemmConfig& c, int smCount) {
  double programs = double(unsplitPrograms(key, c)) * c.splitK;
  double grid = programs < smCount ? std::log2(smCount / programs) : 0.0;
  int largestM = std::min(kBlockMs[std::size(kBlockMs) - 1], std::max(kBlockMs[0], key.m_bucket));
  double traffic = std::log2(trafficBytes(key, c.blockM, c.blockN) / trafficBytes(key, largestM, kBlockNs[3]));
  return grid + traffic + 0.25 * std::log2(double(c.splitK)) + (c.stages == 1 ? 0.25 : c.stages == 2 ? 0.1 : 0.0) +
         0.1 * std::log2(c.blockK / 32.0) + latencyShortfall(key, c, smCount);
}

bool sameConfig(const kernels::GemmConfig& a, const kernels::GemmConfig& b) {
  return a.blockM == b.blockM && a.blockN == b.blockN && a.blockK == b.blockK && a.numWarps == b.numWarps &&
         a.stages == b.stages && a.splitK == b.splitK && a.weightsAsA == b.weightsAsA &&
         a.correctProducts == b.correctProducts && a.tailSplit == b.tailSplit && a.tmaCopies == b.tmaCopies &&
         a.warpSpecialized == b.warpSpecialized;
}

// Unsplit candidates of 128 rows and more whose last wave of tiles (one program per SM) at the
// key's M is at most half full: each also with its tail split (GemmConfig::tailSplit), at most
// kMaxTailSplitCandidates of them.
constexpr int kTailSplit = 4, kMaxTailSplitCandidates = 8;
void appendTailSplits(const cache::KernelKey& key, const kernels::QuantSpec& q, bool int8, int smCount,
                      std::vector<kernels::GemmConfig>& space) {
  const size_t n = space.size();
  int added = 0;
  for (size_t i = 0; i < n && added < kMaxTailSplitCandidates; ++i) {
    kernels::GemmConfig c = space[i];
    if (c.splitK != 1 || c.tailSplit != 1 || c.blockM < 128 || c.weightsAsA) continue;
    c.tailSplit = kTailSplit;
    if (!gemmSupports(q, c, int8) || tailSplitOf(q, c, key.m_bucket, uint64_t(smCount)).tailTiles() == 0) continue;
    if (std::any_of(space.begin(), space.end(), [&](const kernels::GemmConfig& s) { return sameConfig(s, c); })) continue;
    space.push_back(c);
    ++added;
  }
}

// With tmaCopiesEnabled(), the first candidates that can take them, the rule's first: each also
// with TMA copies (GemmConfig::tmaCopies), at most kMaxTmaCandidates of them, so that the
// tuner times the two ways of filling the same rings side by side.
constexpr int kMaxTmaCandidates = 8;
void appendTmaCopies(const cache::KernelKey& key, const kernels::QuantSpec& q, bool int8,
                     std::vector<kernels::GemmConfig>& space) {
  if (!tmaCopiesEnabled()) return;
  const size_t n = space.size();
  int added = 0;
  for (size_t i = 0; i < n && added < kMaxTmaCandidates; ++i) {
    kernels::GemmConfig c = withTmaCopies(q, space[i], int8);
    if (space[i].tmaCopies == 0 && c.tmaCopies == 1 && gemmSharedBytes(key, c) <= codegen::kMaxSharedBytes)
      space.push_back(c), ++added;
  }
}

}  // namespace

cache::KernelKey gemmKeyOf(const kernels::QuantSpec& q, int64_t M, bool int8) {
  cache::KernelKey key;
  key.family = int8 ? cache::KernelFamily::gemm_int8 : cache::KernelFamily::gemm;
  key.bit_width = q.bits, key.group_size = q.groupSize, key.packing_bitwidth = q.packingBits;
  key.act_dtype = key.out_dtype = "bf16";
  key.N = q.N, key.K = q.K, key.m_bucket = cache::KernelKey::mBucket(M);
  return key;
}

bool isGemmFamily(cache::KernelFamily family) { return family == cache::KernelFamily::gemm || family == cache::KernelFamily::gemm_int8; }

int gemmRegisterEstimate(const kernels::GemmConfig& c, bool int8) {
  codegen::MmaLayouts m;
  try {
    m = codegen::mmaLayouts(c.blockM, c.blockN, c.blockK, c.numWarps);
  } catch (const Error&) {
    return -1;
  }
  int perRegister = int8 ? 4 : 2, threads = 32 * c.numWarps;
  int accumulators = c.blockM * c.blockN / threads;
  // wgmma reads both operands from shared memory; mma.sync holds fragments in registers.
  int operands = codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, int8 ? 1 : 2)
                     ? 0
                     : (c.blockM / m.warpsM + c.blockN / m.warpsN) * c.blockK / (32 * perRegister);
  // The weight-only GEMM carries the next step's dequantized tile (two values per register).
  int dequantized = int8 ? 0 : c.blockN * c.blockK / (2 * threads);
  return accumulators + operands + dequantized;
}

int64_t gemmSharedBytes(const cache::KernelKey& key, const kernels::GemmConfig& c) {
  const bool int8 = key.family == cache::KernelFamily::gemm_int8;
  const bool pipelined = c.stages > 1;
  // Rings: the activations always; the weights as int8 codes (8-bit, int8 activations), else
  // their packed words (unpadded rows) next to the dequantized tile the dot stages.
  bool weightCodesInRing = pipelined && int8 && key.bit_width == 8;
  int64_t bytes = codegen::pipelinedDotBytes(c.blockM, c.blockN, c.blockK, int8 ? 1 : 2, std::max(1, c.stages),
                                             pipelined, weightCodesInRing);
  if (pipelined && !weightCodesInRing) bytes += c.stages * ((int64_t(c.blockN) * c.blockK * key.bit_width / 8 + 127) / 128 * 128);
  // On wgmma with three stages or more, a staged tile alternates between two buffers (its
  // step's wgmmas still read one while the next step writes the other), where both fit.
  const int eb = int8 ? 1 : 2;
  const int64_t second = int64_t(c.blockN) * (c.blockK * eb + 16);  // as pipelinedDotBytes counts the first
  if (c.stages >= 3 && !weightCodesInRing && codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, eb) &&
      bytes + second <= codegen::kMaxSharedBytes)
    bytes += second;
  // The rings' mbarriers: full, and (every ring TMA-filled: int8) released.
  if (c.tmaCopies) bytes += (int8 ? 16 : 8) * c.stages;
  return bytes;
}

std::string gemmPruneReason(const cache::KernelKey& key, const kernels::GemmConfig& c, int smCount) {
  const bool int8 = key.family == cache::KernelFamily::gemm_int8;
  const kernels::QuantSpec q = quantSpecOf(weightFormatOf(key));
  try {
    kernels::validateGemmConfig(q, c, int8);
    codegen::mmaLayouts(c.blockM, c.blockN, c.blockK, c.numWarps);
  } catch (const Error& e) {
    return e.what();
  }
  auto n = [](int64_t v) { return std::to_string(v); };
  // Rows past M are masked work: one tile of at most max(16, bucket) rows (int8: 64, one
  // warpgroup's wgmma, which streams int8 weights faster than 16-row mma.sync tiles).
  if (c.blockM > std::max(int8 ? 64 : kBlockMs[0], key.m_bucket))
    return "blockM " + n(c.blockM) + " is larger than the M bucket " + n(key.m_bucket);
  if (c.blockN > key.N && c.blockN != kBlockNs[0]) return "blockN " + n(c.blockN) + " is larger than N";
  int64_t shared = gemmSharedBytes(key, c);
  if (shared > codegen::kMaxSharedBytes)
    return "the K loop keeps " + n(shared) + " bytes of tiles in shared memory (more than " +
           n(codegen::kMaxSharedBytes) + ")";
  int accumulators = c.blockM * c.blockN / (32 * c.numWarps);
  if (accumulators > kMaxGemmAccumulatorsPerThread)
    return n(accumulators) + " f32 accumulators per thread (more than " + n(kMaxGemmAccumulatorsPerThread) + ")";
  int registers = gemmRegisterEstimate(c, int8);
  if (registers > kMaxGemmRegistersPerThread)
    return "about " + n(registers) + " registers per thread for the tile math (more than " +
           n(kMaxGemmRegistersPerThread) + ")";
  int64_t programs = unsplitPrograms(key, c);
  if (c.splitK > 1) {
    // Split only while the grid is small: once half as many splits fill every SM (up to 64
    // rows, where small tiles hide latency with several programs per SM: give each SM
    // kSmallMProgramsPerSm), more splitting only adds partial-sum traffic.
    if (programs * (c.splitK / 2) >= smCount * (key.m_bucket <= 64 ? kSmallMProgramsPerSm : 1))
      return "split-K " + n(c.splitK) + " on a grid of " + n(programs) + " programs (" + n(smCount) + " SMs)";
    if (key.K / (int64_t(c.blockK) * c.splitK) < 2) return "a K slice of fewer than two K steps";
  }
  int64_t wanted = std::min<int64_t>(smCount / 2, widestGrid(key, q, int8));
  if (programs * c.splitK < wanted)
    return "a grid of " + n(programs * c.splitK) + " programs leaves most of the " + n(smCount) + " SMs idle";
  return "";
}

// The transposed GEMM with one stage (no ring: each thread loads the next step's words and
// activations into registers), up to 32 rows of x: an activation tile of the bucket's rows
// (from 8) and 2048 or 4096 elements (BK 256 or 512 for 8 rows, 128 or 256 for 16, 64 or 128
// for 32: every warp holds the whole tile; up to 16 rows also BK 128 and 256 with corrected
// products), 16 or 32 weight rows per warp on 2 or 4 warps,
// unsplit and split until about 4 programs per SM, so that an SM holds enough programs to keep
// a step of weight loads in flight each.
static void appendWeightsAsAInRegisters(const cache::KernelKey& key, const QuantSpec& q, int smCount,
                                        std::vector<kernels::GemmConfig>& space) {
  int bm = 8;
  while (bm < key.m_bucket) bm *= 2;
  auto append = [&](kernels::GemmConfig c) {
    if (!gemmSupports(q, c, false) || codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, 2)) return;
    if (!sameConfig(c, space[0])) space.push_back(c);
    int64_t programs = cdiv(key.N, c.blockN);
    int split = 1;
    while (split < 8 && programs * split < 4 * smCount && key.K / (int64_t(c.blockK) * split * 2) >= 2) split *= 2;
    if (split > 1 && (c.splitK = split, !sameConfig(c, space[0]))) space.push_back(c);
  };
  for (int warps : {2, 4})
    for (int rowsPerWarp : {16, 32}) {
      kernels::GemmConfig c;
      c.weightsAsA = 1, c.blockN = rowsPerWarp * warps, c.blockM = bm, c.numWarps = warps, c.stages = 1;
      for (int bk : {2048 / bm, 4096 / bm}) {
        c.blockK = bk;
        append(c);
      }
      // Up to 16 rows, 128- and 256-deep steps whose products take each group's zero and scale
      // (correctProducts), where the steps lie within one group or span whole groups.
      if (bm <= 16)
        for (int bk : {128, 256}) {
          kernels::GemmConfig t = c;
          t.blockK = bk, t.correctProducts = 1;
          append(t);
        }
    }
}

// The transposed GEMM (GemmConfig::weightsAsA). Weight-only 1/2/4-bit keys; the tuner rejects
// a candidate whose output differs from the reference. Up to 32 rows, on mma.sync: 8 to 32
// activation rows, 64 to 256 weight rows on 2 or 4 warps (16 to 64 per warp), BK 128 or 256,
// 4 stages, unsplit and split to about two programs per SM. It beat the 16-row GEMM on some
// keys of up to 8 rows and lost on others (docs/PERFORMANCE.md, run 16): those keys always time
// it; 16 and 32 rows, where it lost on every key timed, only when $UINTX_TUNE_WEIGHTS_AS_A=1.
// From 64 rows, on wgmma, also only when asked (not faster where timed, run 12): 128 or 256
// weight rows on 8 warps, 64 to 256 activation rows, BK 64, 3 or 4 stages, split while every
// program keeps an SM.
static void appendWeightsAsA(const cache::KernelKey& key, const QuantSpec& q, bool int8, int smCount,
                             std::vector<kernels::GemmConfig>& space) {
  const bool asked = cache::envInteger("UINTX_TUNE_WEIGHTS_AS_A", 0, 1) == 1;
  if (int8 || q.bits > 4) return;
  if (key.m_bucket <= 32) appendWeightsAsAInRegisters(key, q, smCount, space);
  if (key.m_bucket > 8 && !asked) return;
  auto add = [&](const kernels::GemmConfig& c, int64_t shared) {
    if (gemmSupports(q, c, false) && shared <= codegen::kMaxSharedBytes) space.push_back(c);
  };
  if (key.m_bucket <= 32) {
    int bm = 8;
    while (bm < key.m_bucket) bm *= 2;
    for (int bn : {64, 128, 256})
      for (int warps : {2, 4})
        for (int bk : {128, 256}) {
          if (bn % (16 * warps) || bn / warps > 64) continue;
          kernels::GemmConfig c;
          c.weightsAsA = 1, c.blockN = bn, c.blockM = bm, c.blockK = bk, c.numWarps = warps, c.stages = 4;
          if (codegen::useWgmma(bn, bm, bk, warps, 2)) continue;
          int64_t shared = int64_t(c.stages) * (bm * (bk * 2 + 16) + int64_t(bn) * bk * q.bits / 8);
          add(c, shared);
          int64_t programs = cdiv(key.N, bn) * cdiv(key.m_bucket, bm);
          int split = 1;
          while (split < 8 && programs * split * 2 <= 2 * smCount && key.K / (int64_t(bk) * split * 2) >= 2) split *= 2;
          if (split > 1) c.splitK = split, add(c, shared);
        }
  }
  if (key.m_bucket < 64) return;
  for (int bn : {256, 128})
    for (int bm : {64, 128, 256})
      for (int stages : {4, 3}) {
        if (bm > key.m_bucket) continue;
        kernels::GemmConfig c;
        c.weightsAsA = 1, c.blockN = bn, c.blockM = bm, c.blockK = 64, c.numWarps = 8, c.stages = stages;
        c = splitToFillSms(q, c, (key.N + bn - 1) / bn * ((key.m_bucket + bm - 1) / bm), false, smCount);
        // Rings of activations and packed words; nothing staged.
        add(c, int64_t(stages) * (bm * 128 + int64_t(bn) * 64 * q.bits / 8));
      }
}

// The transposed int8 GEMM (8-bit weights, up to 64 rows of x): x tiles of the bucket's rows
// rounded up to a power of two (from 16 on wgmma, also 8 and 16 on mma.sync), 32 to 128 weight rows,
// BK 128 or 256, 6 stages (the int8 GEMM's best depth where timed; 5 or 4 where 6 do not fit
// in shared memory), unsplit and split up to about two programs per SM.
static void appendInt8WeightsAsA(const cache::KernelKey& key, const QuantSpec& q, int smCount,
                                 std::vector<kernels::GemmConfig>& space) {
  if (q.bits != 8 || !q.symmetric || key.m_bucket > 64) return;
  int rows = 8;
  while (rows < key.m_bucket) rows *= 2;
  struct Shape { int bm, bn, warps; };
  std::vector<Shape> shapes{{std::max(rows, 16), 64, 4}, {std::max(rows, 16), 128, 4}, {std::max(rows, 16), 128, 8}};
  if (rows == 8) shapes.push_back({8, 64, 4}), shapes.push_back({8, 32, 2});
  // 16 rows on mma.sync, 32 weight rows per program: twice wgmma's programs, each a quarter of the
  // SM, unsplit on layers of 4096 rows (a second kernel fewer).
  if (rows == 16) shapes.push_back({16, 32, 2});
  for (Shape t : shapes)
    for (int bk : {128, 256}) {
      kernels::GemmConfig c;
      c.weightsAsA = 1, c.blockM = t.bm, c.blockN = t.bn, c.numWarps = t.warps, c.blockK = bk, c.stages = 6;
      while (c.stages > 4 && gemmSharedBytes(key, c) > codegen::kMaxSharedBytes) --c.stages;
      int64_t programs = cdiv(key.N, t.bn) * cdiv(key.m_bucket, t.bm);
      for (int split = 1; split <= 8 && (split == 1 || programs * split <= 2 * smCount); split *= 2) {
        c.splitK = split;
        if (split > 1 && key.K / (int64_t(bk) * split) < 2) break;
        if (gemmSupports(q, c, true) && gemmSharedBytes(key, c) <= codegen::kMaxSharedBytes && !sameConfig(c, space[0]))
          space.push_back(c);
      }
    }
}

std::vector<kernels::GemmConfig> gemmConfigSpace(const cache::KernelKey& key, int smCount) {
  if (!isGemmFamily(key.family))
    throw Error("no GEMM config space for family '" + std::string(cache::familyName(key.family)) + "' (key " + key.toString() +
                "): it serves 'gemm' and 'gemm_int8'");
  if (smCount < 1) throw Error("smCount = " + std::to_string(smCount) + " must be >= 1");
  key.validate();
  const bool int8 = key.family == cache::KernelFamily::gemm_int8;
  const kernels::QuantSpec q = quantSpecOf(weightFormatOf(key));
  // The rule leads: the config the float64-checked defaults were measured on, and what the cost
  // model starts from.
  const kernels::GemmConfig fallback = ruleGemmConfig(q, key.m_bucket, int8, smCount);
  try {
    kernels::validateGemmConfig(q, fallback, int8);
  } catch (const Error& e) {
    throw Error("key " + key.toString() + " cannot run the GEMM programs: " + e.what());
  }

  // int8 activations with asymmetric weights: one group per K step, so blockK is the group.
  std::vector<int> blockKs(std::begin(kBlockKs), std::end(kBlockKs));
  if (int8 && !q.symmetric) blockKs = {q.groupSize};
  std::vector<kernels::GemmConfig> kept;
  for (int bm : kBlockMs)
    for (int bn : kBlockNs)
      for (int bk : blockKs)
        for (int warps : kNumWarps)
          for (int stages : kStages)
            for (int split : kSplitKs) {
              kernels::GemmConfig c;
              c.blockM = bm, c.blockN = bn, c.blockK = bk, c.numWarps = warps, c.stages = stages, c.splitK = split;
              if (gemmPruneReason(key, c, smCount).empty()) kept.push_back(c);
            }
  std::stable_sort(kept.begin(), kept.end(), [&](const kernels::GemmConfig& a, const kernels::GemmConfig& b) {
    return implausibility(key, a, smCount) < implausibility(key, b, smCount);
  });
  std::vector<kernels::GemmConfig> space{fallback};
  for (const kernels::GemmConfig& c : kept) {
    if (int(space.size()) >= kMaxGemmConfigs) break;
    if (!sameConfig(c, fallback)) space.push_back(c);
  }
  appendTailSplits(key, q, int8, smCount, space);
  if (int8) appendInt8WeightsAsA(key, q, smCount, space);
  else appendWeightsAsA(key, q, int8, smCount, space);
  appendTmaCopies(key, q, int8, space);
  return space;
}

}  // namespace uintx::kernels
