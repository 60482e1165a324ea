// The GEMM search space: the default leads, every config can run (gemmSupports and the MMA
// split of codegen::mmaLayouts), each pruning rule holds and removes the configs that break
// it. The rules are re-derived here from their definitions (docs/CACHE.md), not the code.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>

#include "kernels/gemv/config_space.h"
#include "kernels/gemm/config_space.h"
#include "kernels/gemm/tail_reduce.h"
#include "codegen/layout.h"
#include "dispatch/kernel_store.h"
#include "kernels/families.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemv/default_config.h"
#include "kernels/common/quant_spec.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx;
using namespace uintx;
using namespace uintx::cache;
using namespace uintx::kernels;
using namespace uintx::cache;

namespace {

constexpr int kSm = 132;

KernelKey makeKey(const std::string& family, int bits, int group, int64_t N, int64_t K, int bucket) {
  KernelKey k;
  k.family = *parseFamily(family);
  k.bit_width = bits;
  k.group_size = group;
  k.packing_bitwidth = 32;
  k.act_dtype = k.out_dtype = "bf16";
  k.N = N;
  k.K = K;
  k.m_bucket = bucket;
  return k;
}

kernels::GemmConfig config(int bm, int bn, int bk, int warps, int stages, int splitK) {
  kernels::GemmConfig c;
  c.blockM = bm, c.blockN = bn, c.blockK = bk, c.numWarps = warps, c.stages = stages, c.splitK = splitK;
  return c;
}

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

bool contains(const std::vector<kernels::GemmConfig>& space, const kernels::GemmConfig& c) {
  for (const auto& s : space)
    if (s.toString() == c.toString()) return true;
  return false;
}

// Registers of the tile math, from the definition: accumulators BM*BN/(32*warps), plus the
// operand fragments of one warp ([BM/warpsM, BK] and [BN/warpsN, BK], 2 bf16 or 4 int8 per
// register over 32 lanes) on mma.sync (wgmma, 16 or 32 rows per warp in whole warpgroups and
// 128-byte k rows, reads them from shared memory), plus the weight-only GEMM's dequantized
// next tile, two values per register.
bool onWgmma(const kernels::GemmConfig& c, bool int8) {
  return c.numWarps % 4 == 0 && (c.blockM == 16 * c.numWarps || c.blockM == 32 * c.numWarps) && c.blockN % 16 == 0 &&
         c.blockN <= 256 && c.blockK * (int8 ? 1 : 2) % 128 == 0;
}

int registers(const kernels::GemmConfig& c, bool int8) {
  codegen::MmaLayouts m = codegen::mmaLayouts(c.blockM, c.blockN, c.blockK, c.numWarps);
  int threads = 32 * c.numWarps;
  int ops = (c.blockM / m.warpsM + c.blockN / m.warpsN) * c.blockK / (32 * (int8 ? 4 : 2));
  bool wgmma = onWgmma(c, int8);
  return c.blockM * c.blockN / threads + (wgmma ? 0 : ops) + (int8 ? 0 : c.blockN * c.blockK / (2 * threads));
}

// Shared memory of the K loop, from the definition (docs/CACHE.md, rule 3).
int64_t sharedBytes(const KernelKey& key, const kernels::GemmConfig& c) {
  bool int8 = key.family == uintx::cache::KernelFamily::gemm_int8;
  int64_t row = c.blockK * (int8 ? 1 : 2) + 16;
  if (c.stages == 1) return (c.blockM + c.blockN) * row;
  auto buffer = [](int64_t bytes) { return cdiv(bytes, 128) * 128; };
  int64_t bytes = c.stages * buffer(c.blockM * row);
  if (int8 && key.bit_width == 8) return bytes + c.stages * buffer(c.blockN * row);
  bytes += c.blockN * row + c.stages * buffer(int64_t(c.blockN) * c.blockK * key.bit_width / 8);
  // Alternating staging buffers on wgmma from 3 stages, where the second one fits.
  if (c.stages >= 3 && onWgmma(c, int8) && bytes + c.blockN * row <= 227 * 1024) bytes += c.blockN * row;
  return bytes;
}

// Checks every rule on every config of the space for one key; returns the space.
std::vector<kernels::GemmConfig> checkSpace(const KernelKey& key) {
  INFO("key " << key.toString());
  const bool int8 = key.family == uintx::cache::KernelFamily::gemm_int8;
  std::vector<kernels::GemmConfig> space = gemmConfigSpace(key, kSm);
  REQUIRE(!space.empty());
  // The transposed candidates (their own test below), the tail-split and the TMA copies of
  // candidates follow the other rules' cut.
  auto tma = [](const kernels::GemmConfig& c) { return c.tmaCopies == 1; };
  const size_t transposed = size_t(std::count_if(space.begin(), space.end(), [&](const auto& c) { return c.weightsAsA && !tma(c); }));
  const size_t tailSplits = size_t(std::count_if(space.begin() + 1, space.end(), [&](const auto& c) { return c.tailSplit > 1 && !tma(c); }));
  const size_t tmaCopies = size_t(std::count_if(space.begin(), space.end(), tma));
  CHECK(tailSplits <= 8);
  CHECK(tmaCopies <= (kernels::tmaCopiesEnabled() ? 8 : 0));
  CHECK(space.size() - transposed - tailSplits - tmaCopies <= 40);
  kernels::QuantSpec q = kernels::quantSpecOf(kernels::weightFormatOf(key));
  CHECK(space[0].toString() == kernels::ruleGemmConfig(q, key.m_bucket, int8, kSm).toString());
  // The widest grid of the grid: BM 16, BN 32, the largest split that divides K in whole
  // groups with two K steps of 32 per slice (of one group for 4-bit weights with int8).
  int maxSplit = 1;
  int narrowestK = int8 && key.bit_width == 4 ? key.group_size : 32;  // 4-bit int8: one group per K step
  for (int s : {2, 4, 8})
    if (key.K % (narrowestK * s) == 0 && key.K / (narrowestK * s) >= 2 &&
        (key.group_size == key.K || (key.K / s) % key.group_size == 0))
      maxSplit = s;
  int64_t widest = cdiv(key.N, 32) * cdiv(key.m_bucket, 16) * maxSplit;

  std::set<std::string> seen;
  for (size_t i = 0; i < space.size(); ++i) {
    const kernels::GemmConfig& c = space[i];
    INFO("config " << c.toString());
    CHECK(seen.insert(c.toString()).second);
    CHECK(kernels::gemmSupports(q, c, int8));
    CHECK_NOTHROW(codegen::mmaLayouts(c.blockM, c.blockN, c.blockK, c.numWarps));
    if (c.tmaCopies) {  // a copy of a candidate before it, its blocks by TMA
      kernels::GemmConfig twin = c;
      twin.tmaCopies = 0, twin.warpSpecialized = 0;
      CHECK(seen.count(twin.toString()) == 1);
      continue;
    }
    if (i == 0 || c.weightsAsA) continue;  // the default is kept whatever the rules say
    if (c.tailSplit > 1) {  // a copy of an unsplit candidate of 128 rows or more, whose tail split acts at this M
      kernels::GemmConfig whole = c;
      whole.tailSplit = 1;
      CHECK(seen.count(whole.toString()) == 1);
      CHECK((c.splitK == 1 && c.blockM >= 128));
      CHECK(kernels::tailSplitOf(q, c, key.m_bucket, kSm).tailTiles() > 0);
    }
    CHECK(gemmPruneReason(key, c, kSm).empty());
    CHECK(std::set<int>{16, 32, 64, 128, 256}.count(c.blockM) == 1);
    CHECK(std::set<int>{32, 64, 128, 256}.count(c.blockN) == 1);
    if (int8 && key.bit_width == 4) CHECK(c.blockK == key.group_size);
    else CHECK(std::set<int>{32, 64, 128, 256}.count(c.blockK) == 1);
    CHECK(sharedBytes(key, c) <= 227 * 1024);
    CHECK(sharedBytes(key, c) == gemmSharedBytes(key, c));
    CHECK(std::set<int>{4, 8}.count(c.numWarps) == 1);
    CHECK(std::set<int>{1, 2, 3, 4, 6}.count(c.stages) == 1);
    CHECK(std::set<int>{1, 2, 4, 8}.count(c.splitK) == 1);
    CHECK(c.blockM <= std::max(int8 ? 64 : 16, key.m_bucket));
    CHECK((c.blockN <= key.N || c.blockN == 32));
    CHECK(c.blockM * c.blockN <= 128 * 32 * c.numWarps);
    CHECK(registers(c, int8) <= 192);
    int64_t programs = cdiv(key.N, c.blockN) * cdiv(key.m_bucket, c.blockM);
    if (c.splitK > 1) {
      CHECK(programs * (c.splitK / 2) < kSm * (key.m_bucket <= 64 ? 4 : 1));  // only small grids split
      CHECK(key.K / (int64_t(c.blockK) * c.splitK) >= 2);
    }
    CHECK(programs * c.splitK >= std::min<int64_t>(kSm / 2, widest));
  }
  return space;
}

}  // namespace

TEST_CASE("the GEMM space of common shapes: default first, every rule holds, at most 40") {
  for (int64_t N : {1024, 4096, 14336})
    for (int64_t K : {1024, 4096})
      for (int bucket : {16, 32, 64, 128, 256, 1024, 4096}) {
        checkSpace(makeKey("gemm", 4, 128, N, K, bucket));
        checkSpace(makeKey("gemm", 8, int(K), N, K, bucket));
        checkSpace(makeKey("gemm_int8", 8, int(K), N, K, bucket));
        checkSpace(makeKey("gemm_int8", 4, 128, N, K, bucket));
      }
}

// With $UINTX_TMA_COPIES=1 the spaces end with TMA copies of their first candidates that take
// them (each one's twin is earlier in the space: checkSpace), the rule's first.
TEST_CASE("the GEMM spaces with TMA copies, when they are enabled") {
  setenv("UINTX_TMA_COPIES", "1", 1);
  for (int bucket : {16, 64, 256, 4096}) {
    auto space = checkSpace(makeKey("gemm_int8", 8, 4096, 4096, 4096, bucket));
    const auto first = std::find_if(space.begin(), space.end(), [](const auto& c) { return c.tmaCopies == 1; });
    REQUIRE(first != space.end());
    CHECK(std::all_of(first, space.end(), [](const auto& c) { return c.tmaCopies == 1; }));
    kernels::GemmConfig twin = *first;
    twin.tmaCopies = 0, twin.warpSpecialized = 0;
    CHECK(twin.toString() == space[0].toString());  // the rule's, first
    CHECK(std::none_of(space.begin(), space.end(), [](const auto& c) { return c.tmaCopies && c.blockK * 1 % 128 != 0; }));
    for (const auto& c : checkSpace(makeKey("gemm_int8", 4, 128, 4096, 4096, bucket))) CHECK(c.tmaCopies == 0);
    checkSpace(makeKey("gemm", 4, 128, 4096, 4096, bucket));  // weight-only: x by TMA where it applies
  }
  unsetenv("UINTX_TMA_COPIES");
  for (const auto& c : gemmConfigSpace(makeKey("gemm_int8", 8, 4096, 4096, 4096, 256), kSm)) CHECK(c.tmaCopies == 0);
}

TEST_CASE("the GEMM space over random formats and shapes") {
  std::mt19937 rng(5);
  int checked = 0;
  while (checked < 150) {
    bool int8 = rng() % 2;
    int bits = rng() % 2 ? 4 : 8;
    int64_t K = 256 * int64_t(1 + rng() % 32);
    int group = bits == 8 ? int(K) : std::vector<int>{32, 64, 128, 256}[rng() % 4];
    int64_t N = 64 * int64_t(1 + rng() % 256);
    int bucket = 16 << (rng() % 9);
    checkSpace(makeKey(int8 ? "gemm_int8" : "gemm", bits, group, N, K, bucket));
    ++checked;
  }
}

TEST_CASE("split-K appears only for small grids, weight-only and int8 alike") {
  for (const char* family : {"gemm", "gemm_int8"}) {
    CAPTURE(family);
    auto small = checkSpace(makeKey(family, 8, 4096, 4096, 4096, 16));  // 32 programs of 16x128
    bool split = false;
    for (const auto& c : small) split |= c.splitK > 1;
    CHECK(split);
    for (const auto& c : checkSpace(makeKey(family, 8, 4096, 14336, 4096, 4096))) CHECK(c.splitK == 1);
  }
}

TEST_CASE("pruning: each rule removes the configs that break it, and says which") {
  auto rejected = [](const KernelKey& key, const kernels::GemmConfig& c, const std::string& words) {
    INFO("key " << key.toString() << " config " << c.toString());
    std::string why = gemmPruneReason(key, c, kSm);
    CHECK_MESSAGE(why.find(words) != std::string::npos, why);
    CHECK(!contains(gemmConfigSpace(key, kSm), c));
  };
  const KernelKey small = makeKey("gemm", 4, 128, 4096, 4096, 16);
  const KernelKey big = makeKey("gemm", 4, 128, 14336, 4096, 4096);
  // gemmSupports: more K slices than K steps (int8 4-bit: a group each), K not whole steps.
  rejected(makeKey("gemm_int8", 4, 128, 4096, 512, 16), config(16, 64, 128, 4, 1, 8), "K steps");
  rejected(makeKey("gemm", 8, 4160, 4096, 4160, 16), config(16, 64, 128, 4, 2, 1), "multiple of blockK");
  rejected(makeKey("gemm_int8", 4, 128, 4096, 4096, 256), config(64, 64, 64, 4, 1, 1), "group size");
  // mmaLayouts: 8 warps cannot split a 16x32 tile (BM % 16*warpsM, BN % 8*warpsN).
  CHECK_THROWS_AS(codegen::mmaLayouts(16, 32, 32, 8), Error);
  rejected(small, config(16, 32, 32, 8, 2, 1), "warps");
  // blockM larger than the M bucket.
  rejected(small, config(64, 64, 32, 4, 2, 1), "M bucket");
  // Accumulators: 128 x 256 over 4 warps is 256 f32 per thread.
  rejected(big, config(128, 256, 32, 4, 1, 1), "accumulators");
  // Shared memory: four buffers of 128 x 256 bf16 activations (4 * 128 * 528 bytes) and the
  // weights exceed 227 KiB; with one stage the same tile fits.
  CHECK(sharedBytes(big, config(128, 256, 256, 8, 4, 1)) > 227 * 1024);
  rejected(big, config(128, 256, 256, 8, 4, 1), "shared memory");
  CHECK(gemmPruneReason(big, config(128, 256, 256, 8, 1, 1), kSm).find("shared memory") == std::string::npos);
  // Registers: 64 x 256 x 128 on 4 warps runs on wgmma (no fragments) but holds 128
  // accumulators and a 256 x 128 dequantized tile (128 registers) per thread.
  CHECK(registers(config(64, 256, 128, 4, 1, 1), false) > 192);
  CHECK(sharedBytes(big, config(64, 256, 128, 4, 1, 1)) <= 227 * 1024);
  rejected(big, config(64, 256, 128, 4, 1, 1), "registers");
  // Split-K on a grid that already fills the GPU.
  rejected(big, config(128, 128, 32, 8, 2, 2), "split-K");
  // A grid that leaves most SMs idle: 16 programs where 1024 are possible.
  rejected(small, config(16, 256, 32, 4, 2, 1), "idle");
  // The same tile split 4 ways gives 64 programs, still below 132 / 2; split 8 ways it is kept.
  CHECK(!gemmPruneReason(small, config(16, 256, 32, 4, 2, 4), kSm).empty());
  CHECK(gemmPruneReason(small, config(16, 256, 32, 4, 2, 8), kSm).empty());
}

TEST_CASE("errors: a family without a GEMM space, a format the GEMM cannot run") {
  try {
    gemmConfigSpace(makeKey("gemv", 4, 128, 4096, 4096, 1), kSm);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("'gemv'") != std::string::npos);
  }
  // 3-bit weights cannot run the GEMM programs at all.
  CHECK_THROWS_AS(gemmConfigSpace(makeKey("gemm", 3, 128, 4096, 4096, 64), kSm), Error);
  CHECK(isGemmFamily(uintx::cache::KernelFamily::gemm));
  CHECK(isGemmFamily(uintx::cache::KernelFamily::gemm_int8));
  CHECK(!isGemmFamily(uintx::cache::KernelFamily::gemv));
}

TEST_CASE("GEMM configs round-trip through the cache's form; entries without split_k load as 1") {
  kernels::GemmConfig c = config(32, 256, 64, 8, 1, 4);
  KernelConfig k = toKernelConfig(c);
  CHECK(k.params.at("split_k") == 4);
  CHECK(kernels::gemmConfigFrom(k).toString() == c.toString());
  k.params.erase("split_k");  // written before split-K existed
  CHECK(kernels::gemmConfigFrom(k).splitK == 1);
  CHECK(kernels::gemmConfigFrom(k).blockN == 256);
}

// The transposed GEMM (weightsAsA) joins the space after the other candidates, for weight-only
// keys with codes of at most 4 bits: on mma.sync for keys of up to 8 rows always, for 16 and 32
// rows (mma.sync) and from 64 rows (wgmma) only when asked ($UINTX_TUNE_WEIGHTS_AS_A=1: not
// faster where measured); each candidate is one the GEMM accepts.
TEST_CASE("weightsAsA candidates join the space for few rows, and elsewhere when asked") {
  KernelKey key = makeKey("gemm", 4, 128, 8192, 8192, 512);
  int oneStage = 0, corrected = 0;
  auto count = [&](const KernelKey& k) {
    int n = 0;
    for (const auto& c : gemmConfigSpace(k, kSm)) {
      if (!c.weightsAsA) continue;
      ++n;
      CHECK(kernels::gemmSupports(kernels::quantSpecOf(kernels::weightFormatOf(k)), c, false));
      CHECK(c.blockM <= std::max(8, k.m_bucket));
      // Few rows take the mma.sync form, whose activation tile is the bucket's rows, from 8.
      if (k.m_bucket <= 32) CHECK(c.blockM == std::max(8, k.m_bucket));
      if (k.m_bucket <= 32) CHECK(!codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, 2));
      if (c.stages == 1) {  // the register-prefetch form: up to 32 rows, 16 or 32 weight rows per warp
        ++oneStage;
        CHECK(k.m_bucket <= 32);
        // The activation tile each warp holds; 128- and 256-deep steps where the products are corrected.
        CHECK((c.blockM * c.blockK == 2048 || c.blockM * c.blockK == 4096 ||
               (c.correctProducts && (c.blockK == 128 || c.blockK == 256))));
        if (c.correctProducts) ++corrected;
        CHECK((c.blockN / c.numWarps == 16 || c.blockN / c.numWarps == 32));
        int64_t programs = (k.N + c.blockN - 1) / c.blockN;
        if (c.splitK > 1) CHECK(programs * c.splitK / 2 < 4 * kSm);  // split until about 4 programs per SM
      }
    }
    return n;
  };
  unsetenv("UINTX_TUNE_WEIGHTS_AS_A");
  CHECK(count(key) == 0);
  // 16 rows: one stage only, 32/2 and 64/2 weight rows/warps (on 4 warps they are wgmma tiles),
  // BK 128 and 256, each also with corrected products, unsplit and split.
  CHECK(count(makeKey("gemm", 4, 128, 8192, 8192, 16)) == 16);
  CHECK(corrected == 8);
  CHECK(count(makeKey("gemm", 4, 128, 8192, 8192, 64)) == 0);
  // 64/2, 64/4, 128/2, 128/4, 256/4 weight rows/warps, two K steps, each unsplit and split;
  // one stage: 32/2, 64/2, 64/4, 128/4 weight rows/warps, BK 256 and 512, and BK 128 and 256
  // with corrected products, unsplit and split. (The default, one of the one-stage configs up to
  // 8 rows, leads the space and is counted once.)
  oneStage = 0, corrected = 0;
  CHECK(count(makeKey("gemm", 4, 128, 8192, 8192, 4)) == 20 + 32);
  CHECK(oneStage == 32);
  CHECK(corrected == 16);
  CHECK(gemmConfigSpace(makeKey("gemm", 4, 128, 8192, 8192, 4), kSm).size() == size_t(kMaxGemmConfigs) + 51);  // after the cut
  CHECK(count(makeKey("gemm", 8, 8192, 8192, 8192, 4)) == 0);  // 8-bit codes (weight-only)
  setenv("UINTX_TUNE_WEIGHTS_AS_A", "1", 1);
  CHECK(count(key) == 12);                                        // 2 x 3 x 2, all fit at M = 512
  CHECK(count(makeKey("gemm", 4, 128, 8192, 8192, 64)) == 4);     // 64-row activation tiles only
  CHECK(count(makeKey("gemm", 8, 8192, 8192, 8192, 512)) == 0);   // 8-bit codes
  CHECK(count(makeKey("gemm_int8", 8, 8192, 8192, 8192, 512)) == 0);
  CHECK(count(makeKey("gemm", 4, 128, 8192, 8192, 128)) == 8);    // 64- and 128-row tiles
  // mma.sync: 64/2, 128/2, 256/4 weight rows/warps at 16 rows (64 and 128 on 4 warps are
  // wgmma tiles), two K steps, each unsplit and split; at 1 row 64/4 and 128/4 join them (and
  // the one-stage candidates above, corrected products among them).
  CHECK(count(makeKey("gemm", 4, 128, 8192, 8192, 16)) == 12 + 16);
  oneStage = 0;
  CHECK(count(makeKey("gemm", 4, 128, 8192, 8192, 1)) == 20 + 32);
  CHECK(oneStage == 32);
  unsetenv("UINTX_TUNE_WEIGHTS_AS_A");
}

// The transposed int8 GEMM (8-bit weights, up to 64 rows of x) joins the int8 space after the
// other candidates, asked or not: x tiles of the bucket's rows rounded up to a power of two
// (from 16 on wgmma; also 8 on mma.sync), 6 stages (fewer where they do not fit), split while
// the grid stays within about two programs per SM; each one the int8 GEMM accepts, in shared
// memory, and unique.
TEST_CASE("int8 weightsAsA candidates: 8-bit weights up to 64 rows") {
  auto transposed = [](const KernelKey& k) {
    std::vector<kernels::GemmConfig> out;
    std::set<std::string> seen;
    for (const auto& c : gemmConfigSpace(k, kSm)) {
      CHECK(seen.insert(c.toString()).second);
      if (!c.weightsAsA) continue;
      INFO("key " << k.toString() << " config " << c.toString());
      CHECK(kernels::gemmSupports(kernels::quantSpecOf(kernels::weightFormatOf(k)), c, true));
      CHECK(gemmSharedBytes(k, c) <= 227 * 1024);
      CHECK(c.stages >= 4);
      CHECK(c.stages <= 6);
      if (c.stages < 6) {  // only where 6 would not fit
        kernels::GemmConfig deeper = c;
        deeper.stages = c.stages + 1;
        CHECK(gemmSharedBytes(k, deeper) > 227 * 1024);
      }
      int rows = 8;
      while (rows < k.m_bucket) rows *= 2;
      CHECK((c.blockM == std::max(16, rows) || (rows == 8 && c.blockM == 8)));
      int64_t programs = cdiv(k.N, c.blockN) * cdiv(k.m_bucket, c.blockM);
      if (c.splitK > 1) CHECK(programs * c.splitK <= 2 * kSm);
      out.push_back(c);
    }
    return out;
  };
  for (int bucket : {1, 2, 4, 8, 16, 32, 64}) {
    CAPTURE(bucket);
    auto t = transposed(makeKey("gemm_int8", 8, 8192, 8192, 8192, bucket));
    CHECK(!t.empty());
    bool mmaSync = false, split = false, wide = false;
    for (const auto& c : t) mmaSync |= c.blockM == 8, split |= c.splitK > 1, wide |= c.blockN == 128 && c.blockK == 256;
    CHECK(wide);  // 128 weight rows in 256-byte steps, on fewer stages where 6 do not fit
    CHECK(mmaSync == (bucket <= 8));
    CHECK(split);
  }
  CHECK(transposed(makeKey("gemm_int8", 8, 8192, 8192, 8192, 128)).empty());
  CHECK(transposed(makeKey("gemm_int8", 4, 128, 8192, 8192, 16)).empty());  // 4-bit weights
}
