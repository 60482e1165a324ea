#include "capi/call_guard.h"

#include <exception>
#include <new>

#include "uintx/error.h"

namespace uintx::capi {
namespace {

thread_local std::string lastError;

uintx_status record(const char* function, uintx_status status, const char* message) noexcept {
  try {
    lastError = std::string(function) + ": " + message;
  } catch (...) {
    lastError.clear();  // no memory for the message: the status still tells
  }
  return status;
}

uintx_status statusOf(ErrorKind kind, uintx_status otherErrors) {
  switch (kind) {
    case ErrorKind::no_driver: return UINTX_ERROR_NO_DRIVER;
    case ErrorKind::cuda: return UINTX_ERROR_CUDA;
    case ErrorKind::other: break;
  }
  return otherErrors;
}

}  // namespace

void reject(const std::string& message) { throw CallError{UINTX_ERROR_INVALID_ARGUMENT, message}; }

uintx_status guardedCall(const char* function, uintx_status otherErrors, void (*body)(void*), void* context) noexcept {
  try {
    body(context);
    lastError.clear();
    return UINTX_OK;
  } catch (const CallError& e) {
    return record(function, e.status, e.message.c_str());
  } catch (const Error& e) {
    return record(function, statusOf(e.kind(), otherErrors), e.what());
  } catch (const std::bad_alloc&) {
    return record(function, UINTX_ERROR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return record(function, UINTX_ERROR_INTERNAL, e.what());
  } catch (...) {
    return record(function, UINTX_ERROR_INTERNAL, "an exception that is not a std::exception");
  }
}

std::string& threadString(int slot) {
  thread_local std::string strings[2];
  return strings[slot];
}

}  // namespace uintx::capi

extern "C" const char* uintx_last_error(void) { return uintx::capi::lastError.c_str(); }

extern "C" const char* uintx_status_name(uintx_status status) {
  switch (status) {
    case UINTX_OK: return "UINTX_OK";
    case UINTX_ERROR_INVALID_ARGUMENT: return "UINTX_ERROR_INVALID_ARGUMENT";
    case UINTX_ERROR_NO_DRIVER: return "UINTX_ERROR_NO_DRIVER";
    case UINTX_ERROR_CUDA: return "UINTX_ERROR_CUDA";
    case UINTX_ERROR_IO: return "UINTX_ERROR_IO";
    case UINTX_ERROR_OUT_OF_MEMORY: return "UINTX_ERROR_OUT_OF_MEMORY";
    case UINTX_ERROR_INTERNAL: return "UINTX_ERROR_INTERNAL";
    case UINTX_STATUS_MAX_ENUM: break;
  }
  return "unknown uintx_status";
}
