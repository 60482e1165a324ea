// A directory of compiled kernels (PTX text or cubin bytes), shared by processes.
// Layout: <dir>/<key[0:2]>/<key>.<ptx|cubin>. Each file starts with a header naming the
// compiler version and the payload's length and SHA-256, so a file written by another
// compiler, truncated or damaged is a miss, never a crash (docs/CACHE.md).
//
// Trust: an entry's contents are launched on the GPU, and its checksum lives in the same
// file, so the checksum only detects damage. What is trusted is who can write: the cache
// directory, its shard directory and the entry must be owned by this user, not writable by
// group or others, and not symlinks (the entry a regular file). Otherwise nothing is loaded
// from or stored into it (one warning per object): the kernel is compiled instead.
#pragma once
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace uintx::cache {

enum class KernelArtifact { kPtx, kCubin };

using KernelCacheWarningFn = std::function<void(const std::string& message)>;
KernelCacheWarningFn stderrKernelCacheWarning();  // "uintx: warning: <message>" on stderr

class KernelDiskCache {
 public:
  // `compilerVersion` identifies the code generator (e.g. "uintx-codegen 0.1 / LLVM 22.1.8");
  // entries written under another version are misses. `warn` hears, once per object, that
  // the directory is not trusted (see above).
  KernelDiskCache(std::string dir, std::string compilerVersion,
                  KernelCacheWarningFn warn = stderrKernelCacheWarning());

  // 64 hex digits: SHA-256 of the three strings, each length-prefixed so no two different
  // triples hash the same input.
  static std::string makeKey(std::string_view irText, std::string_view compilerVersion,
                             std::string_view targetArch);

  // The stored bytes, or nullopt for a missing, foreign-compiler, truncated, damaged,
  // oversized or untrusted entry, or an untrusted directory. Throws uintx::Error only for a
  // key that is not 64 hex digits; nothing else escapes.
  std::optional<std::string> load(const std::string& key,
                                  KernelArtifact kind = KernelArtifact::kPtx) const;
  // Writes atomically (temp file + rename): concurrent readers see the old entry or the new
  // one. Creates missing directories 0700. Returns false (and writes nothing) if the
  // directory is not writable or not trusted: the cache is an optimisation, so a caller may
  // go on without it.
  bool store(const std::string& key, std::string_view bytes,
             KernelArtifact kind = KernelArtifact::kPtx) const;

  std::string entryPath(const std::string& key, KernelArtifact kind = KernelArtifact::kPtx) const;
  const std::string& dir() const { return dir_; }
  const std::string& compilerVersion() const { return compilerVersion_; }

 private:
  // "" if the cache directory and the entry's shard directory may be used; else why not,
  // reported once.
  std::string untrustedReason(const std::string& key) const;
  void warnOnce(const std::string& message) const;

  const std::string dir_;
  const std::string compilerVersion_;
  const KernelCacheWarningFn warn_;
  // Shared so that copies of a handle warn once between them, and the class stays copyable.
  std::shared_ptr<std::atomic<bool>> warned_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace uintx::cache
