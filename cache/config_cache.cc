#include "cache/config_cache.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cache/atomic_file.h"
#include "cache/cache_paths.h"
#include "packing/json_limits.h"
#include "cache/printable_text.h"
#include "uintx/error.h"

namespace uintx::cache {
namespace {

using json = nlohmann::json;

std::string utcNowIso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// One entry from JSON; throws uintx::Error saying what is wrong with it.
CacheEntry entryFromJson(const json& j) {
  if (!j.is_object()) throw Error("entry is not an object");
  if (!j.contains("config")) throw Error("entry has no \"config\"");
  CacheEntry entry;
  entry.config = KernelConfig::fromJson(j.at("config"));
  if (!j.contains("time_us") || !j.at("time_us").is_number())
    throw Error("\"time_us\" is missing or not a number");
  entry.time_us = j.at("time_us").get<double>();
  if (!std::isfinite(entry.time_us) || entry.time_us < 0)
    throw Error("\"time_us\" = " + jsonExcerpt(j.at("time_us")) + " is not a finite time >= 0");
  if (j.contains("tuned_at")) {
    if (!j.at("tuned_at").is_string()) throw Error("\"tuned_at\" is not a string");
    entry.tuned_at = j.at("tuned_at").get<std::string>();
    // Printed as it is by uintx-tune --list: a date, never terminal control sequences.
    if (entry.tuned_at.size() > 64 || printableText(entry.tuned_at) != entry.tuned_at)
      throw Error("\"tuned_at\" = " + jsonExcerpt(j.at("tuned_at")) + " is not a printable date");
  }
  return entry;
}

json entryToJson(const CacheEntry& entry) {
  return json{{"config", entry.config.toJson()},
              {"time_us", entry.time_us},
              {"tuned_at", entry.tuned_at}};
}

std::string describe(const GpuIdentity& gpu) {
  return "'" + printableText(gpu.name) + "' (compute capability " + printableText(gpu.compute_capability) + ")";
}

// The integer at doc[key], if it is one that fits in int; the error names the key and the value.
int intInRange(const json& doc, const char* key) {
  const json& v = doc.at(key);
  const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT32_MAX)
                                           : v.get<int64_t>() >= INT32_MIN && v.get<int64_t>() <= INT32_MAX;
  if (!fits) throw Error(std::string("\"") + key + "\" = " + jsonExcerpt(v) + " is out of range");
  return static_cast<int>(v.get<int64_t>());
}

// Where an unusable file is kept on save: one name per foreign GPU model (and per schema
// version), so two models sharing a path never overwrite each other's backup.
std::string backupSuffix(const CacheFileContents& disk) {
  using Status = CacheFileContents::Status;
  if (disk.status == Status::kCorrupt) return ".corrupt";
  if (disk.status == Status::kOtherVersion) return ".foreign-schema" + std::to_string(disk.schema_version);
  return ".foreign-" + gpuFileLabel(disk.gpu.name, disk.gpu.compute_capability);
}

void backUp(const std::string& path, const std::string& suffix) {
  const std::string backup = path + suffix;
  if (::rename(path.c_str(), backup.c_str()) != 0 && errno != ENOENT)
    throw Error("cannot keep unusable config cache '" + path + "' as '" + backup +
                "': " + std::strerror(errno));
}

}  // namespace

namespace {

CacheFileContents parseConfigCache(const std::string& bytes) {
  CacheFileContents out;
  auto corrupt = [&](const std::string& why) {
    out.status = CacheFileContents::Status::kCorrupt;
    out.problem = why;
    out.entries.clear();
    return out;
  };
  if (hasNulByte(bytes)) return corrupt("contains a NUL byte (not JSON text)");
  if (jsonNestingDepth(bytes) > kMaxJsonDepth)
    return corrupt("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels (not a config cache)");
  json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return corrupt(bytes.empty() ? "the file is empty"
                                 : "not valid JSON (corrupt or truncated)");
  }
  if (!doc.is_object()) return corrupt("the top level is not a JSON object");
  if (!doc.contains("schema_version") || !doc["schema_version"].is_number_integer())
    return corrupt("no integer \"schema_version\"");
  try {
    out.schema_version = intInRange(doc, "schema_version");
  } catch (const Error& e) {
    return corrupt(e.what());
  }
  if (out.schema_version != ConfigCache::kSchemaVersion) {
    out.status = CacheFileContents::Status::kOtherVersion;
    out.problem = "schema_version " + std::to_string(out.schema_version) +
                  ", this build reads schema_version " + std::to_string(ConfigCache::kSchemaVersion);
    return out;
  }
  const json& gpu = doc.contains("gpu") ? doc["gpu"] : json();
  if (!gpu.is_object() || !gpu.contains("name") || !gpu["name"].is_string() ||
      !gpu.contains("compute_capability") || !gpu["compute_capability"].is_string())
    return corrupt("\"gpu\" must be an object with string \"name\" and \"compute_capability\"");
  out.gpu.name = gpu["name"].get<std::string>();
  out.gpu.compute_capability = gpu["compute_capability"].get<std::string>();
  if (!doc.contains("entries") || !doc["entries"].is_object())
    return corrupt("no \"entries\" object");
  for (const auto& [keyText, value] : doc["entries"].items()) {
    try {
      KernelKey key = KernelKey::parse(keyText);
      // Only the canonical spelling is accepted, so one key never has two JSON names.
      if (key.toString() != keyText) throw Error("key is not in canonical form");
      out.entries[keyText] = entryFromJson(value);
    } catch (const Error& e) {
      // Both the key and the reason (which quotes the key) come from the file.
      out.skipped_entries.push_back("'" + printableText(keyText, 120) + "': " + printableText(e.what(), 300));
    }
  }
  out.status = CacheFileContents::Status::kOk;
  return out;
}

}  // namespace

CacheFileContents parseConfigCacheText(const std::string& bytes) {
  try {
    return parseConfigCache(bytes);
  } catch (const std::exception& e) {  // a json type error or bad_alloc the checks did not foresee
    CacheFileContents out;
    out.status = CacheFileContents::Status::kCorrupt;
    out.problem = "unreadable contents (" + printableText(e.what(), 120) + ")";
    return out;
  }
}

CacheFileContents readConfigCacheFile(const std::string& path) {
  std::optional<std::string> bytes = readWholeFile(path);
  if (!bytes) return CacheFileContents{};  // kMissing
  return parseConfigCacheText(*bytes);
}

CacheWarningFn stderrCacheWarning() {
  return [](const std::string& message) { std::cerr << "uintx: warning: " << message << "\n"; };
}

ConfigCache::ConfigCache(std::string path, std::string gpuName, std::string computeCapability,
                         CacheWarningFn warn)
    : path_(std::move(path)),
      gpu_{std::move(gpuName), std::move(computeCapability)},
      warn_(warn ? std::move(warn) : stderrCacheWarning()) {
  std::lock_guard<std::mutex> guard(mutex_);
  try {
    absorbLocked(readConfigCacheFile(path_));
  } catch (const std::exception& e) {
    reportOnceLocked("config cache '" + path_ + "' cannot be read (" + e.what() + "); ignoring it");
  }
}

void ConfigCache::reportOnceLocked(const std::string& message) {
  if (reported_.insert(message).second) warn_(message);
}

bool ConfigCache::absorbLocked(const CacheFileContents& disk) {
  using Status = CacheFileContents::Status;
  if (disk.status == Status::kMissing) return true;
  if (disk.status != Status::kOk) {
    reportOnceLocked("config cache '" + path_ + "' ignored: " + disk.problem);
    return false;
  }
  if (!(disk.gpu == gpu_)) {
    reportOnceLocked("config cache '" + path_ + "' ignored: it was tuned for GPU " +
                     describe(disk.gpu) + ", this is GPU " + describe(gpu_));
    return false;
  }
  for (const std::string& skipped : disk.skipped_entries)
    reportOnceLocked("config cache '" + path_ + "': ignored entry " + skipped);
  // Disk is newer for every key this process has not set since its last save.
  for (const auto& [key, entry] : disk.entries)
    if (!insertedSinceSave_.count(key)) entries_[key] = entry;
  return true;
}

std::optional<CacheEntry> ConfigCache::lookupEntry(const KernelKey& key) const {
  const std::string text = key.toString();
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = entries_.find(text);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::optional<KernelConfig> ConfigCache::lookup(const KernelKey& key) const {
  auto entry = lookupEntry(key);
  if (!entry) return std::nullopt;
  return entry->config;
}

void ConfigCache::insert(const KernelKey& key, const KernelConfig& config, double timeUs) {
  const std::string text = key.toString();
  if (!std::isfinite(timeUs) || timeUs < 0)
    throw Error("config cache insert for '" + text + "': time_us = " + std::to_string(timeUs) +
                " must be a finite time >= 0");
  std::lock_guard<std::mutex> guard(mutex_);
  entries_[text] = CacheEntry{config, timeUs, utcNowIso8601()};
  insertedSinceSave_.insert(text);
}

void ConfigCache::save() {
  std::lock_guard<std::mutex> guard(mutex_);
  ExclusiveFileLock lock(path_ + ".lock");
  CacheFileContents disk;
  try {
    disk = readConfigCacheFile(path_);
  } catch (const Error& e) {
    throw Error("config cache save: " + std::string(e.what()));
  }
  const bool usable = absorbLocked(disk);
  if (insertedSinceSave_.empty()) return;  // nothing of ours to write; leave the file alone
  if (!usable) backUp(path_, backupSuffix(disk));

  json doc = {{"schema_version", kSchemaVersion},
              {"gpu", {{"name", gpu_.name}, {"compute_capability", gpu_.compute_capability}}},
              {"entries", json::object()}};
  for (const auto& [key, entry] : entries_) doc["entries"][key] = entryToJson(entry);
  writeFileAtomically(path_, doc.dump(2) + "\n");
  insertedSinceSave_.clear();
}

std::map<std::string, CacheEntry> ConfigCache::entries() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return entries_;
}

}  // namespace uintx::cache
