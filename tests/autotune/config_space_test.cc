// The GEMV search space: the default leads, every config can run, the pruning rules hold.
// The rules are re-derived here from their definitions (docs/CACHE.md), not from the code.
#include <doctest/doctest.h>

#include <random>
#include <algorithm>
#include <set>

#include "kernels/gemv/config_space.h"
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

KernelKey makeKey(int bits, int group, int pack, int64_t N, int64_t K, int bucket,
                  const std::string& family = "") {
  KernelKey k;
  k.family = *parseFamily(family.empty() ? (bucket <= 16 ? "gemv" : "gemv_tiled") : family);
  k.bit_width = bits;
  k.group_size = group;
  k.packing_bitwidth = pack;
  k.act_dtype = k.out_dtype = "bf16";
  k.N = N;
  k.K = K;
  k.m_bucket = bucket;
  return k;
}

// The whole-word path, from its definition: 32-bit words hold whole values, rows are
// 16-byte multiples, a tile holds whole words, K is a multiple of a thread's vector (four
// words, at most blockK).
bool wordPath(const KernelKey& k, int blockK) {
  if (32 % k.bit_width != 0) return false;
  int64_t perWord = k.packing_bitwidth / k.bit_width;
  int64_t rowBytes = (k.K + perWord - 1) / perWord * (k.packing_bitwidth / 8);
  int per = 32 / k.bit_width, vector = std::min(std::max(per, std::min(32, 4 * per)), blockK);
  return rowBytes % 16 == 0 && k.K % vector == 0 && blockK % per == 0;
}

bool anyWordPath(const KernelKey& k) {
  for (int bk : {64, 128, 256, 512, 1024})
    if (wordPath(k, bk)) return true;
  return false;
}

std::string str(const kernels::GemvConfig& c) { return c.toString(); }

// Checks every rule for one key; returns the space.
std::vector<kernels::GemvConfig> checkSpace(const KernelKey& key) {
  INFO("key " << key.toString());
  std::vector<kernels::GemvConfig> space = gemvConfigSpace(key, kSm);
  REQUIRE(!space.empty());
  CHECK(space.size() <= 40);

  kernels::QuantSpec q = kernels::quantSpecOf(kernels::weightFormatOf(key));
  kernels::GemvConfig expectedDefault = kernels::defaultGemvConfig(q, key.m_bucket, kSm);
  CHECK(str(space[0]) == str(expectedDefault));

  int blockM = key.family == uintx::cache::KernelFamily::gemv_tiled ? 16 : std::min(key.m_bucket, 16);
  bool word = anyWordPath(key);
  std::set<std::string> seen;
  for (size_t i = 0; i < space.size(); ++i) {
    const kernels::GemvConfig& c = space[i];
    INFO("config " << str(c));
    CHECK(seen.insert(str(c)).second);  // no duplicates
    CHECK_NOTHROW(kernels::validateGemvConfig(q, c));
    CHECK(c.blockM == blockM);
    if (i == 0) continue;  // the default is kept whatever the rules say
    CHECK(std::set<int>{8, 16, 32, 64}.count(c.blockN) == 1);
    CHECK(std::set<int>{64, 128, 256, 512, 1024}.count(c.blockK) == 1);
    CHECK(std::set<int>{2, 4, 8}.count(c.numWarps) == 1);
    CHECK(std::set<int>{1, 2, 4, 8}.count(c.splitK) == 1);
    if (word) CHECK(wordPath(key, c.blockK));
    CHECK(c.blockN * c.blockK <= 128 * 32 * c.numWarps);  // <= 128 tile elements per thread
    if (c.splitK > 1) {
      CHECK((key.K + c.blockK - 1) / c.blockK / c.splitK >= 2);  // every slice loops
    } else if (c.blockK > 64) {
      CHECK(c.blockK <= key.K);
    }
  }
  return space;
}

}  // namespace

TEST_CASE("the GEMV space of common 4-bit shapes: default first, rules hold, pruned to <= 40") {
  for (int64_t N : {1024, 4096, 14336})
    for (int64_t K : {1024, 4096})
      for (int bucket : {1, 2, 4, 8, 16, 32, 256, 4096}) checkSpace(makeKey(4, 128, 32, N, K, bucket));
}

TEST_CASE("the GEMV space over random formats and shapes") {
  std::mt19937 rng(7);
  int checked = 0;
  while (checked < 300) {
    int bits = std::vector<int>{1, 2, 3, 4, 8}[rng() % 5];  // the registered widths
    int pack = std::vector<int>{8, 16, 32}[rng() % 3];
    if (pack < bits) continue;
    int64_t K = 64 * int64_t(1 + rng() % 96);  // 64 .. 6144
    int group = std::vector<int>{32, 64, 128, 256, int(K)}[rng() % 5];
    if (bits == 8) group = int(K);  // 8-bit is symmetric per output channel
    if (K % group != 0) continue;
    int64_t N = 8 * int64_t(1 + rng() % 2048);
    int bucket = 1 << (rng() % 13);
    checkSpace(makeKey(bits, group, pack, N, K, bucket));
    ++checked;
  }
}

TEST_CASE("pruning: the full grid shrinks; split-K only where the grid is narrow") {
  // A narrow GEMV (N = 4096, M = 1): programs are few, so some configs split K.
  auto narrow = checkSpace(makeKey(4, 128, 32, 4096, 4096, 1));
  bool split = false;
  for (const auto& c : narrow) split |= c.splitK > 1;
  CHECK(split);
  CHECK(narrow.size() < 144);
  // A wide, tall problem: thousands of programs without splitting; no split-K beyond 1
  // (a split of 2 only when half as many programs would not fill the GPU 4 times).
  auto wide = checkSpace(makeKey(4, 128, 32, 14336, 4096, 4096));
  for (size_t i = 1; i < wide.size(); ++i) CHECK(wide[i].splitK == 1);
  // The register rule removes the largest tiles with the fewest warps.
  for (const auto& c : narrow) CHECK(!(c.blockN == 32 && c.blockK == 512 && c.numWarps == 2));
}

TEST_CASE("byte-path formats (3-bit) get a space too, every split dividing K") {
  auto space = checkSpace(makeKey(3, 128, 32, 4096, 4096, 1));
  CHECK(!anyWordPath(makeKey(3, 128, 32, 4096, 4096, 1)));
  CHECK(space.size() > 1);
}

TEST_CASE("blockM follows the bucket, 16 for gemv_tiled") {
  CHECK(gemvBlockM(makeKey(4, 128, 32, 4096, 4096, 4)) == 4);
  CHECK(gemvBlockM(makeKey(4, 128, 32, 4096, 4096, 16)) == 16);
  CHECK(gemvBlockM(makeKey(4, 128, 32, 4096, 4096, 1, "gemv_tiled")) == 16);
  for (const auto& c : gemvConfigSpace(makeKey(4, 128, 32, 4096, 4096, 64), kSm)) CHECK(c.blockM == 16);
}

TEST_CASE("a family without a GEMV space, or a key without a valid format, is an error naming it") {
  try {
    gemvConfigSpace(makeKey(4, 128, 32, 4096, 4096, 1, "gemm_int8"), kSm);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("gemm_int8") != std::string::npos);
  }
  try {
    gemvConfigSpace(makeKey(8, 128, 32, 4096, 4096, 1), kSm);  // 8-bit needs group = K
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("group_size") != std::string::npos);
  }
  CHECK(isGemvFamily(uintx::cache::KernelFamily::gemv));
  CHECK(isGemvFamily(uintx::cache::KernelFamily::gemv_tiled));
  CHECK(!isGemvFamily(uintx::cache::KernelFamily::gemm));
}
