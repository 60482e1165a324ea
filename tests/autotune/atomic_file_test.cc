// The file primitives under both caches, against hostile file-system states: special files,
// oversized files, symlinked lock files, and the modes of what they create.
#include <doctest/doctest.h>

#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/atomic_file.h"
#include "cache/printable_text.h"
#include "tests/autotune/temp_dir.h"
#include "uintx/error.h"

using namespace uintx;
using uintx::autotune::testing::TempDir;

namespace {
mode_t permissions(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}
}  // namespace

TEST_CASE("readWholeFile reads only regular files, up to a size limit") {
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(cache::readWholeFile(fifo), doctest::Contains("not a regular file"), Error);
  CHECK_THROWS_WITH_AS(cache::readWholeFile("/dev/zero"), doctest::Contains("not a regular file"), Error);
  CHECK_THROWS_WITH_AS(cache::readWholeFile(dir.path()), doctest::Contains("not a regular file"), Error);
  const std::string big = dir.file("big");
  std::ofstream(big) << std::string(100, 'x');
  CHECK_THROWS_WITH_AS(cache::readWholeFile(big, {/*max_bytes=*/10}), doctest::Contains("above the 10-byte limit"), Error);
  CHECK(cache::readWholeFile(big, {/*max_bytes=*/100}) == std::string(100, 'x'));
  CHECK(!cache::readWholeFile(dir.file("missing")));
}

TEST_CASE("readWholeFile with owned_private refuses symlinks and files others can write") {
  TempDir dir;
  const std::string file = dir.file("entry");
  std::ofstream(file) << "payload";
  ::chmod(file.c_str(), 0644);
  const cache::ReadRules owned{cache::kMaxCacheFileBytes, /*owned_private=*/true};
  CHECK(cache::readWholeFile(file, owned) == std::string("payload"));
  const std::string link = dir.file("link");
  REQUIRE(::symlink(file.c_str(), link.c_str()) == 0);
  CHECK_THROWS_WITH_AS(cache::readWholeFile(link, owned), doctest::Contains("symbolic link"), Error);
  CHECK(cache::readWholeFile(link) == std::string("payload"));  // the config cache may be a link
  ::chmod(file.c_str(), 0664);
  CHECK_THROWS_WITH_AS(cache::readWholeFile(file, owned), doctest::Contains("writable by group or others"), Error);
  if (::geteuid() == 0) {  // only root can give a file away
    ::chmod(file.c_str(), 0644);
    REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
    CHECK_THROWS_WITH_AS(cache::readWholeFile(file, owned), doctest::Contains("owned by uid 65534"), Error);
  }
}

TEST_CASE("new directories are private to the user") {
  TempDir dir;
  const std::string nested = dir.file("a/b/c");
  cache::createDirectories(nested);
  CHECK(permissions(dir.file("a")) == 0700);
  CHECK(permissions(nested) == 0700);
  cache::writeFileAtomically(dir.file("x/y/file"), "bytes");
  CHECK(permissions(dir.file("x/y")) == 0700);
  CHECK(cache::readWholeFile(dir.file("x/y/file")) == std::string("bytes"));
}

TEST_CASE("a lock file that is a symlink is refused and its target never created") {
  TempDir dir;
  const std::string target = dir.file("victim");
  const std::string lock = dir.file("cfg.json.lock");
  REQUIRE(::symlink(target.c_str(), lock.c_str()) == 0);
  CHECK_THROWS_WITH_AS(cache::ExclusiveFileLock{lock}, doctest::Contains("symbolic link"), Error);
  CHECK(::access(target.c_str(), F_OK) != 0);
}

TEST_CASE("printableText escapes control characters and non-ASCII bytes") {
  CHECK(cache::printableText("NVIDIA H100 80GB HBM3") == "NVIDIA H100 80GB HBM3");
  CHECK(cache::printableText("a\x1b[2Jb\n\\") == "a\\x1b[2Jb\\x0a\\\\");
  CHECK(cache::printableText(std::string("\x9b\x7f\0z", 4)) == "\\x9b\\x7f\\x00z");
}
