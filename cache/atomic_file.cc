#include "cache/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uintx/error.h"

namespace uintx::cache {
namespace {

std::string errnoText() { return std::strerror(errno); }

std::string parentDir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void writeAll(int fd, std::string_view bytes, const std::string& what) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("writing " + what + ": " + errnoText());
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::optional<std::string> readWholeFile(const std::string& path, const ReadRules& rules) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (rules.owned_private ? O_NOFOLLOW : 0);
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    if (errno == ELOOP && rules.owned_private) throw Error("'" + path + "' is a symbolic link: not read");
    throw Error("cannot open '" + path + "' for reading: " + errnoText());
  }
  std::string bytes;
  try {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw Error("cannot stat '" + path + "': " + errnoText());
    if (!S_ISREG(st.st_mode)) throw Error("'" + path + "' is not a regular file");
    if (rules.owned_private && st.st_uid != ::geteuid())
      throw Error("'" + path + "' is owned by uid " + std::to_string(st.st_uid) + ", not by this user: not read");
    if (rules.owned_private && (st.st_mode & 022))
      throw Error("'" + path + "' is writable by group or others: not read");
    if (static_cast<uint64_t>(st.st_size) > rules.max_bytes)
      throw Error("'" + path + "' is " + std::to_string(st.st_size) + " bytes, above the " +
                  std::to_string(rules.max_bytes) + "-byte limit");
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error("cannot read '" + path + "': " + errnoText());
      if (n == 0) break;  // shrank while being read: what is there is what a reader sees
      done += static_cast<size_t>(n);
    }
    bytes.resize(done);
  } catch (const std::bad_alloc&) {
    ::close(fd);
    throw Error("cannot read '" + path + "': out of memory");
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return bytes;
}

std::string untrustedDirectoryReason(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return "'" + dir + "' cannot be examined: " + errnoText();
  if (S_ISLNK(st.st_mode)) return "'" + dir + "' is a symbolic link";
  if (!S_ISDIR(st.st_mode)) return "'" + dir + "' is not a directory";
  if (st.st_uid != ::geteuid())
    return "'" + dir + "' is owned by uid " + std::to_string(st.st_uid) + ", not by this user";
  if (st.st_mode & 022) return "'" + dir + "' is writable by group or others";
  return "";
}

void createDirectories(const std::string& dir) {
  if (dir.empty()) return;
  // Walk the prefixes; EEXIST is fine (another process may create them concurrently).
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      throw Error("cannot create directory '" + prefix + "': " + errnoText());
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error("'" + dir + "' is not a directory");
}

void writeFileAtomically(const std::string& path, std::string_view bytes) {
  const std::string dir = parentDir(path);
  createDirectories(dir);
  std::string temp = path + ".tmp.XXXXXX";
  // mkostemp opens with O_CREAT | O_EXCL: never an existing file or a planted link.
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) throw Error("cannot create a temporary file beside '" + path + "': " + errnoText());
  try {
    // mkstemp creates 0600; a cache is meant to be readable like any other file.
    // (Not umask-derived: reading the umask means setting it, which races with threads.)
    ::fchmod(fd, 0644);
    writeAll(fd, bytes, temp);
    if (::fsync(fd) != 0) throw Error("fsync of '" + temp + "': " + errnoText());
    if (::close(fd) != 0) {
      fd = -1;
      throw Error("closing '" + temp + "': " + errnoText());
    }
    fd = -1;
    if (::rename(temp.c_str(), path.c_str()) != 0)
      throw Error("cannot rename '" + temp + "' to '" + path + "': " + errnoText());
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  // Make the rename itself durable; failure here loses nothing already visible.
  int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd >= 0) {
    ::fsync(dirFd);
    ::close(dirFd);
  }
}

ExclusiveFileLock::ExclusiveFileLock(const std::string& lockPath) {
  createDirectories(parentDir(lockPath));
  // O_NOFOLLOW: a planted link would make us create (and lock) the file it names.
  fd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0 && errno == ELOOP) throw Error("lock file '" + lockPath + "' is a symbolic link: refusing to follow it");
  if (fd_ < 0) throw Error("cannot open lock file '" + lockPath + "': " + errnoText());
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    std::string why = errnoText();
    ::close(fd_);
    throw Error("cannot lock '" + lockPath + "': " + why);
  }
}

ExclusiveFileLock::~ExclusiveFileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

}  // namespace uintx::cache
