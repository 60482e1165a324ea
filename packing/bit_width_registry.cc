#include "packing/bit_width_registry.h"

#include <cmath>
#include <exception>
#include <map>
#include <memory>
#include <mutex>

#include "uintx/error.h"

namespace uintx {

namespace {
// The rules below shift by `bits`; outside the registry's range such a shift is undefined, so a
// bad width is refused here rather than only at registration.
void requireSupportedBits(const char* rule, int bits) {
  if (bits < 1 || bits > 16)
    throw Error(std::string(rule) + ": bits = " + std::to_string(bits) + " is outside the supported range 1..16");
}
}  // namespace

BitWidthSpec unsignedAsymmetricWidth(int bits) {
  requireSupportedBits("unsignedAsymmetricWidth", bits);
  BitWidthSpec s;
  s.bits = bits;
  s.name = "uint" + std::to_string(bits);
  s.scheme = QuantScheme::asymmetric_grouped;
  s.q_min = 0;
  s.q_max = int32_t((1u << bits) - 1);
  s.encode = [](int32_t q) { return uint32_t(q); };
  s.decode = [](uint32_t code) { return int32_t(code); };
  s.dequantize = [](int32_t q, float scale, float zero) { return (float(q) - zero) * scale; };
  return s;
}

BitWidthSpec signedSymmetricWidth(int bits) {
  requireSupportedBits("signedSymmetricWidth", bits);
  BitWidthSpec s;
  s.bits = bits;
  s.name = "int" + std::to_string(bits);
  s.scheme = QuantScheme::symmetric_per_channel;
  // Every b-bit two's complement code is a valid stored value (the kernels decode q + 2^(b-1),
  // affine in q), so weights quantized elsewhere with -2^(b-1) load; quantize() itself keeps
  // the range symmetric, [-q_max, q_max].
  s.q_max = int32_t((1u << (bits - 1)) - 1);
  s.q_min = -s.q_max - 1;
  uint32_t mask = (1u << bits) - 1;
  s.encode = [mask](int32_t q) { return uint32_t(q) & mask; };
  s.decode = [bits, mask](uint32_t code) {
    code &= mask;
    return code >> (bits - 1) ? int32_t(code) - int32_t(mask + 1) : int32_t(code);
  };
  s.dequantize = [](int32_t q, float scale, float) { return float(q) * scale; };
  return s;
}

namespace {

constexpr size_t kMaxNameLength = 64;

// The name goes into messages and into every saved file's JSON header: bytes outside
// printable ASCII would reach terminals as control sequences, and invalid UTF-8 made the
// header's JSON writer throw (a non-uintx exception) at save().
void checkName(const BitWidthSpec& spec) {
  bool printable = !spec.name.empty() && spec.name.size() <= kMaxNameLength;
  for (char c : spec.name) printable = printable && c >= 0x20 && c <= 0x7e;
  if (printable) return;
  std::string shown;  // the name as a reader can see it: other bytes as \xNN, cut after 64
  for (size_t i = 0; i < spec.name.size() && i < kMaxNameLength; ++i) {
    const unsigned char c = static_cast<unsigned char>(spec.name[i]);
    if (c >= 0x20 && c <= 0x7e) {
      shown += char(c);
    } else {
      static const char hex[] = "0123456789abcdef";
      shown += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    }
  }
  if (spec.name.size() > kMaxNameLength) shown += "...";
  throw Error("registerBitWidth: width " + std::to_string(spec.bits) + ": name \"" + shown + "\" (" +
              std::to_string(spec.name.size()) + " bytes) must be 1 to " + std::to_string(kMaxNameLength) +
              " printable ASCII characters: it is shown in messages and written into weight files");
}

// Calls a rule of the width being registered; an exception it throws becomes a uintx::Error
// naming the width and the call (a std::out_of_range from a table lookup said neither).
template <typename Call>
auto callRule(const std::string& width, const std::string& call, Call rule) -> decltype(rule()) {
  try {
    return rule();
  } catch (const std::exception& e) {
    throw Error(width + call + " threw: " + e.what());
  } catch (...) {
    throw Error(width + call + " threw an exception that is not a std::exception");
  }
}

// Packing masks each code to `bits`; a code that does not fit would silently become another
// value, so every q of the range must encode into `bits` and decode back to itself. Every q
// must also dequantize to a finite float with scale 1 and zero 0 (what quantize stores for a
// group of zeros), and no rule may throw.
void checkRules(const BitWidthSpec& spec) {
  const std::string width = "registerBitWidth: width " + std::to_string(spec.bits) + " (" + spec.name + "): ";
  const int64_t codes = int64_t(1) << spec.bits;
  if (int64_t(spec.q_max) - int64_t(spec.q_min) + 1 > codes)
    throw Error(width + "q range [" + std::to_string(spec.q_min) + ", " + std::to_string(spec.q_max) +
                "] does not fit in " + std::to_string(spec.bits) + " bits (" + std::to_string(codes) + " codes)");
  for (int64_t q = spec.q_min; q <= spec.q_max; ++q) {
    const std::string qs = std::to_string(q);
    const uint32_t code = callRule(width, "encode(" + qs + ")", [&] { return spec.encode(int32_t(q)); });
    if (code >= uint64_t(codes))
      throw Error(width + "encode(" + qs + ") = " + std::to_string(code) + " does not fit in " +
                  std::to_string(spec.bits) + " bits");
    const int32_t back = callRule(width, "decode(" + std::to_string(code) + ")", [&] { return spec.decode(code); });
    if (back != q)
      throw Error(width + "decode(encode(" + qs + ")) = " + std::to_string(back) +
                  ": decode must invert encode on [q_min, q_max]");
    const float w = callRule(width, "dequantize(" + qs + ", 1, 0)", [&] { return spec.dequantize(int32_t(q), 1.0f, 0.0f); });
    if (!std::isfinite(w))
      throw Error(width + "dequantize(" + qs + ", 1, 0) = " + std::to_string(w) + ": must be a finite float");
  }
}

struct Registry {
  std::mutex mutex;
  std::map<int, std::unique_ptr<BitWidthSpec>> specs;  // unique_ptr: references stay valid

  void add(BitWidthSpec spec) {
    if (spec.bits < 1 || spec.bits > 16)
      throw Error("registerBitWidth: bits = " + std::to_string(spec.bits) + " is outside the supported range 1..16");
    if (!spec.encode || !spec.decode || !spec.dequantize)
      throw Error("registerBitWidth: width " + std::to_string(spec.bits) +
                  " needs encode, decode and dequantize rules");
    if (spec.q_min > spec.q_max)
      throw Error("registerBitWidth: width " + std::to_string(spec.bits) + " has q_min > q_max");
    checkName(spec);
    checkRules(spec);
    std::lock_guard<std::mutex> lock(mutex);
    if (specs.count(spec.bits))
      throw Error("registerBitWidth: bit width " + std::to_string(spec.bits) + " is already registered");
    int bits = spec.bits;
    specs[bits] = std::make_unique<BitWidthSpec>(std::move(spec));
  }
};

Registry& registry() {
  static Registry* r = [] {
    auto* reg = new Registry;  // never destroyed: lookups may run during static destruction
    reg->add(unsignedAsymmetricWidth(1));
    reg->add(unsignedAsymmetricWidth(2));
    reg->add(unsignedAsymmetricWidth(3));  // the worked example of docs/ADDING_A_BITWIDTH.md
    reg->add(unsignedAsymmetricWidth(4));
    reg->add(signedSymmetricWidth(8));
    return reg;
  }();
  return *r;
}

std::string listWidths(const std::map<int, std::unique_ptr<BitWidthSpec>>& specs) {
  std::string out;
  for (const auto& [bits, spec] : specs) out += (out.empty() ? "" : ", ") + std::to_string(bits);
  return out;
}

}  // namespace

void registerBitWidth(BitWidthSpec spec) { registry().add(std::move(spec)); }

bool isBitWidthRegistered(int bits) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.specs.count(bits) != 0;
}

const BitWidthSpec& bitWidthSpec(int bits) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.specs.find(bits);
  if (it == r.specs.end())
    throw Error("unknown bit width " + std::to_string(bits) + ": registered widths are " +
                listWidths(r.specs) + " (add one with registerBitWidth)");
  return *it->second;
}

std::vector<int> registeredBitWidths() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<int> out;
  for (const auto& [bits, spec] : r.specs) out.push_back(bits);
  return out;
}

}  // namespace uintx
