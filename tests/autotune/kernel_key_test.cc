#include <doctest/doctest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "cache/kernel_key.h"
#include "uintx/error.h"

using namespace uintx;

namespace {

// Reference: the smallest power of two >= M by repeated doubling in int64, then the cap.
int64_t referenceBucket(int64_t m) {
  int64_t p = 1;
  while (p < m) p <<= 1;
  return p > 4096 ? 4096 : p;
}

cache::KernelKey randomKey(std::mt19937_64& rng) {
  static const char* families[] = {"gemv", "gemv_tiled", "gemm", "gemm_int8"};
  static const char* dtypes[] = {"bf16", "fp16"};
  cache::KernelKey key;
  key.family = *cache::parseFamily(families[rng() % 4]);
  key.bit_width = 1 + rng() % 8;
  key.group_size = 1 << (rng() % 9);
  key.packing_bitwidth = 8 << (rng() % 3);
  key.act_dtype = dtypes[rng() % 2];
  key.out_dtype = dtypes[rng() % 2];
  key.N = 1 + rng() % 100000;
  key.K = 1 + rng() % 100000;
  key.m_bucket = cache::KernelKey::mBucket(1 + rng() % 10000);
  return key;
}

}  // namespace

TEST_CASE("mBucket is the next power of two, capped at 4096") {
  CHECK(cache::KernelKey::mBucket(1) == 1);
  CHECK(cache::KernelKey::mBucket(3) == 4);
  CHECK(cache::KernelKey::mBucket(2048) == 2048);
  CHECK(cache::KernelKey::mBucket(2049) == 4096);
  CHECK(cache::KernelKey::mBucket(1'000'000) == 4096);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    int64_t m = 1 + static_cast<int64_t>(rng() % 20000);
    REQUIRE(cache::KernelKey::mBucket(m) == referenceBucket(m));
  }
  for (int64_t m = 1; m <= 5000; ++m) REQUIRE(cache::KernelKey::mBucket(m) == referenceBucket(m));
  CHECK_THROWS_AS(cache::KernelKey::mBucket(0), uintx::Error);
  CHECK_THROWS_AS(cache::KernelKey::mBucket(-5), uintx::Error);
}

TEST_CASE("key string form is the documented one and round-trips") {
  cache::KernelKey key{cache::KernelFamily::gemv, 4, 128, 32, "bf16", "fp16", 14336, 4096, 16};
  CHECK(key.toString() == "family=gemv;bits=4;group=128;pack=32;act=bf16;out=fp16;N=14336;K=4096;M=16");
  CHECK(cache::KernelKey::parse(key.toString()) == key);

  std::mt19937_64 rng(42);
  for (int i = 0; i < 500; ++i) {
    cache::KernelKey k = randomKey(rng);
    cache::KernelKey back = cache::KernelKey::parse(k.toString());
    REQUIRE(back == k);
    REQUIRE(back.toString() == k.toString());
  }
}

TEST_CASE("distinct keys have distinct strings") {
  cache::KernelKey base{cache::KernelFamily::gemv, 4, 128, 32, "bf16", "bf16", 4096, 4096, 1};
  std::vector<cache::KernelKey> variants(9, base);
  variants[0].family = cache::KernelFamily::gemm;
  variants[1].bit_width = 3;
  variants[2].group_size = 64;
  variants[3].packing_bitwidth = 8;
  variants[4].act_dtype = "fp16";
  variants[5].out_dtype = "fp16";
  variants[6].N = 4097;
  variants[7].K = 4095;
  variants[8].m_bucket = 2;
  for (const auto& v : variants) CHECK(v.toString() != base.toString());
}

TEST_CASE("malformed key strings are rejected with the field named") {
  auto message = [](const std::string& text) {
    try {
      cache::KernelKey::parse(text);
    } catch (const uintx::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string good = "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=16";
  CHECK(message(good) == "no error");
  CHECK(message("family=gemv;bits=x;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=16")
            .find("'bits'") != std::string::npos);
  CHECK(message("family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=3")
            .find("m_bucket") != std::string::npos);
  CHECK(message("family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096")
            .find("fields") != std::string::npos);
  CHECK(message("bits=4;family=gemv;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=16")
            .find("expected 'family=...'") != std::string::npos);
  CHECK(message("family=Gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=16")
            .find("family") != std::string::npos);
  CHECK(message("family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=-1;K=4096;M=16")
            .find("N -1") != std::string::npos);
  CHECK(message("").find("fields") != std::string::npos);
}

TEST_CASE("cache::KernelConfig JSON round trip and rejection of non-integers") {
  std::mt19937_64 rng(3);
  static const char* names[] = {"BLOCK_N", "BLOCK_K", "num_warps", "num_stages", "split_k"};
  for (int i = 0; i < 100; ++i) {
    cache::KernelConfig c;
    for (const char* n : names)
      if (rng() % 2) c.params[n] = static_cast<int>(rng() % 1024) - 16;
    nlohmann::json j = nlohmann::json::parse(c.toJson().dump());
    REQUIRE(cache::KernelConfig::fromJson(j) == c);
    REQUIRE(j.size() == c.params.size());
  }
  cache::KernelConfig c{{{"BLOCK_N", 128}, {"num_warps", 4}}};
  CHECK(c.toString() == "BLOCK_N=128 num_warps=4");
  CHECK_THROWS_AS(cache::KernelConfig::fromJson(nlohmann::json::parse(R"({"BLOCK_N": 1.5})")), uintx::Error);
  CHECK_THROWS_AS(cache::KernelConfig::fromJson(nlohmann::json::parse(R"({"BLOCK_N": "64"})")), uintx::Error);
  CHECK_THROWS_AS(cache::KernelConfig::fromJson(nlohmann::json::parse(R"([1,2])")), uintx::Error);
  CHECK_THROWS_AS(cache::KernelConfig::fromJson(nlohmann::json::parse(R"({"x": 99999999999})")), uintx::Error);
}

TEST_CASE("cache::KernelConfig rejects unsigned values above int range instead of wrapping them") {
  // 2^64 - 1 is an unsigned JSON number; read as int64 it would be -1.
  CHECK_THROWS_WITH_AS(cache::KernelConfig::fromJson(nlohmann::json::parse(R"({"split_k": 18446744073709551615})")),
                       doctest::Contains("parameter 'split_k' = 18446744073709551615 is out of int range"), uintx::Error);
  CHECK_THROWS_WITH_AS(cache::KernelConfig::fromJson(nlohmann::json::parse(R"({"BLOCK_N": 2147483648})")),
                       doctest::Contains("'BLOCK_N'"), uintx::Error);
  CHECK(cache::KernelConfig::fromJson(nlohmann::json::parse(R"({"a": 2147483647, "b": -2147483648})")).params ==
        std::map<std::string, int>{{"a", 2147483647}, {"b", INT32_MIN}});
}

TEST_CASE("cache::KernelConfig errors print a short escaped excerpt of the value") {
  nlohmann::json big = nlohmann::json::array();
  for (int i = 0; i < 10000; ++i) big.push_back("\x1b[2J");
  try {
    (void)cache::KernelConfig::fromJson(nlohmann::json{{"BLOCK_N", big}});
    FAIL("a non-integer parameter was accepted");
  } catch (const uintx::Error& e) {
    CHECK(std::string(e.what()).size() < 200);
    CHECK(std::string(e.what()).find('\x1b') == std::string::npos);
  }
}
