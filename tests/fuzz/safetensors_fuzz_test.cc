// Mutants of uintx safetensors files: fromSafetensors and load either return a weight that
// dequantizes or throw uintx::Error.
#include <doctest/doctest.h>

#include <cstdlib>

#include "packing/quantized_weight.h"
#include "tests/fuzz/mutator.h"
#include "uintx/error.h"

using namespace uintx;

TEST_CASE("safetensors: every mutant parses or throws uintx::Error") {
  const std::vector<std::string> seeds = {fuzz::readSeed("uint4_g32.safetensors"), fuzz::readSeed("int8.safetensors")};
  for (const std::string& seed : seeds) {
    REQUIRE(!seed.empty());
    const auto* data = reinterpret_cast<const uint8_t*>(seed.data());
    REQUIRE_NOTHROW(QuantizedWeight::fromSafetensors(data, seed.size()).dequantize());
  }
  fuzz::Mutator mutator(20240611);
  int parsed = 0, rejected = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string& seed = seeds[size_t(i) % seeds.size()];
    // A copy of exactly its size, so AddressSanitizer sees any read past the end.
    const std::string mutant = mutator.mutate(seed, seeds[size_t(i + 1) % seeds.size()]);
    std::vector<uint8_t> bytes(mutant.begin(), mutant.end());
    try {
      (void)QuantizedWeight::fromSafetensors(bytes.data(), bytes.size()).dequantize();
      ++parsed;
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL("mutant " << i << " threw a non-uintx exception: " << e.what());
    }
  }
  MESSAGE("safetensors mutants: " << parsed << " parsed, " << rejected << " rejected");
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}

TEST_CASE("safetensors: load of a mutated file parses or throws uintx::Error") {
  const std::string seed = fuzz::readSeed("uint4_g32.safetensors");
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(base ? base : "/tmp") + "/fuzz.safetensors";
  fuzz::Mutator mutator(7);
  int parsed = 0, rejected = 0;
  for (int i = 0; i < 300; ++i) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << mutator.mutate(seed, seed);
    try {
      (void)QuantizedWeight::load(path);
      ++parsed;
    } catch (const Error&) {
      ++rejected;
    } catch (const std::exception& e) {
      FAIL("mutant " << i << " threw a non-uintx exception: " << e.what());
    }
  }
  CHECK(parsed + rejected == 300);
  CHECK(rejected > 0);
}
