// Mutants of a config-cache file: readConfigCacheFile never throws for contents (only for an
// unreadable file), and a ConfigCache over the file never throws at all.
#include <doctest/doctest.h>

#include <cstdlib>

#include "cache/config_cache.h"
#include "tests/fuzz/mutator.h"
#include "uintx/error.h"

using namespace uintx;

TEST_CASE("config cache: every mutant is read or reported, never thrown or crashed") {
  const std::string seed = fuzz::readSeed("configs.json");
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(base ? base : "/tmp") + "/fuzz_configs.json";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << seed;
  REQUIRE(cache::readConfigCacheFile(path).entries.size() == 2);
  fuzz::Mutator mutator(314159);
  int ok = 0, unusable = 0;
  for (int i = 0; i < 2000; ++i) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << mutator.mutate(seed, seed);
    try {
      cache::CacheFileContents contents = cache::readConfigCacheFile(path);
      (contents.status == cache::CacheFileContents::Status::kOk ? ok : unusable)++;
      cache::ConfigCache cache(path, "NVIDIA H100 80GB HBM3", "9.0", [](const std::string&) {});
      for (const auto& [key, entry] : cache.entries()) (void)entry.config.toString();
    } catch (const std::exception& e) {
      FAIL("mutant " << i << " threw: " << e.what());
    }
  }
  MESSAGE("config-cache mutants: " << ok << " usable, " << unusable << " unusable");
  CHECK(ok > 0);
  CHECK(unusable > 0);
}
