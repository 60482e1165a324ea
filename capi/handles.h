// What the C API's opaque handles hold: the C++ objects themselves, owned by the handle.
#pragma once

#include "uintx/uintx.h"
#include "uintx/uintx_c.h"

struct uintx_weight {
  uintx::QuantizedWeight weight;
};

struct uintx_device_weight {
  uintx::DeviceWeight weight;
};
