// What a tuned configuration is keyed by, and the configuration itself.
// The key's string form is the JSON key of the config cache (docs/CACHE.md), so it is
// stable: changing toString() means bumping the cache's schema version.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "cache/kernel_family.h"

namespace uintx::cache {

struct KernelKey {
  KernelFamily family = KernelFamily::gemv;
  int bit_width = 0;
  int group_size = 0;
  int packing_bitwidth = 0;
  std::string act_dtype, out_dtype;  // "bf16", "fp16", ...
  int64_t N = 0, K = 0;
  int m_bucket = 0;  // mBucket(M), never M itself

  // The M bucket: the next power of two >= M, capped at kMaxMBucket, so
  // 1,2,4,...,2048,4096 with 4096 standing for every M > 2048. Throws for M < 1.
  static constexpr int kMaxMBucket = 4096;
  static int mBucket(int64_t M);

  // "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=16".
  std::string toString() const;
  // Inverse of toString(). Throws uintx::Error naming the text and the field at fault.
  static KernelKey parse(const std::string& text);

  // Throws uintx::Error when a field is out of range (names the field).
  void validate() const;

  bool operator==(const KernelKey&) const = default;
};

// Meta-parameters of one launch: BLOCK_N, BLOCK_K, num_warps, num_stages, split_k, ...
struct KernelConfig {
  std::map<std::string, int> params;

  nlohmann::json toJson() const;
  // Accepts an object of integers; throws uintx::Error otherwise.
  static KernelConfig fromJson(const nlohmann::json& j);
  std::string toString() const;  // "BLOCK_K=64 BLOCK_N=128 num_warps=4"

  bool operator==(const KernelConfig&) const = default;
};

}  // namespace uintx::cache
