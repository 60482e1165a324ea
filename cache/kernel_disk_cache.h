// A directory of compiled kernels (PTX text or cubin bytes), shared by processes.
// Layout: <dir>/<key[0:2]>/<key>.<ptx|cubin>. Each file starts with a header naming the
// compiler version and the payload's length and SHA-256, so a file written by another
// compiler, truncated or damaged is a miss, never a crash (docs/CACHE.md).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace uintx::cache {

enum class KernelArtifact { kPtx, kCubin };

class KernelDiskCache {
 public:
  // `compilerVersion` identifies the code generator (e.g. "uintx-codegen 0.1 / LLVM 22.1.8");
  // entries written under another version are misses.
  KernelDiskCache(std::string dir, std::string compilerVersion);

  // 64 hex digits: SHA-256 of the three strings, each length-prefixed so no two different
  // triples hash the same input.
  static std::string makeKey(std::string_view irText, std::string_view compilerVersion,
                             std::string_view targetArch);

  // The stored bytes, or nullopt for a missing, foreign-compiler, truncated or damaged entry.
  // Throws uintx::Error only for a key that is not 64 hex digits.
  std::optional<std::string> load(const std::string& key,
                                  KernelArtifact kind = KernelArtifact::kPtx) const;
  // Writes atomically (temp file + rename): concurrent readers see the old entry or the new
  // one. Returns false (and writes nothing) if the directory is not writable: the cache is
  // an optimisation, so a caller may go on without it.
  bool store(const std::string& key, std::string_view bytes,
             KernelArtifact kind = KernelArtifact::kPtx) const;

  std::string entryPath(const std::string& key, KernelArtifact kind = KernelArtifact::kPtx) const;
  const std::string& dir() const { return dir_; }
  const std::string& compilerVersion() const { return compilerVersion_; }

 private:
  const std::string dir_;
  const std::string compilerVersion_;
};

}  // namespace uintx::cache
