// The one exception type uintx throws: every failure (bad input, CUDA error, corrupt
// file, compile failure) carries a message that names the bad value and the rule.
#pragma once
#include <stdexcept>
#include <string>

namespace uintx {

// What a caller may branch on without reading the message (the C API maps it to its status
// codes). Only the CUDA layer sets a kind; everything else is `other`, and the operation
// that failed says what it was (a rejected input, an unreadable file, ...).
enum class ErrorKind {
  other,      // rejected input, unreadable file, compile failure: the message says which
  no_driver,  // libcuda.so.1 missing, lacking entry points, or cuInit failed (no GPU)
  cuda,       // a CUDA driver call failed (out of device memory, launch failure, ...)
};

class Error : public std::runtime_error {
 public:
  // An Error made while a uintx::Error is being handled keeps that error's kind, so that the
  // rewrap-with-context pattern `catch (const Error& e) { throw Error("ctx: " + ...); }`
  // does not lose it.
  explicit Error(const std::string& message);
  Error(const std::string& message, ErrorKind kind) : std::runtime_error(message), kind_(kind) {}
  // Out of line (include/error.cc, compiled with RTTI): the vtable and type_info are emitted
  // once, with RTTI, so that a user's typeid / dynamic_cast works although the library's
  // MLIR-facing code is compiled with -fno-rtti.
  ~Error() override;

  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace uintx
