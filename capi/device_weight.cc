// Device weights: the upload of a host weight, and its release.
#include "capi/call_guard.h"
#include "capi/conversions.h"
#include "capi/handles.h"

using uintx::capi::callGuarded;
using uintx::capi::required;

// A plain uintx::Error here can only be a rejected weight; driver failures carry their kind.
extern "C" uintx_status uintx_device_weight_upload(const uintx_weight* weight, uintx_device_weight** out) {
  return callGuarded("uintx_device_weight_upload", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    required(weight, "weight");
    required(out, "out");
    *out = new uintx_device_weight{uintx::DeviceWeight(weight->weight)};
  });
}

// The device buffers go with the last copy of the DeviceWeight: this one.
extern "C" uintx_status uintx_device_weight_free(uintx_device_weight* weight) {
  return callGuarded("uintx_device_weight_free", UINTX_ERROR_INTERNAL, [&] { delete weight; });
}

extern "C" uintx_status uintx_device_weight_format(const uintx_device_weight* weight, uintx_format* out) {
  return callGuarded("uintx_device_weight_format", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    required(weight, "weight");
    *required(out, "out") = uintx::capi::cFormat(weight->weight.format());
  });
}
