// File helpers shared by the two caches: whole-file reads and crash-safe replacement.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace uintx::cache {

// The file's bytes, or nullopt if it does not exist. Throws uintx::Error on other
// read failures (names the path and errno's text).
std::optional<std::string> readWholeFile(const std::string& path);

// Replaces `path` with `bytes` so that a reader sees either the old or the new file,
// never a part: temp file in the same directory, fsync, rename, fsync of the directory.
// Creates missing parent directories. Throws uintx::Error naming the path on failure.
void writeFileAtomically(const std::string& path, std::string_view bytes);

// mkdir -p; throws uintx::Error naming the directory on failure.
void createDirectories(const std::string& dir);

// An exclusive advisory lock (flock) on `lockPath`, created if missing, held for the
// object's lifetime. The lock file is never deleted: deleting it would let two processes
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
