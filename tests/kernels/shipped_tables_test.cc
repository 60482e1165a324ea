// The per-GPU tables built into the library (tables/*.json): each parses, names its GPU
// exactly, and holds only configs its kernels accept; a malformed table is refused with its
// file named; $UINTX_SHIPPED_TABLES=0 switches them off.
#include <doctest/doctest.h>

#include <cstdlib>

#include "cache/env_integer.h"
#include "cache/gpu_tables.h"
#include "kernels/common/quant_spec.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemv/config_space.h"
#include "kernels/gemv/gemv.h"
#include "uintx/error.h"

using namespace uintx;

TEST_CASE("every shipped table parses and holds only configs its kernels accept") {
  REQUIRE(cache::shippedTables().size() >= 2);
  for (const cache::ShippedTable& t : cache::shippedTables()) {
    INFO(t.file);
    CHECK(!t.gpu.name.empty());
    CHECK(t.model.smCount > 0);
    CHECK(t.model.copyBytesPerUs > 0);
    for (const auto& [text, entry] : t.entries) {
      INFO(text);
      const cache::KernelKey key = cache::KernelKey::parse(text);
      const kernels::QuantSpec q = kernels::quantSpecOf(kernels::weightFormatOf(key));
      if (kernels::isGemvFamily(key.family)) {
        CHECK_NOTHROW(kernels::validateGemvConfig(q, kernels::gemvConfigFrom(entry.config)));
      } else {
        CHECK_NOTHROW(kernels::validateGemmConfig(q, kernels::gemmConfigFrom(entry.config),
                                                  key.family == cache::KernelFamily::gemm_int8));
      }
    }
  }
}

TEST_CASE("a table is found by its GPU's exact name and compute capability") {
  const cache::ShippedTable* h200 = cache::shippedTableFor("NVIDIA H200", "9.0");
  REQUIRE(h200 != nullptr);
  CHECK(h200->model.copyBytesPerUs == doctest::Approx(4.25e6));
  CHECK(!h200->entries.empty());
  CHECK(cache::shippedTableFor("NVIDIA H200", "8.0") == nullptr);
  CHECK(cache::shippedTableFor("NVIDIA H200 NVL", "9.0") == nullptr);
  CHECK(cache::shippedTableFor("Fake GPU", "9.0") == nullptr);
  setenv("UINTX_SHIPPED_TABLES", "0", 1);
  CHECK(cache::shippedTableFor("NVIDIA H200", "9.0") == nullptr);
  setenv("UINTX_SHIPPED_TABLES", "1", 1);
  CHECK(cache::shippedTableFor("NVIDIA H200", "9.0") == h200);
  // "off" or "false" used to leave the tables on without a word: now an error naming the
  // variable and what it takes.
  for (const char* junk : {"off", "false", "00x", "2", " 0"}) {
    CAPTURE(junk);
    setenv("UINTX_SHIPPED_TABLES", junk, 1);
    const std::string expected = "UINTX_SHIPPED_TABLES='" + std::string(junk) + "' is not an integer in 0..1";
    CHECK_THROWS_WITH_AS(cache::shippedTableFor("NVIDIA H200", "9.0"), doctest::Contains(expected.c_str()), Error);
  }
  unsetenv("UINTX_SHIPPED_TABLES");
}

TEST_CASE("the library's integer switches are read strictly") {
  const char* name = "UINTX_TEST_SWITCH";
  unsetenv(name);
  CHECK(!cache::envInteger(name, 1, 100).has_value());
  setenv(name, "", 1);
  CHECK(!cache::envInteger(name, 1, 100).has_value());
  setenv(name, "64", 1);
  CHECK(cache::envInteger(name, 1, 100) == 64);
  // UINTX_GEMM_MIN_M=1e3 was read as 1 (atoll stops at 'e'); 2^64 and more saturated.
  for (const char* junk : {"1e3", "2x", "-5", "+5", "0", "101", "99999999999999999999", "\x1b[2J"}) {
    CAPTURE(junk);
    setenv(name, junk, 1);
    CHECK_THROWS_WITH_AS(cache::envInteger(name, 1, 100), doctest::Contains("is not an integer in 1..100"), Error);
  }
  // The value is quoted escaped: it cannot drive the terminal that prints the message.
  setenv(name, "\x1b]0;title\x07", 1);
  try {
    (void)cache::envInteger(name, 1, 100);
    FAIL("accepted a terminal escape");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find('\x1b') == std::string::npos);
    CHECK(std::string(e.what()).find("\\x1b") != std::string::npos);
  }
  unsetenv(name);
}

TEST_CASE("the cost model's constants come from the GPU's table, with the device's SM count") {
  const cache::ShippedTable* h200 = cache::shippedTableFor("NVIDIA H200", "9.0");
  REQUIRE(h200 != nullptr);
  cache::GpuModel m = cache::gpuModelFor("NVIDIA H200", "9.0", 114);  // e.g. a partitioned GPU
  CHECK(m.smCount == 114);
  CHECK(m.copyBytesPerUs == h200->model.copyBytesPerUs);
  CHECK(m.memLatencyUs == h200->model.memLatencyUs);
  cache::GpuModel other = cache::gpuModelFor("Fake GPU", "9.0", 20);
  CHECK(other.smCount == 20);
  CHECK(other.copyBytesPerUs == cache::genericGpuModel(20).copyBytesPerUs);
  // Switching the tables off drops their entries, not the constants the defaults are computed
  // with: that is how the cost model's choices are measured.
  setenv("UINTX_SHIPPED_TABLES", "0", 1);
  const cache::GpuModel off = cache::gpuModelFor("NVIDIA H200", "9.0", 132);
  unsetenv("UINTX_SHIPPED_TABLES");
  CHECK(off.copyBytesPerUs == h200->model.copyBytesPerUs);
  CHECK(off.tensorFlopsPerUs == h200->model.tensorFlopsPerUs);
  CHECK(h200->model.copyBytesPerUs != cache::genericGpuModel(132).copyBytesPerUs);  // the test can tell them apart
}

TEST_CASE("a malformed table names its file and the problem") {
  const std::string head = R"({"schema_version": 1, "gpu": {"name": "G", "compute_capability": "9.0"}, "entries": {})";
  const std::string model =
      R"("sm_count": 132, "copy_tb_per_s": 3, "memory_latency_us": 0.5, "launch_us": 3, "split_reduce_us": 0.5, )"
      R"("step_us": 0.2, "thread_step_us": 0.0004, "registers_per_element": 1)";
  CHECK(cache::parseShippedTable("ok.json", head + R"(, "cost_model": {)" + model + "}}").model.smCount == 132);
  CHECK_THROWS_WITH_AS(cache::parseShippedTable("a.json", head + "}"), doctest::Contains("a.json: no \"cost_model\""),
                       Error);
  CHECK_THROWS_WITH_AS(cache::parseShippedTable("b.json", "{"), doctest::Contains("b.json"), Error);
  std::string negative = model;
  negative.replace(negative.find("\"launch_us\": 3"), 14, "\"launch_us\": -3");
  CHECK_THROWS_WITH_AS(cache::parseShippedTable("c.json", head + R"(, "cost_model": {)" + negative + "}}"),
                       doctest::Contains("launch_us"), Error);
  CHECK_THROWS_WITH_AS(
      cache::parseShippedTable("d.json", R"({"schema_version": 1, "gpu": {"name": "G", "compute_capability": "9.0"},)"
                                         R"( "entries": {"family=gemv;bogus": {}}, "cost_model": {)" + model + "}}"),
      doctest::Contains("d.json: bad entry"), Error);
}
