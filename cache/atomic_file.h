// File helpers shared by the two caches: whole-file reads and crash-safe replacement.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace uintx::cache {

// Far above any config cache or compiled kernel; low enough that reading one cannot exhaust memory.
constexpr size_t kMaxCacheFileBytes = size_t(256) << 20;

struct ReadRules {
  size_t max_bytes = kMaxCacheFileBytes;
  // For files whose contents are executed (compiled kernels): refuse a symlink, a file owned
  // by another user, and a file writable by group or others.
  bool owned_private = false;
};

// The file's bytes, or nullopt if it does not exist. Only regular files are read (a FIFO,
// device or directory is an error, and opening one never blocks). Throws uintx::Error,
// naming the path and the reason, for every other failure, including a file over max_bytes.
std::optional<std::string> readWholeFile(const std::string& path, const ReadRules& rules = {});

// Why a directory cannot be trusted with files whose contents are executed (a symlink, not a
// directory, owned by another user, writable by group or others), or "" if it can.
// Throws nothing; a missing directory is reported as such.
std::string untrustedDirectoryReason(const std::string& dir);

// Replaces `path` with `bytes` so that a reader sees either the old or the new file,
// never a part: temp file in the same directory, fsync, rename, fsync of the directory.
// Creates missing parent directories. Throws uintx::Error naming the path on failure.
void writeFileAtomically(const std::string& path, std::string_view bytes);

// mkdir -p, new directories 0700 (caches are per user); throws uintx::Error naming the
// directory on failure.
void createDirectories(const std::string& dir);

// An exclusive advisory lock (flock) on `lockPath`, created if missing (0600), held for the
// object's lifetime. A symlink at lockPath is refused (uintx::Error), never followed. The lock file is never deleted: deleting it would let two processes
// lock two different inodes.
class ExclusiveFileLock {
 public:
  explicit ExclusiveFileLock(const std::string& lockPath);
  ~ExclusiveFileLock();
  ExclusiveFileLock(const ExclusiveFileLock&) = delete;
  ExclusiveFileLock& operator=(const ExclusiveFileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace uintx::cache
