#include "dispatch/stored_kernel.h"

#include <charconv>
#include <string_view>

#include "codegen/layout.h"

namespace uintx::dispatch {

namespace {

// A decimal number of 1-9 digits (no sign, no space), the whole of `text`.
std::optional<int> smallNumber(std::string_view text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  int value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

std::string storedKernelText(const codegen::PtxKernel& kernel) {
  return std::to_string(kernel.numThreads) + " " + std::to_string(kernel.sharedBytes) + "\n" + kernel.ptx;
}

std::optional<codegen::PtxKernel> parseStoredKernel(const std::string& text, const std::string& name, int programThreads) {
  const size_t newline = text.find('\n');
  if (newline == std::string::npos || newline + 1 == text.size()) return std::nullopt;
  const std::string_view header(text.data(), newline);
  const size_t space = header.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::optional<int> threads = smallNumber(header.substr(0, space)), shared = smallNumber(header.substr(space + 1));
  if (!threads || !shared || *threads != programThreads || *shared > codegen::kMaxSharedBytes) return std::nullopt;
  codegen::PtxKernel k;
  k.name = name;
  k.numThreads = *threads;
  k.sharedBytes = *shared;
  k.ptx = text.substr(newline + 1);
  return k;
}

}  // namespace uintx::dispatch
