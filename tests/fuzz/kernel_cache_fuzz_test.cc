// Mutants of a compiled-kernel cache entry: load returns the payload or a miss, never throws.
#include <doctest/doctest.h>

#include "cache/kernel_disk_cache.h"
#include "tests/autotune/temp_dir.h"
#include "tests/fuzz/mutator.h"
#include "uintx/error.h"

using namespace uintx;

TEST_CASE("kernel cache: every mutated entry is a hit or a miss, nothing else") {
  const std::string seed = fuzz::readSeed("kernel_entry.ptx");
  autotune::testing::TempDir dir;
  cache::KernelDiskCache cache(dir.path(), "uintx-fuzz 1", [](const std::string&) {});
  const std::string key = cache::KernelDiskCache::makeKey("fuzz", "uintx-fuzz 1", "sm_90a");
  REQUIRE(cache.store(key, "placeholder"));  // creates the shard directory
  const std::string path = cache.entryPath(key);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << seed;
  REQUIRE(cache.load(key).has_value());
  fuzz::Mutator mutator(271828);
  int hits = 0, misses = 0;
  for (int i = 0; i < 2000; ++i) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << mutator.mutate(seed, seed);
    try {
      (cache.load(key) ? hits : misses)++;
    } catch (const std::exception& e) {
      FAIL("mutant " << i << " threw: " << e.what());
    }
  }
  MESSAGE("kernel-cache mutants: " << hits << " hits, " << misses << " misses");
  CHECK(misses > 0);
  CHECK(hits + misses == 2000);
}
