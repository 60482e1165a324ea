#include "cache/kernel_key.h"

#include <charconv>
#include <vector>

#include <nlohmann/json.hpp>

#include "packing/json_limits.h"
#include "cache/printable_text.h"
#include "uintx/error.h"

namespace uintx::cache {
namespace {

// Families and dtypes go into a ';'/'='-separated string, so they are kept to [a-z0-9_].
bool isIdentifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

int64_t parseInt(const std::string& text, const std::string& field, const std::string& value) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size())
    throw Error("kernel key '" + text + "': field '" + field + "' has value '" + value +
                "', which is not an integer");
  return v;
}

const std::vector<std::string>& fieldOrder() {
  static const std::vector<std::string> order = {"family", "bits", "group", "pack", "act",
                                                 "out",    "N",    "K",     "M"};
  return order;
}

}  // namespace

int KernelKey::mBucket(int64_t M) {
  if (M < 1) throw Error("M bucket: M = " + std::to_string(M) + " must be >= 1");
  int bucket = 1;
  while (bucket < M && bucket < kMaxMBucket) bucket *= 2;
  return bucket;
}

void KernelKey::validate() const {
  auto fail = [&](const std::string& field, const std::string& why) {
    throw Error("kernel key: " + field + " " + why);
  };
  if (!isIdentifier(act_dtype)) fail("act_dtype '" + act_dtype + "'", "must be non-empty [a-z0-9_]");
  if (!isIdentifier(out_dtype)) fail("out_dtype '" + out_dtype + "'", "must be non-empty [a-z0-9_]");
  if (bit_width < 1 || bit_width > 32) fail("bit_width " + std::to_string(bit_width), "must be in 1..32");
  if (group_size < 1) fail("group_size " + std::to_string(group_size), "must be >= 1");
  if (packing_bitwidth < 1) fail("packing_bitwidth " + std::to_string(packing_bitwidth), "must be >= 1");
  if (N < 1) fail("N " + std::to_string(N), "must be >= 1");
  if (K < 1) fail("K " + std::to_string(K), "must be >= 1");
  if (m_bucket < 1 || m_bucket > kMaxMBucket || mBucket(m_bucket) != m_bucket)
    fail("m_bucket " + std::to_string(m_bucket), "must be a power of two in 1..4096");
}

std::string KernelKey::toString() const {
  validate();
  return std::string("family=") + familyName(family) + ";bits=" + std::to_string(bit_width) +
         ";group=" + std::to_string(group_size) + ";pack=" + std::to_string(packing_bitwidth) +
         ";act=" + act_dtype + ";out=" + out_dtype + ";N=" + std::to_string(N) +
         ";K=" + std::to_string(K) + ";M=" + std::to_string(m_bucket);
}

KernelKey KernelKey::parse(const std::string& text) {
  // Fields must appear exactly in toString()'s order: one spelling per key, so two
  // processes can never store the same key under two JSON names.
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t semi = text.find(';', start);
    parts.push_back(text.substr(start, semi - start));
    if (semi == std::string::npos) break;
    start = semi + 1;
  }
  const auto& order = fieldOrder();
  if (parts.size() != order.size())
    throw Error("kernel key '" + text + "': has " + std::to_string(parts.size()) +
                " ';'-separated fields, expected " + std::to_string(order.size()));
  std::vector<std::string> values;
  for (size_t i = 0; i < parts.size(); ++i) {
    size_t eq = parts[i].find('=');
    std::string name = parts[i].substr(0, eq);
    if (eq == std::string::npos || name != order[i])
      throw Error("kernel key '" + text + "': field " + std::to_string(i + 1) + " is '" +
                  parts[i] + "', expected '" + order[i] + "=...'");
    values.push_back(parts[i].substr(eq + 1));
  }
  auto asInt = [&](size_t i) { return parseInt(text, order[i], values[i]); };
  auto asInt32 = [&](size_t i) {
    int64_t v = asInt(i);
    if (v < INT32_MIN || v > INT32_MAX)
      throw Error("kernel key '" + text + "': field '" + order[i] + "' is out of range");
    return static_cast<int>(v);
  };
  KernelKey key;
  std::optional<KernelFamily> family = parseFamily(values[0]);
  if (!family)
    throw Error("kernel key '" + text + "': family '" + values[0] + "' is not one of gemv, gemv_tiled, gemm, gemm_int8");
  key.family = *family;
  key.bit_width = asInt32(1);
  key.group_size = asInt32(2);
  key.packing_bitwidth = asInt32(3);
  key.act_dtype = values[4];
  key.out_dtype = values[5];
  key.N = asInt(6);
  key.K = asInt(7);
  key.m_bucket = asInt32(8);
  try {
    key.validate();
  } catch (const Error& e) {
    throw Error("kernel key '" + text + "': " + e.what());
  }
  return key;
}

nlohmann::json KernelConfig::toJson() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : params) j[name] = value;
  return j;
}

KernelConfig KernelConfig::fromJson(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("kernel config: expected a JSON object, got " + jsonExcerpt(j));
  KernelConfig config;
  for (const auto& [name, value] : j.items()) {
    const std::string param = "kernel config: parameter '" + printableText(name, 64) + "' = " + jsonExcerpt(value);
    // Names are a kernel's field names (BLOCK_K, num_warps); they reach terminals and file names.
    const bool nameOk = !name.empty() && name.size() <= 64 &&
                        name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
                            std::string::npos;
    if (!nameOk) throw Error(param + ": the name is not 1 to 64 of [A-Za-z0-9_]");
    if (!value.is_number_integer()) throw Error(param + " is not an integer");
    // An unsigned number above INT64_MAX read as int64 wraps negative: compare before narrowing.
    const bool inRange = value.is_number_unsigned() ? value.get<uint64_t>() <= uint64_t(INT32_MAX)
                                                    : value.get<int64_t>() >= INT32_MIN && value.get<int64_t>() <= INT32_MAX;
    if (!inRange) throw Error(param + " is out of int range");
    config.params[name] = static_cast<int>(value.get<int64_t>());
  }
  return config;
}

std::string KernelConfig::toString() const {
  std::string s;
  for (const auto& [name, value] : params) {
    if (!s.empty()) s += ' ';
    s += name + "=" + std::to_string(value);
  }
  return s;
}

}  // namespace uintx::cache
