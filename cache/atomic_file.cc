#include "cache/atomic_file.h"

#include <cerrno>
#include <cstring>
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

std::optional<std::string> readWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw Error("cannot open '" + path + "' for reading: " + errnoText());
  }
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string why = errnoText();
      ::close(fd);
      throw Error("cannot read '" + path + "': " + why);
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

void createDirectories(const std::string& dir) {
  if (dir.empty()) return;
  // Walk the prefixes; EEXIST is fine (another process may create them concurrently).
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
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
  int fd = ::mkstemp(temp.data());
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
  fd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
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
