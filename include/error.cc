#include "uintx/error.h"

#include <exception>

namespace uintx {
namespace {

// The kind of the uintx::Error being handled on this thread (inside a catch block), if any.
ErrorKind kindOfHandledError() {
  std::exception_ptr handled = std::current_exception();
  if (!handled) return ErrorKind::other;
  try {
    std::rethrow_exception(handled);
  } catch (const Error& e) {
    return e.kind();
  } catch (...) {
    return ErrorKind::other;
  }
}

}  // namespace

Error::Error(const std::string& message) : std::runtime_error(message), kind_(kindOfHandledError()) {}

Error::~Error() = default;

}  // namespace uintx
