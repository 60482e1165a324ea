// The JSON cache of tuned launch configurations, one file per GPU model
// (schema and rules: docs/CACHE.md). Loading never throws: a missing file is empty, a
// corrupt, truncated, other-version or other-GPU file is reported once and ignored.
// save() merges with the file's current contents under a lock and replaces it atomically,
// so concurrent tuning processes lose nothing.
#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "cache/kernel_key.h"

namespace uintx::cache {

struct GpuIdentity {
  std::string name;                // e.g. "NVIDIA H100 80GB HBM3"
  std::string compute_capability;  // e.g. "9.0"
  bool operator==(const GpuIdentity&) const = default;
};

struct CacheEntry {
  KernelConfig config;
  double time_us = 0;
  std::string tuned_at;  // ISO 8601 UTC, "2026-11-24T12:34:56Z"
};

// A cache file as it is on disk, judged only on its own (not against a GPU).
struct CacheFileContents {
  enum class Status { kMissing, kOk, kCorrupt, kOtherVersion };
  Status status = Status::kMissing;
  std::string problem;  // why it is kCorrupt / kOtherVersion
  int schema_version = 0;
  GpuIdentity gpu;
  std::map<std::string, CacheEntry> entries;  // keyed by KernelKey::toString()
  std::vector<std::string> skipped_entries;   // "'<key>': <why>" for entries that were dropped
};
// Never throws for bad contents (a file nested deeper than kMaxJsonDepth is kCorrupt, an
// integer out of int range is rejected, never narrowed); throws uintx::Error only if the
// file exists but cannot be read (not a regular file, over kMaxCacheFileBytes, I/O error).
// Strings from the file in `problem` and `skipped_entries` are printable (printableText);
// `gpu` and entries' `tuned_at` are as stored: print `gpu` through printableText.
CacheFileContents readConfigCacheFile(const std::string& path);
// The same for contents already in memory (never throws; an empty text is kCorrupt).
CacheFileContents parseConfigCacheText(const std::string& bytes);

using CacheWarningFn = std::function<void(const std::string& message)>;
CacheWarningFn stderrCacheWarning();  // "uintx: warning: <message>" on stderr

class ConfigCache {
 public:
  static constexpr int kSchemaVersion = 1;

  ConfigCache(std::string path, std::string gpuName, std::string computeCapability,
              CacheWarningFn warn = stderrCacheWarning());

  std::optional<KernelConfig> lookup(const KernelKey& key) const;
  std::optional<CacheEntry> lookupEntry(const KernelKey& key) const;
  // Records a result in memory (stamped with the current UTC time); save() writes it.
  void insert(const KernelKey& key, const KernelConfig& config, double timeUs);
  // Under an exclusive flock on "<path>.lock": re-reads the file, merges (entries inserted
  // here since the last save win, every other entry on disk is kept), writes a temp file,
  // fsyncs and renames it over <path>. An unusable file is first kept as "<path>.corrupt"
  // (corrupt/truncated), "<path>.foreign-<gpuFileLabel>" (another GPU model) or
  // "<path>.foreign-schema<N>" (another schema version).
  // Throws uintx::Error if the file cannot be written.
  void save();

  std::map<std::string, CacheEntry> entries() const;
  const std::string& path() const { return path_; }
  const GpuIdentity& gpu() const { return gpu_; }

 private:
  // Takes the usable entries of `disk` (reporting why if it is unusable); returns false if
  // the file exists but cannot be used.
  bool absorbLocked(const CacheFileContents& disk);
  void reportOnceLocked(const std::string& message);

  const std::string path_;
  const GpuIdentity gpu_;
  const CacheWarningFn warn_;
  mutable std::mutex mutex_;
  std::map<std::string, CacheEntry> entries_;
  std::set<std::string> insertedSinceSave_;
  std::set<std::string> reported_;
};

}  // namespace uintx::cache
