#include "cache/kernel_disk_cache.h"

#include <charconv>
#include <iostream>

#include <sys/stat.h>

#include "cache/atomic_file.h"
#include "cache/printable_text.h"
#include "cache/sha256.h"
#include "uintx/error.h"

namespace uintx::cache {
namespace {

// Entry format (all header numbers decimal, header lines end in '\n'):
//   uintx-kernel-cache 1
//   compiler <byte length> <compiler version bytes>
//   payload <byte length> <sha256 hex of payload>
//   <payload bytes>
constexpr std::string_view kMagic = "uintx-kernel-cache 1\n";

void checkKey(const std::string& key) {
  bool ok = key.size() == 64;
  for (char c : key) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok)
    throw Error("kernel cache key '" + key + "' must be 64 lowercase hex digits (see makeKey)");
}

const char* extension(KernelArtifact kind) { return kind == KernelArtifact::kPtx ? "ptx" : "cubin"; }

// Reads "<word> <length> " then returns the position after it; npos on any mismatch.
size_t readLengthField(std::string_view file, size_t pos, std::string_view word, uint64_t* length) {
  if (file.substr(pos, word.size() + 1) != std::string(word) + " ") return std::string_view::npos;
  pos += word.size() + 1;
  const char* begin = file.data() + pos;
  auto [end, ec] = std::from_chars(begin, file.data() + file.size(), *length);
  if (ec != std::errc() || end == begin || end == file.data() + file.size() || *end != ' ')
    return std::string_view::npos;
  return static_cast<size_t>(end - file.data()) + 1;
}

}  // namespace

KernelCacheWarningFn stderrKernelCacheWarning() {
  return [](const std::string& message) { std::cerr << "uintx: warning: " << message << "\n"; };
}

KernelDiskCache::KernelDiskCache(std::string dir, std::string compilerVersion, KernelCacheWarningFn warn)
    : dir_(std::move(dir)),
      compilerVersion_(std::move(compilerVersion)),
      warn_(warn ? std::move(warn) : stderrKernelCacheWarning()) {}

void KernelDiskCache::warnOnce(const std::string& message) const {
  if (!warned_->exchange(true)) warn_(message);
}

std::string KernelDiskCache::untrustedReason(const std::string& key) const {
  for (const std::string& d : {dir_, dir_ + "/" + key.substr(0, 2)}) {
    std::string why = untrustedDirectoryReason(d);
    if (!why.empty()) return why;
  }
  return "";
}

std::string KernelDiskCache::makeKey(std::string_view irText, std::string_view compilerVersion,
                                     std::string_view targetArch) {
  Sha256 hasher;
  hasher.update("uintx-kernel-key 1\n");
  for (std::string_view part : {irText, compilerVersion, targetArch}) {
    hasher.update(std::to_string(part.size()) + ":");
    hasher.update(part);
  }
  return hasher.hexDigest();
}

std::string KernelDiskCache::entryPath(const std::string& key, KernelArtifact kind) const {
  checkKey(key);
  return dir_ + "/" + key.substr(0, 2) + "/" + key + "." + extension(kind);
}

std::optional<std::string> KernelDiskCache::load(const std::string& key, KernelArtifact kind) const {
  const std::string path = entryPath(key, kind);
  std::optional<std::string> file;
  try {
    struct stat st;
    if (::lstat(dir_.c_str(), &st) != 0) return std::nullopt;  // no cache yet: a plain miss
    if (std::string why = untrustedReason(key); !why.empty()) {
      if (why.find("cannot be examined") == std::string::npos)  // a missing shard is a plain miss
        warnOnce("kernel cache not used: " + printableText(why) + "; kernels are compiled instead");
      return std::nullopt;
    }
    file = readWholeFile(path, ReadRules{kMaxCacheFileBytes, /*owned_private=*/true});
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable, untrusted or oversized counts as absent; a later store replaces it
  }
  if (!file) return std::nullopt;
  std::string_view view(*file);
  if (view.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  uint64_t compilerLength = 0;
  size_t pos = readLengthField(view, kMagic.size(), "compiler", &compilerLength);
  if (pos == std::string_view::npos || compilerLength != compilerVersion_.size() ||
      view.size() < pos + compilerLength + 1 ||
      view.substr(pos, compilerLength) != compilerVersion_ || view[pos + compilerLength] != '\n')
    return std::nullopt;
  uint64_t payloadLength = 0;
  pos = readLengthField(view, pos + compilerLength + 1, "payload", &payloadLength);
  if (pos == std::string_view::npos || view.size() < pos + 65 || view[pos + 64] != '\n')
    return std::nullopt;
  std::string_view checksum = view.substr(pos, 64);
  pos += 65;
  if (view.size() - pos != payloadLength) return std::nullopt;  // truncated or overlong
  std::string_view payload = view.substr(pos);
  if (sha256Hex(payload) != checksum) return std::nullopt;
  return std::string(payload);
}

bool KernelDiskCache::store(const std::string& key, std::string_view bytes, KernelArtifact kind) const {
  const std::string path = entryPath(key, kind);
  try {
    std::string file(kMagic);
    file += "compiler " + std::to_string(compilerVersion_.size()) + " " + compilerVersion_ + "\n";
    file += "payload " + std::to_string(bytes.size()) + " " + sha256Hex(bytes) + "\n";
    file += bytes;
    // Only a directory that did not exist is created here (0700); an existing one must
    // already be trusted: never write where others could have planted or will change files.
    struct stat st;
    if (::lstat(dir_.c_str(), &st) != 0) createDirectories(dir_);
    const std::string shard = dir_ + "/" + key.substr(0, 2);
    if (std::string why = untrustedDirectoryReason(dir_); !why.empty()) {
      warnOnce("kernel cache not used: " + printableText(why) + "; kernels are compiled instead");
      return false;
    }
    if (::lstat(shard.c_str(), &st) != 0) createDirectories(shard);
    if (std::string why = untrustedReason(key); !why.empty()) {
      warnOnce("kernel cache not used: " + printableText(why) + "; kernels are compiled instead");
      return false;
    }
    writeFileAtomically(path, file);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace uintx::cache
