// The one exception type uintx throws: every failure (bad input, CUDA error, corrupt
// file, compile failure) carries a message that names the bad value and the rule.
#pragma once
#include <stdexcept>
#include <string>

namespace uintx {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  // Out of line (include/error.cc, compiled with RTTI): the vtable and type_info are emitted
  // once, with RTTI, so that a user's typeid / dynamic_cast works although the library's
  // MLIR-facing code is compiled with -fno-rtti.
  ~Error() override;
};

}  // namespace uintx
