#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <optional>
#include <sstream>
#include <thread>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cache/cache_paths.h"
#include "cache/config_cache.h"
#include "tests/autotune/temp_dir.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::autotune;
using uintx::autotune::testing::TempDir;
using json = nlohmann::json;

namespace {

const char* kGpu = "NVIDIA H100 80GB HBM3";
const char* kCc = "9.0";

cache::KernelKey keyFor(const std::string& family, int64_t n, int m = 1) {
  return cache::KernelKey{*cache::parseFamily(family), 4, 128, 32, "bf16", "bf16", n, 4096, cache::KernelKey::mBucket(m)};
}

cache::KernelConfig configFor(int seed) {
  return cache::KernelConfig{{{"BLOCK_N", 16 << (seed % 4)}, {"num_warps", 1 + seed % 8}, {"seed", seed}}};
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Reports {
  std::vector<std::string> messages;
  cache::CacheWarningFn fn() {
    return [this](const std::string& m) { messages.push_back(m); };
  }
};

// A valid file written by hand (an independent reference for the schema).
std::string handWrittenCache(const std::string& gpu, const std::string& cc, int version = 1) {
  return R"({"schema_version": )" + std::to_string(version) + R"(, "gpu": {"name": ")" + gpu +
         R"(", "compute_capability": ")" + cc + R"("}, "entries": {
    "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=1":
      {"config": {"BLOCK_N": 64, "num_warps": 4}, "time_us": 12.5, "tuned_at": "2026-11-24T10:00:00Z"}}})";
}

}  // namespace

TEST_CASE("missing file is an empty cache, with no report") {
  TempDir dir;
  Reports reports;
  cache::ConfigCache cache(dir.file("none.json"), kGpu, kCc, reports.fn());
  CHECK(cache.entries().empty());
  CHECK(!cache.lookup(keyFor("gemv", 4096)));
  CHECK(reports.messages.empty());
}

TEST_CASE("round trip: what one process saves, a fresh one finds") {
  TempDir dir;
  const std::string path = dir.file("sub/dir/cfg.json");  // parent directories are created
  std::mt19937 rng(11);
  std::map<std::string, std::pair<cache::KernelConfig, double>> expected;
  {
    cache::ConfigCache cache(path, kGpu, kCc);
    for (int i = 0; i < 40; ++i) {
      cache::KernelKey key = keyFor(i % 2 ? "gemv" : "gemm", 1 + rng() % 20000, 1 + rng() % 5000);
      cache::KernelConfig config = configFor(static_cast<int>(rng() % 1000));
      double t = (rng() % 100000) / 7.0;
      cache.insert(key, config, t);
      expected[key.toString()] = {config, t};
    }
    cache.save();
  }
  cache::ConfigCache again(path, kGpu, kCc);
  REQUIRE(again.entries().size() == expected.size());
  for (const auto& [text, want] : expected) {
    auto entry = again.lookupEntry(cache::KernelKey::parse(text));
    REQUIRE(entry);
    CHECK(entry->config == want.first);
    CHECK(entry->time_us == doctest::Approx(want.second).epsilon(1e-12));
    CHECK(entry->tuned_at.size() == 20);  // YYYY-MM-DDTHH:MM:SSZ
    CHECK(entry->tuned_at.back() == 'Z');
  }
  // The file follows the documented schema.
  json doc = json::parse(readText(path));
  CHECK(doc["schema_version"] == 1);
  CHECK(doc["gpu"]["name"] == kGpu);
  CHECK(doc["gpu"]["compute_capability"] == kCc);
  CHECK(doc["entries"].size() == expected.size());
  // No temp files left behind.
  int others = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path() + "/sub/dir"))
    if (e.path().filename() != "cfg.json" && e.path().filename() != "cfg.json.lock") ++others;
  CHECK(others == 0);
}

TEST_CASE("a hand-written file is read") {
  TempDir dir;
  writeText(dir.file("cfg.json"), handWrittenCache(kGpu, kCc));
  Reports reports;
  cache::ConfigCache cache(dir.file("cfg.json"), kGpu, kCc, reports.fn());
  auto config = cache.lookup(cache::KernelKey{cache::KernelFamily::gemv, 4, 128, 32, "bf16", "bf16", 4096, 4096, 1});
  REQUIRE(config);
  CHECK(config->params == std::map<std::string, int>{{"BLOCK_N", 64}, {"num_warps", 4}});
  CHECK(reports.messages.empty());
}

TEST_CASE("merge: two caches saved one after the other keep both sets; own inserts win") {
  TempDir dir;
  const std::string path = dir.file("cfg.json");
  cache::ConfigCache a(path, kGpu, kCc);
  cache::ConfigCache b(path, kGpu, kCc);  // both start from the same (empty) file
  const cache::KernelKey shared = keyFor("gemv", 777);
  for (int i = 0; i < 10; ++i) a.insert(keyFor("gemv", 100 + i), configFor(i), i);
  for (int i = 0; i < 10; ++i) b.insert(keyFor("gemm", 200 + i), configFor(50 + i), i);
  a.insert(shared, configFor(1), 1.0);
  b.insert(shared, configFor(2), 2.0);
  a.save();
  b.save();  // b set `shared` itself, so b's value wins; a's other keys are kept
  cache::ConfigCache fresh(path, kGpu, kCc);
  CHECK(fresh.entries().size() == 21);
  for (int i = 0; i < 10; ++i) {
    CHECK(fresh.lookup(keyFor("gemv", 100 + i)) == configFor(i));
    CHECK(fresh.lookup(keyFor("gemm", 200 + i)) == configFor(50 + i));
  }
  CHECK(fresh.lookup(shared) == configFor(2));
  // b now also sees a's entries in memory (merged on save).
  CHECK(b.entries().size() == 21);
  // a saves again with a new key; b's newer value for `shared` is not overwritten by a's
  // older one, because a has not set it since its last save.
  a.insert(keyFor("gemv", 999), configFor(9), 9.0);
  a.save();
  cache::ConfigCache fresh2(path, kGpu, kCc);
  CHECK(fresh2.entries().size() == 22);
  CHECK(fresh2.lookup(shared) == configFor(2));
}

TEST_CASE("two concurrent writer processes lose nothing") {
  TempDir dir;
  const std::string path = dir.file("cfg.json");
  int startPipe[2];
  REQUIRE(::pipe(startPipe) == 0);
  pid_t children[2];
  for (int c = 0; c < 2; ++c) {
    children[c] = ::fork();
    REQUIRE(children[c] >= 0);
    if (children[c] == 0) {
      ::close(startPipe[1]);
      char byte;
      (void)!::read(startPipe[0], &byte, 1);  // wait until both children exist
      int status = 0;
      try {
        cache::ConfigCache cache(path, kGpu, kCc, [](const std::string&) {});
        for (int i = 0; i < 50; ++i) {
          cache.insert(keyFor(c == 0 ? "gemv" : "gemm", 1000 * (c + 1) + i), configFor(i), i);
          cache.save();
        }
      } catch (...) {
        status = 1;
      }
      ::_exit(status);
    }
  }
  ::close(startPipe[0]);
  ::close(startPipe[1]);  // EOF releases both children at once
  for (pid_t child : children) {
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  cache::CacheFileContents contents = cache::readConfigCacheFile(path);
  REQUIRE(contents.status == cache::CacheFileContents::Status::kOk);
  CHECK(contents.entries.size() == 100);
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 50; ++i) {
      auto it = contents.entries.find(keyFor(c == 0 ? "gemv" : "gemm", 1000 * (c + 1) + i).toString());
      REQUIRE(it != contents.entries.end());
      CHECK(it->second.config == configFor(i));
    }
}

TEST_CASE("corrupt and truncated files are reported once, ignored, and backed up on save") {
  TempDir dir;
  const std::string valid = handWrittenCache(kGpu, kCc);
  struct Case {
    std::string name, text, reason;
  };
  std::vector<Case> cases = {
      {"truncated", valid.substr(0, valid.size() / 2), "not valid JSON"},
      {"garbage", "\x01\x02 not json at all", "not valid JSON"},
      {"empty", "", "empty"},
      {"array", "[1, 2, 3]", "not a JSON object"},
      {"no_version", R"({"gpu": {}, "entries": {}})", "schema_version"},
      {"no_entries", R"({"schema_version": 1, "gpu": {"name": "x", "compute_capability": "9.0"}})",
       "\"entries\""},
      // nlohmann's parser stops at a NUL: what follows would be ignored, not refused.
      {"nul", valid + std::string(1, '\0') + "not json {{{", "NUL byte"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string path = dir.file(c.name + ".json");
    writeText(path, c.text);
    Reports reports;
    cache::ConfigCache cache(path, kGpu, kCc, reports.fn());
    CHECK(cache.entries().empty());
    REQUIRE(reports.messages.size() == 1);
    CHECK(reports.messages[0].find(path) != std::string::npos);
    CHECK(reports.messages[0].find(c.reason) != std::string::npos);
    // Saving re-reads the same bad file: not reported again; the file is kept as .corrupt.
    cache.insert(keyFor("gemv", 4096), configFor(3), 3.0);
    cache.save();
    CHECK(reports.messages.size() == 1);
    CHECK(readText(path + ".corrupt") == c.text);
    cache::ConfigCache fresh(path, kGpu, kCc, reports.fn());
    CHECK(fresh.lookup(keyFor("gemv", 4096)) == configFor(3));
    CHECK(reports.messages.size() == 1);
  }
}

TEST_CASE("foreign-GPU and other-version files are reported and ignored") {
  TempDir dir;
  struct Case {
    std::string name, text;
    std::vector<std::string> reasonParts;
    std::string backupSuffix;  // one per foreign GPU model or schema version
  };
  std::vector<Case> cases = {
      {"other_gpu", handWrittenCache("NVIDIA A100-SXM4-80GB", "8.0"),
       {"NVIDIA A100-SXM4-80GB", "8.0", kGpu}, ".foreign-nvidia-a100-sxm4-80gb-sm80"},
      {"other_cc", handWrittenCache(kGpu, "9.1"), {"9.1"}, ".foreign-nvidia-h100-80gb-hbm3-sm91"},
      {"other_version", handWrittenCache(kGpu, kCc, 2), {"schema_version 2"}, ".foreign-schema2"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string path = dir.file(c.name + ".json");
    writeText(path, c.text);
    Reports reports;
    cache::ConfigCache cache(path, kGpu, kCc, reports.fn());
    CHECK(cache.entries().empty());
    REQUIRE(reports.messages.size() == 1);
    CHECK(reports.messages[0].find(path) != std::string::npos);
    for (const auto& part : c.reasonParts) CHECK(reports.messages[0].find(part) != std::string::npos);
    // Nothing inserted: save leaves the other GPU's file untouched.
    cache.save();
    CHECK(readText(path) == c.text);
    cache.insert(keyFor("gemv", 4096), configFor(3), 3.0);
    cache.save();
    CHECK(reports.messages.size() == 1);
    CHECK(readText(path + c.backupSuffix) == c.text);
    CHECK(cache::readConfigCacheFile(path).gpu.name == kGpu);
  }
}

TEST_CASE("a bad entry is skipped and reported; the good ones are kept") {
  TempDir dir;
  const std::string path = dir.file("cfg.json");
  writeText(path, R"({"schema_version": 1, "gpu": {"name": "G", "compute_capability": "9.0"},
    "entries": {
      "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=1":
        {"config": {"BLOCK_N": 64}, "time_us": 1.0},
      "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=3":
        {"config": {"BLOCK_N": 64}, "time_us": 1.0},
      "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=2":
        {"config": {"BLOCK_N": "big"}, "time_us": 1.0},
      "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=4":
        {"config": {"BLOCK_N": 64}, "time_us": -1},
      "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=8":
        {"config": {"\u001b]0;title\u0007": 1}, "time_us": 1.0}
    }})");
  Reports reports;
  cache::ConfigCache cache(path, "G", "9.0", reports.fn());
  CHECK(cache.entries().size() == 1);
  REQUIRE(reports.messages.size() == 4);
  // A parameter name is an identifier: one with a terminal escape is a bad entry, reported
  // with the escape spelled out.
  CHECK(reports.messages[3].find("M=8") != std::string::npos);
  CHECK(reports.messages[3].find("[A-Za-z0-9_]") != std::string::npos);
  CHECK(reports.messages[3].find('\x1b') == std::string::npos);
  CHECK(reports.messages[0].find("M=2") != std::string::npos);
  CHECK(reports.messages[0].find("BLOCK_N") != std::string::npos);
  CHECK(reports.messages[1].find("M=3") != std::string::npos);
  CHECK(reports.messages[2].find("time_us") != std::string::npos);
}

TEST_CASE("an unreadable path is reported, never thrown, at load") {
  TempDir dir;
  Reports reports;
  cache::ConfigCache cache(dir.path(), kGpu, kCc, reports.fn());  // a directory, not a file
  CHECK(cache.entries().empty());
  REQUIRE(reports.messages.size() == 1);
  CHECK(reports.messages[0].find(dir.path()) != std::string::npos);
}

TEST_CASE("insert rejects a bad time") {
  TempDir dir;
  cache::ConfigCache cache(dir.file("c.json"), kGpu, kCc);
  CHECK_THROWS_AS(cache.insert(keyFor("gemv", 1), configFor(1), -1.0), uintx::Error);
  CHECK_THROWS_AS(cache.insert(keyFor("gemv", 1), configFor(1), std::nan("")), uintx::Error);
}

TEST_CASE("save refuses a lock file that is a symlink and never creates its target") {
  TempDir dir;
  const std::string path = dir.file("cfg.json"), target = dir.file("victim");
  REQUIRE(::symlink(target.c_str(), (path + ".lock").c_str()) == 0);
  cache::ConfigCache cache(path, kGpu, kCc);
  cache.insert(keyFor("gemv", 4096), configFor(1), 1.0);
  CHECK_THROWS_AS(cache.save(), uintx::Error);
  CHECK(::access(target.c_str(), F_OK) != 0);
}

TEST_CASE("an entry nested 200k deep is a skipped entry or a corrupt file, never a crash") {
  TempDir dir;
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const std::string key = "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=1";
  for (const std::string& where : {R"({"config": )" + deep + R"(, "time_us": 1.0})",
                                   R"({"config": {"BLOCK_N": )" + deep + R"(}, "time_us": 1.0})"}) {
    const std::string path = dir.file("deep.json");
    writeText(path, R"({"schema_version": 1, "gpu": {"name": "G", "compute_capability": "9.0"}, "entries": {")" +
                        key + "\": " + where + "}}");
    cache::CacheFileContents contents = cache::readConfigCacheFile(path);
    CHECK(contents.entries.empty());
    CHECK(contents.status == cache::CacheFileContents::Status::kCorrupt);
    CHECK(contents.problem.find("nested deeper than") != std::string::npos);
    Reports reports;
    cache::ConfigCache cache(path, "G", "9.0", reports.fn());
    CHECK(cache.entries().empty());
    REQUIRE(reports.messages.size() == 1);
    CHECK(reports.messages[0].size() < 400);
  }
}

TEST_CASE("integers out of range are rejected by key, never narrowed") {
  TempDir dir;
  const std::string path = dir.file("range.json");
  writeText(path, handWrittenCache(kGpu, kCc, 1).replace(std::string(R"({"schema_version": 1)").size() - 1, 1, "4294967297"));
  cache::CacheFileContents contents = cache::readConfigCacheFile(path);
  CHECK(contents.status != cache::CacheFileContents::Status::kOk);
  CHECK(contents.schema_version != 1);
  CHECK(contents.problem.find("schema_version") != std::string::npos);
  CHECK(contents.problem.find("4294967297") != std::string::npos);

  writeText(path, R"({"schema_version": 1, "gpu": {"name": "G", "compute_capability": "9.0"}, "entries": {
      "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=1":
        {"config": {"BLOCK_N": 18446744073709551615}, "time_us": 1.0}}})");
  contents = cache::readConfigCacheFile(path);
  CHECK(contents.status == cache::CacheFileContents::Status::kOk);
  CHECK(contents.entries.empty());
  REQUIRE(contents.skipped_entries.size() == 1);
  CHECK(contents.skipped_entries[0].find("'BLOCK_N'") != std::string::npos);
  CHECK(contents.skipped_entries[0].find("out of int range") != std::string::npos);
}

TEST_CASE("reports escape control characters of GPU names and keys from the file") {
  TempDir dir;
  const std::string path = dir.file("ctl.json");
  writeText(path, R"({"schema_version": 1, "gpu": {"name": "evil\u001b[2J", "compute_capability": "9.0"}, "entries": {
      "bad\u001b]0;title\u0007key": {"config": {}, "time_us": 1.0}}})");
  cache::CacheFileContents contents = cache::readConfigCacheFile(path);
  REQUIRE(contents.skipped_entries.size() == 1);
  CHECK(contents.skipped_entries[0].find('\x1b') == std::string::npos);
  CHECK(contents.skipped_entries[0].find("\\x1b]0;title\\x07key") != std::string::npos);
  Reports reports;
  cache::ConfigCache cache(path, kGpu, kCc, reports.fn());
  REQUIRE(reports.messages.size() == 1);
  CHECK(reports.messages[0].find('\x1b') == std::string::npos);
  CHECK(reports.messages[0].find("evil\\x1b[2J") != std::string::npos);
}

TEST_CASE("two GPU models sharing one config-cache file keep every entry") {
  TempDir dir;
  const std::string path = dir.file("shared.json");
  const char* other = "NVIDIA A100-SXM4-80GB";
  auto saveOne = [&](const char* gpu, const char* cc, int64_t n) {
    cache::ConfigCache cache(path, gpu, cc, [](const std::string&) {});
    cache.insert(keyFor("gemv", n), configFor(int(n)), 1.0);
    cache.save();
  };
  saveOne(kGpu, kCc, 1);
  saveOne(other, "8.0", 2);
  saveOne(kGpu, kCc, 3);  // its own earlier file is now a backup; this process knows only key 3
  saveOne(other, "8.0", 4);
  // Each GPU's last file survives under a name of its own; before, one ".foreign" held
  // whichever GPU lost last.
  const std::string h100Backup = path + ".foreign-" + cache::gpuFileLabel(kGpu, kCc);
  const std::string a100Backup = path + ".foreign-" + cache::gpuFileLabel(other, "8.0");
  CHECK(cache::readConfigCacheFile(path).gpu.name == other);
  CHECK(cache::readConfigCacheFile(path).entries.count(keyFor("gemv", 4).toString()) == 1);
  CHECK(cache::readConfigCacheFile(h100Backup).entries.count(keyFor("gemv", 3).toString()) == 1);
  CHECK(cache::readConfigCacheFile(a100Backup).entries.count(keyFor("gemv", 2).toString()) == 1);
}

TEST_CASE("the default config-cache path is one file per GPU model") {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HOME") return std::string("/h");
    return std::nullopt;
  };
  const std::string h100 = cache::defaultConfigCachePath(kGpu, kCc, env);
  const std::string a100 = cache::defaultConfigCachePath("NVIDIA A100-SXM4-80GB", "8.0", env);
  CHECK(h100 == "/h/.cache/uintx/configs-nvidia-h100-80gb-hbm3-sm90.json");
  CHECK(a100 == "/h/.cache/uintx/configs-nvidia-a100-sxm4-80gb-sm80.json");
  CHECK(cache::gpuFileLabel("../../etc/passwd\x1b", "9.0") == "etc-passwd-sm90");
  CHECK(cache::gpuFileLabel(std::string(500, 'a'), "9.0").size() <= 72);
}

// Threads of one process: two objects on one path (each save takes the file lock on a
// descriptor of its own, which excludes the other) and one object shared by two threads
// (its mutex), with lookups beside the saves. Nothing saved may be lost.
TEST_CASE("threads saving through their own and a shared cache object lose nothing") {
  TempDir dir;
  const std::string path = dir.path() + "/threads.json";
  cache::ConfigCache shared(path, kGpu, kCc, [](const std::string&) {});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      try {
        std::optional<cache::ConfigCache> own;
        if (t >= 2) own.emplace(path, kGpu, kCc, [](const std::string&) {});
        cache::ConfigCache& cache = t >= 2 ? *own : shared;
        for (int i = 0; i < 20; ++i) {
          const cache::KernelKey key = keyFor("gemv", 1000 * (t + 1) + i);
          cache.insert(key, configFor(i), i);
          cache.save();
          if (cache.lookup(key) != configFor(i)) ++failures;
        }
      } catch (...) {
        ++failures;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  cache::CacheFileContents contents = cache::readConfigCacheFile(path);
  REQUIRE(contents.status == cache::CacheFileContents::Status::kOk);
  CHECK(contents.entries.size() == 80);
}
