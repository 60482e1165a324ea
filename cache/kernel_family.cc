#include "cache/kernel_family.h"

namespace uintx::cache {

const char* familyName(KernelFamily family) {
  switch (family) {
    case KernelFamily::gemv: return "gemv";
    case KernelFamily::gemv_tiled: return "gemv_tiled";
    case KernelFamily::gemm: return "gemm";
    case KernelFamily::gemm_int8: return "gemm_int8";
  }
  return "?";
}

const std::vector<KernelFamily>& allFamilies() {
  static const std::vector<KernelFamily> all = {KernelFamily::gemv, KernelFamily::gemv_tiled, KernelFamily::gemm,
                                                KernelFamily::gemm_int8};
  return all;
}

std::optional<KernelFamily> parseFamily(const std::string& name) {
  for (KernelFamily f : allFamilies())
    if (name == familyName(f)) return f;
  return std::nullopt;
}

}  // namespace uintx::cache
