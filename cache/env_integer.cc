#include "cache/env_integer.h"

#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cache/printable_text.h"
#include "uintx/error.h"

namespace uintx::cache {

std::optional<int64_t> envInteger(const char* name, int64_t lo, int64_t hi) {
  const char* raw = std::getenv(name);
  if (!raw || !*raw) return std::nullopt;
  const std::string_view text(raw);
  int64_t value = 0;
  // Digits only: from_chars alone would take "-3", and stops quietly at "1e3"'s 'e'.
  const bool digits = text.find_first_not_of("0123456789") == std::string_view::npos;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!digits || ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi)
    throw Error(std::string(name) + "='" + printableText(text, 40) + "' is not an integer in " + std::to_string(lo) +
                ".." + std::to_string(hi) + " (docs/CACHE.md, \"Environment\"); unset it for the default");
  return value;
}

}  // namespace uintx::cache
