// SHA-256 (FIPS 180-4), used for the compiled-kernel cache's keys and entry checksums:
// deterministic across processes and builds, unlike std::hash.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace uintx::cache {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view bytes);
  std::array<uint8_t, 32> digest();  // finishes; the object is spent afterwards
  std::string hexDigest();           // 64 lowercase hex characters

 private:
  void compress(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t totalBytes_ = 0;
};

std::string sha256Hex(std::string_view bytes);

}  // namespace uintx::cache
