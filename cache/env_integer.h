// The library's integer switches from the environment (docs/CACHE.md, "Environment"), read
// strictly: a value outside the documented ones is an error naming the variable, where the
// old reads took any other text as "unset" (UINTX_SHIPPED_TABLES=off kept the tables) or its
// leading digits (UINTX_GEMM_MIN_M=1e3 meant 1).
#pragma once
#include <cstdint>
#include <optional>

namespace uintx::cache {

// $name as a decimal integer in [lo, hi]; nullopt when unset or empty. Throws uintx::Error for
// anything else (signs, spaces, suffixes, out of range).
std::optional<int64_t> envInteger(const char* name, int64_t lo, int64_t hi);

}  // namespace uintx::cache
