// Every C API function runs its body through callGuarded: no exception crosses the C boundary,
// each failure becomes a uintx_status plus a per-thread message (uintx_last_error).
#pragma once

#include <string>
#include <type_traits>

#include "uintx/uintx_c.h"

namespace uintx::capi {

// A failure found by the C layer itself (NULL pointer, enum out of range, ...).
struct CallError {
  uintx_status status;
  std::string message;
};

[[noreturn]] void reject(const std::string& message);  // UINTX_ERROR_INVALID_ARGUMENT

// `pointer`, or a rejection naming the parameter when it is NULL.
template <class T>
T* required(T* pointer, const char* parameter) {
  if (!pointer) reject(std::string(parameter) + " is NULL");
  return pointer;
}

// Runs body(); maps what it throws to a status and records the message, prefixed with
// `function`. A uintx::Error of kind `other` means `otherErrors` here: the operation knows
// what its plain errors are (quantize: a rejected argument; load: an unreadable file).
uintx_status guardedCall(const char* function, uintx_status otherErrors, void (*body)(void*), void* context) noexcept;

template <class Body>
uintx_status callGuarded(const char* function, uintx_status otherErrors, Body&& body) noexcept {
  using Callable = std::remove_reference_t<Body>;
  return guardedCall(function, otherErrors, [](void* b) { (*static_cast<Callable*>(b))(); }, &body);
}

// The strings the cache getter hands out live here, per thread, like the last error.
std::string& threadString(int slot);

}  // namespace uintx::capi
