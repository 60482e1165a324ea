// Which config a call runs, posing (through the fake driver) as a GPU that has a shipped
// table: the user's config cache first, then the table, then the cost model's default; and
// $UINTX_SHIPPED_TABLES=0 switches the table's entries off (the model keeps its constants).
// The config is read from the launch grid of the GEMV (N / BLOCK_N programs along x, split_k
// along y).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cache/config_cache.h"
#include "cache/gpu_tables.h"
#include "kernels/common/quant_spec.h"
#include "kernels/families.h"
#include "kernels/gemv/default_config.h"
#include "runtime/device_buffer.h"
#include "tests/runtime/fake_driver.h"
#include "uintx/uintx.h"

namespace {

using uintx::testing::queryFake;
const bool kFakeDriver = [] {
  unsetenv("UINTX_CONFIG_CACHE");
  setenv("UINTX_FAKE_GPU_NAME", "NVIDIA H200", 1);  // the fake reports compute capability 9.0
  return uintx::testing::useFakeDriver();
}();

const uintx::cache::ShippedTable& h200() {
  const uintx::cache::ShippedTable* t = uintx::cache::shippedTableFor("NVIDIA H200", "9.0");
  REQUIRE(t != nullptr);
  return *t;
}

// The H200 table's M = 1 GEMV keys, and their configs. Plans are kept per key for the
// process, so each case below takes a key of its own.
struct TabledKey {
  uintx::cache::KernelKey key;
  uintx::cache::KernelConfig config;
};
TabledKey tabledGemvKey(size_t which) {
  std::vector<TabledKey> keys;
  for (const auto& [text, entry] : h200().entries) {
    uintx::cache::KernelKey key = uintx::cache::KernelKey::parse(text);
    if (key.family == uintx::cache::KernelFamily::gemv && key.m_bucket == 1) keys.push_back({key, entry.config});
  }
  REQUIRE(keys.size() > which);
  return keys[which];
}

// (programs along N, split) of one call of `w` at M = 1.
std::pair<int, int> gridOfOneCall(const uintx::DeviceWeight& w, int64_t N, int64_t K) {
  uintx::runtime::DeviceBuffer x(K * 2), y(N * 2);
  queryFake<int>("fakeResetFirstGrid");
  uintx::linear({reinterpret_cast<void*>(x.get()), 1, K, uintx::ScalarType::bf16}, w,
                {reinterpret_cast<void*>(y.get()), 1, N, uintx::ScalarType::bf16});
  return {queryFake<int>("fakeFirstGridX"), queryFake<int>("fakeFirstGridY")};
}

uintx::QuantizedWeight weightFor(const uintx::cache::KernelKey& key) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  std::vector<float> w(size_t(key.N * key.K));
  for (float& v : w) v = normal(rng);
  return uintx::quantize(w.data(), key.N, key.K,
                         {.bit_width = key.bit_width, .group_size = key.group_size, .packing_bitwidth = key.packing_bitwidth});
}

int64_t configValue(const uintx::cache::KernelConfig& c, const char* name) {
  for (const auto& [k, v] : c.params)
    if (k == name) return v;
  FAIL("no " << name << " in the config");
  return 0;
}

// A GEMV config with `blockN` (the rest fixed).
uintx::cache::KernelConfig gemvConfig(int blockN) {
  uintx::cache::KernelConfig c;
  c.params = {{"BLOCK_K", 256}, {"BLOCK_M", 1}, {"BLOCK_N", blockN}, {"num_stages", 2}, {"num_warps", 4}, {"split_k", 1}};
  return c;
}

// Makes a fresh user config cache (under the test's temporary folder) holding one entry, and
// points the library at it.
void useUserCacheWith(const uintx::cache::KernelKey& key, const uintx::cache::KernelConfig& config,
                      const std::string& fileName) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp ? tmp : "/tmp") + "/" + fileName;
  std::remove(path.c_str());
  {
    uintx::cache::ConfigCache cache(path, "NVIDIA H200", "9.0");
    cache.insert(key, config, 1.0);
    cache.save();
  }
  uintx::setCacheSettings({path, ""});
}

}  // namespace

TEST_CASE("config precedence: the user's cache, then the GPU's table, then the cost model") {
  int which = 0;
  SUBCASE("the table") { which = 0; }
  SUBCASE("the user's cache over the table") { which = 1; }
  SUBCASE("tables off") { which = 2; }
  SUBCASE("a user cache entry that cannot run the format is passed over for the table") { which = 3; }
  const TabledKey tabled = tabledGemvKey(size_t(which));
  const uintx::cache::KernelKey& key = tabled.key;
  const uintx::QuantizedWeight q = weightFor(key);
  const int tableBlockN = int(configValue(tabled.config, "BLOCK_N"));
  const int tableSplit = int(configValue(tabled.config, "split_k"));
  const uintx::kernels::GemvConfig model =
      uintx::kernels::defaultGemvConfig(uintx::kernels::quantSpecOf(q.format()), 1, h200().model);
  INFO("key " << key.toString() << ", table BLOCK_N " << tableBlockN << " split " << tableSplit
              << ", model " << model.toString());

  if (which == 0) {  // no user cache: the table's config
    uintx::setCacheSettings({"", ""});
    uintx::DeviceWeight w(q);
    CHECK(gridOfOneCall(w, key.N, key.K) == std::pair<int, int>(int(key.N / tableBlockN), tableSplit));
  } else if (which == 1) {
    // A user cache entry wins over the table.
    REQUIRE(tableBlockN != 64);
    useUserCacheWith(key, gemvConfig(64), "user_configs.json");
    uintx::DeviceWeight w(q);
    CHECK(gridOfOneCall(w, key.N, key.K) == std::pair<int, int>(int(key.N / 64), 1));
    uintx::setCacheSettings({"", ""});
  } else if (which == 3) {
    // A config the GEMV cannot run (a hand-edited file): reported and passed over, the
    // table's config runs, and the call does not fail.
    const uintx::cache::KernelConfig bad = gemvConfig(48);
    REQUIRE(!uintx::kernels::configError(key.family, uintx::kernels::quantSpecOf(q.format()), bad).empty());
    useUserCacheWith(key, bad, "bad_user_configs.json");
    uintx::DeviceWeight w(q);
    CHECK(gridOfOneCall(w, key.N, key.K) == std::pair<int, int>(int(key.N / tableBlockN), tableSplit));
    uintx::setCacheSettings({"", ""});
  } else {
    // Tables switched off: the cost model's default (it must differ from the table's to show).
    REQUIRE((model.blockN != tableBlockN || model.splitK != tableSplit));
    setenv("UINTX_SHIPPED_TABLES", "0", 1);
    uintx::setCacheSettings({"", ""});
    uintx::DeviceWeight w(q);
    CHECK(gridOfOneCall(w, key.N, key.K) ==
          std::pair<int, int>(int((key.N + model.blockN - 1) / model.blockN), model.splitK));
    unsetenv("UINTX_SHIPPED_TABLES");
  }
}

// A user cache entry that passes every check on its fields but cannot be built (its rings need
// far more shared memory than the GPU has): the call reports it and runs the default config,
// rather than failing. Read from the GEMM's grid (N / BLOCK_N programs along x).
TEST_CASE("a tuned GEMM config that fails to build is passed over for the default") {
  const int64_t N = 1536, K = 2048, M = 256;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  std::vector<float> weights(size_t(N * K));
  for (float& v : weights) v = normal(rng);
  const uintx::QuantizedWeight q = uintx::quantize(weights.data(), N, K, {.bit_width = 4, .group_size = 128});
  const uintx::kernels::QuantSpec spec = uintx::kernels::quantSpecOf(q.format());
  uintx::cache::KernelKey key;
  key.family = uintx::cache::KernelFamily::gemm;
  key.bit_width = 4, key.group_size = 128, key.packing_bitwidth = 32, key.N = N, key.K = K;
  key.act_dtype = "bf16", key.out_dtype = "bf16", key.m_bucket = uintx::cache::KernelKey::mBucket(M);
  REQUIRE(h200().entries.count(key.toString()) == 0);
  uintx::cache::KernelConfig bad;
  bad.params = {{"BLOCK_M", 128}, {"BLOCK_N", 256}, {"BLOCK_K", 256}, {"num_warps", 8}, {"num_stages", 8}, {"split_k", 1}};
  REQUIRE(uintx::kernels::configError(key.family, spec, bad).empty());
  useUserCacheWith(key, bad, "unbuildable_configs.json");
  const uintx::cache::KernelConfig fallback = uintx::kernels::defaultConfig(key.family, spec, key.m_bucket, h200().model);
  const int64_t blockN = configValue(fallback, "BLOCK_N");
  REQUIRE(blockN != 256);
  uintx::DeviceWeight w(q);
  uintx::runtime::DeviceBuffer x(M * K * 2), y(M * N * 2);
  queryFake<int>("fakeResetFirstGrid");
  CHECK_NOTHROW(uintx::linear({reinterpret_cast<void*>(x.get()), M, K, uintx::ScalarType::bf16}, w,
                              {reinterpret_cast<void*>(y.get()), M, N, uintx::ScalarType::bf16}));
  CHECK(queryFake<int>("fakeFirstGridX") == int((N + blockN - 1) / blockN));
  uintx::setCacheSettings({"", ""});
}

// A shape that already ran keeps no config of older settings: pointing the library at a user
// cache after the first call of a key takes effect at its next call (the plan made under the
// old settings was kept for the process, so the new cache's entry was silently never used).
TEST_CASE("setCacheSettings after a key's first call takes effect at its next call") {
  const TabledKey tabled = tabledGemvKey(4);
  const uintx::cache::KernelKey& key = tabled.key;
  const int tableBlockN = int(configValue(tabled.config, "BLOCK_N"));
  const int tableSplit = int(configValue(tabled.config, "split_k"));
  REQUIRE(tableBlockN != 64);
  uintx::setCacheSettings({"", ""});
  uintx::DeviceWeight w(weightFor(key));
  CHECK(gridOfOneCall(w, key.N, key.K) == std::pair<int, int>(int(key.N / tableBlockN), tableSplit));
  useUserCacheWith(key, gemvConfig(64), "late_user_configs.json");
  CHECK(gridOfOneCall(w, key.N, key.K) == std::pair<int, int>(int(key.N / 64), 1));
  uintx::setCacheSettings({"", ""});  // and back: the table's config again
  CHECK(gridOfOneCall(w, key.N, key.K) == std::pair<int, int>(int(key.N / tableBlockN), tableSplit));
}
