// A fresh directory per test under $TEST_TMPDIR (Bazel) or /tmp, removed afterwards.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

namespace uintx::autotune::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/uintx_autotune_XXXXXX";
    if (!::mkdtemp(pattern.data())) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace uintx::autotune::testing
