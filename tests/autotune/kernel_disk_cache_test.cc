#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache/atomic_file.h"
#include "cache/cache_paths.h"
#include "cache/kernel_disk_cache.h"
#include "cache/sha256.h"
#include "tests/autotune/temp_dir.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::autotune;
using uintx::autotune::testing::TempDir;

namespace {

std::string randomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("SHA-256 matches the FIPS 180-2 test vectors") {
  CHECK(cache::sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(cache::sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(cache::sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(cache::sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Streaming in uneven pieces gives the same digest as one call.
  std::mt19937_64 rng(5);
  std::string data = randomBytes(rng, 10007);
  cache::Sha256 streamed;
  for (size_t pos = 0; pos < data.size();) {
    size_t n = std::min<size_t>(1 + rng() % 130, data.size() - pos);
    streamed.update(std::string_view(data).substr(pos, n));
    pos += n;
  }
  CHECK(streamed.hexDigest() == cache::sha256Hex(data));
}

TEST_CASE("makeKey is deterministic and separates its three inputs") {
  std::string k = cache::KernelDiskCache::makeKey("module {}", "llvm-22", "sm_90a");
  CHECK(k.size() == 64);
  CHECK(k == cache::KernelDiskCache::makeKey("module {}", "llvm-22", "sm_90a"));
  CHECK(k != cache::KernelDiskCache::makeKey("module { }", "llvm-22", "sm_90a"));
  CHECK(k != cache::KernelDiskCache::makeKey("module {}", "llvm-23", "sm_90a"));
  CHECK(k != cache::KernelDiskCache::makeKey("module {}", "llvm-22", "sm_80"));
  // Moving bytes between fields changes the key (fields are length-prefixed).
  CHECK(cache::KernelDiskCache::makeKey("ab", "c", "d") != cache::KernelDiskCache::makeKey("a", "bc", "d"));
}

TEST_CASE("store then load round-trips PTX and cubin bytes") {
  TempDir dir;
  cache::KernelDiskCache cache(dir.file("kernels"), "uintx-codegen 0.1 / LLVM 22.1.8");
  std::mt19937_64 rng(9);
  for (int i = 0; i < 20; ++i) {
    std::string ir = "ir " + std::to_string(i);
    std::string key = cache::KernelDiskCache::makeKey(ir, cache.compilerVersion(), "sm_90a");
    std::string ptx = "// ptx\n.version 8.0\n" + randomBytes(rng, rng() % 5000);
    std::string cubin = randomBytes(rng, rng() % 5000);  // arbitrary binary, NULs included
    CHECK(!cache.load(key));
    REQUIRE(cache.store(key, ptx));
    REQUIRE(cache.store(key, cubin, cache::KernelArtifact::kCubin));
    CHECK(cache.load(key) == ptx);
    CHECK(cache.load(key, cache::KernelArtifact::kCubin) == cubin);
    // A second handle on the same directory (another process) sees them too.
    cache::KernelDiskCache other(dir.file("kernels"), cache.compilerVersion());
    CHECK(other.load(key) == ptx);
  }
  std::string empty = cache::KernelDiskCache::makeKey("empty", "v", "a");
  REQUIRE(cache.store(empty, ""));
  CHECK(cache.load(empty) == std::string());
}

TEST_CASE("a changed compiler version invalidates entries") {
  TempDir dir;
  cache::KernelDiskCache old(dir.path(), "llvm 22.1.8");
  cache::KernelDiskCache updated(dir.path(), "llvm 22.1.9");
  std::string key = cache::KernelDiskCache::makeKey("ir", "fixed", "sm_90a");  // same key on purpose
  REQUIRE(old.store(key, "old ptx"));
  CHECK(old.load(key) == "old ptx");
  CHECK(!updated.load(key));  // written by another compiler: a miss
  REQUIRE(updated.store(key, "new ptx"));
  CHECK(updated.load(key) == "new ptx");
  CHECK(!old.load(key));
}

TEST_CASE("truncated, damaged or garbage entries are misses, not crashes") {
  TempDir dir;
  cache::KernelDiskCache cache(dir.path(), "v1");
  std::mt19937_64 rng(21);
  std::string key = cache::KernelDiskCache::makeKey("ir", "v1", "sm_90a");
  std::string payload = randomBytes(rng, 3000);
  REQUIRE(cache.store(key, payload));
  const std::string path = cache.entryPath(key);
  const std::string full = readText(path);
  REQUIRE(full.size() > payload.size());
  // Every truncation point (sampled densely) is a miss.
  for (size_t cut = 0; cut < full.size(); cut += 1 + rng() % 37) {
    writeText(path, full.substr(0, cut));
    REQUIRE(!cache.load(key));
  }
  // A flipped byte anywhere is a miss.
  for (int i = 0; i < 200; ++i) {
    std::string damaged = full;
    damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    writeText(path, damaged);
    REQUIRE(!cache.load(key));
  }
  writeText(path, full + "x");  // overlong
  CHECK(!cache.load(key));
  writeText(path, full);
  CHECK(cache.load(key) == payload);
}

TEST_CASE("keys that are not 64 hex digits are refused") {
  TempDir dir;
  cache::KernelDiskCache cache(dir.path(), "v1");
  CHECK_THROWS_AS(cache.load("../../etc/passwd"), uintx::Error);
  CHECK_THROWS_AS(cache.store(std::string(64, 'g'), "x"), uintx::Error);
  CHECK_THROWS_AS(cache.load(std::string(63, 'a')), uintx::Error);
}

TEST_CASE("store into an unwritable place returns false") {
  TempDir dir;
  writeText(dir.file("file"), "not a directory");
  cache::KernelDiskCache cache(dir.file("file") + "/kernels", "v1");
  CHECK(!cache.store(cache::KernelDiskCache::makeKey("a", "b", "c"), "x"));
}

TEST_CASE("concurrent processes storing the same keys leave only complete entries") {
  TempDir dir;
  const std::string version = "v1";
  std::vector<std::string> keys;
  for (int i = 0; i < 20; ++i) keys.push_back(cache::KernelDiskCache::makeKey(std::to_string(i), version, "sm_90a"));
  auto payloadOf = [](int i, int writer) { return std::string(20000 + 1000 * i, char('a' + writer)); };
  pid_t pids[3];
  for (int w = 0; w < 3; ++w) {
    pids[w] = ::fork();
    REQUIRE(pids[w] >= 0);
    if (pids[w] == 0) {
      cache::KernelDiskCache cache(dir.path(), version);
      bool ok = true;
      for (int round = 0; round < 5; ++round)
        for (int i = 0; i < 20; ++i) {
          ok = ok && cache.store(keys[i], payloadOf(i, w));
          auto got = cache.load(keys[i]);  // whatever is there must be someone's whole entry
          ok = ok && got && (*got == payloadOf(i, 0) || *got == payloadOf(i, 1) || *got == payloadOf(i, 2));
        }
      ::_exit(ok ? 0 : 1);
    }
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  cache::KernelDiskCache cache(dir.path(), version);
  for (int i = 0; i < 20; ++i) {
    auto got = cache.load(keys[i]);
    REQUIRE(got);
    CHECK((*got == payloadOf(i, 0) || *got == payloadOf(i, 1) || *got == payloadOf(i, 2)));
  }
}

TEST_CASE("default directories follow the documented environment order") {
  auto envOf = [](std::map<std::string, std::string> vars) -> cache::EnvLookup {
    return [vars](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  };
  CHECK(cache::defaultKernelCacheDir(envOf({{"UINTX_KERNEL_CACHE_DIR", "/k"}, {"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}})) == "/k");
  CHECK(cache::defaultKernelCacheDir(envOf({{"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}})) == "/x/uintx/kernels");
  CHECK(cache::defaultKernelCacheDir(envOf({{"XDG_CACHE_HOME", "relative"}, {"HOME", "/h"}})) == "/h/.cache/uintx/kernels");
  CHECK(cache::defaultKernelCacheDir(envOf({{"UINTX_KERNEL_CACHE_DIR", ""}, {"HOME", "/h"}})) == "/h/.cache/uintx/kernels");
  CHECK(cache::defaultConfigCachePath("G", "9.0", envOf({{"UINTX_CONFIG_CACHE", "/c.json"}, {"HOME", "/h"}})) == "/c.json");
  CHECK(cache::defaultConfigCachePath("G", "9.0", envOf({{"XDG_CACHE_HOME", "/x"}})) == "/x/uintx/configs-g-sm90.json");
  CHECK(cache::defaultConfigCachePath("G", "9.0", envOf({{"HOME", "/h"}})) == "/h/.cache/uintx/configs-g-sm90.json");
}

namespace {
struct Warnings {
  std::vector<std::string> messages;
  cache::KernelCacheWarningFn fn() {
    return [this](const std::string& m) { messages.push_back(m); };
  }
};

// What someone else with write access does: replace the payload and recompute the checksum,
// so the file is well formed.
std::string forgedEntry(const std::string& compilerVersion, const std::string& payload) {
  return "uintx-kernel-cache 1\ncompiler " + std::to_string(compilerVersion.size()) + " " + compilerVersion +
         "\npayload " + std::to_string(payload.size()) + " " + cache::sha256Hex(payload) + "\n" + payload;
}
}  // namespace

TEST_CASE("a directory others can write is not trusted: no loads, no stores, one warning") {
  TempDir dir;
  const std::string kernels = dir.file("kernels");
  Warnings warnings;
  cache::KernelDiskCache cache(kernels, "v1", warnings.fn());
  const std::string key = cache::KernelDiskCache::makeKey("ir", "v1", "sm_90a");
  REQUIRE(cache.store(key, "good ptx"));
  REQUIRE(cache.load(key) == std::string("good ptx"));
  // Someone in the group rewrites the entry with a valid checksum.
  ::chmod(kernels.c_str(), 0775);
  writeText(cache.entryPath(key), forgedEntry("v1", "forged ptx"));
  CHECK(!cache.load(key));
  CHECK(!cache.load(key));
  CHECK(!cache.store(key, "good ptx"));
  CHECK(readText(cache.entryPath(key)) == forgedEntry("v1", "forged ptx"));  // not written into
  REQUIRE(warnings.messages.size() == 1);
  CHECK(warnings.messages[0].find(kernels) != std::string::npos);
  CHECK(warnings.messages[0].find("writable by group or others") != std::string::npos);
  // A shard directory others can write is refused the same way.
  ::chmod(kernels.c_str(), 0700);
  CHECK(cache.load(key) == std::string("forged ptx"));  // the owner's own directory again
  const std::string shard = kernels + "/" + key.substr(0, 2);
  ::chmod(shard.c_str(), 0777);
  CHECK(!cache.load(key));
}

TEST_CASE("entries others can write, symlinked entries and directories, and foreign owners are misses") {
  TempDir dir;
  const std::string kernels = dir.file("kernels");
  cache::KernelDiskCache cache(kernels, "v1", [](const std::string&) {});
  const std::string key = cache::KernelDiskCache::makeKey("ir", "v1", "sm_90a");
  REQUIRE(cache.store(key, "good ptx"));
  const std::string entry = cache.entryPath(key);
  ::chmod(entry.c_str(), 0666);
  CHECK(!cache.load(key));
  ::chmod(entry.c_str(), 0644);
  CHECK(cache.load(key) == std::string("good ptx"));
  // An entry that is a link to a file elsewhere.
  const std::string elsewhere = dir.file("elsewhere");
  writeText(elsewhere, forgedEntry("v1", "forged ptx"));
  ::chmod(elsewhere.c_str(), 0644);
  REQUIRE(::unlink(entry.c_str()) == 0);
  REQUIRE(::symlink(elsewhere.c_str(), entry.c_str()) == 0);
  CHECK(!cache.load(key));
  // The cache directory itself a link.
  const std::string linkedDir = dir.file("linked");
  REQUIRE(::symlink(kernels.c_str(), linkedDir.c_str()) == 0);
  cache::KernelDiskCache viaLink(linkedDir, "v1", [](const std::string&) {});
  CHECK(!viaLink.store(key, "good ptx"));
  if (::geteuid() == 0) {  // only root can give a file away
    REQUIRE(::unlink(entry.c_str()) == 0);
    REQUIRE(cache.store(key, "good ptx"));
    REQUIRE(::chown(entry.c_str(), 65534, 65534) == 0);
    CHECK(!cache.load(key));
  }
}

TEST_CASE("the cache creates its directories 0700") {
  TempDir dir;
  const std::string kernels = dir.file("a/kernels");
  cache::KernelDiskCache cache(kernels, "v1");
  const std::string key = cache::KernelDiskCache::makeKey("ir", "v1", "sm_90a");
  REQUIRE(cache.store(key, "ptx"));
  struct stat st;
  for (const std::string& d : {dir.file("a"), kernels, kernels + "/" + key.substr(0, 2)}) {
    CAPTURE(d);
    REQUIRE(::stat(d.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
  }
}

TEST_CASE("an entry above the size limit or not a regular file is a miss, not an exception") {
  TempDir dir;
  cache::KernelDiskCache cache(dir.path(), "v1", [](const std::string&) {});
  const std::string key = cache::KernelDiskCache::makeKey("ir", "v1", "sm_90a");
  REQUIRE(cache.store(key, "ptx"));
  const std::string entry = cache.entryPath(key);
  REQUIRE(::truncate(entry.c_str(), off_t(cache::kMaxCacheFileBytes) + 1) == 0);  // sparse
  CHECK(!cache.load(key));
  REQUIRE(::unlink(entry.c_str()) == 0);
  REQUIRE(::mkfifo(entry.c_str(), 0600) == 0);
  CHECK(!cache.load(key));
}
