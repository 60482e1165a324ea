#include "dispatch/device_weight.h"

#include "runtime/cuda_driver.h"

namespace uintx {

static runtime::DeviceBuffer upload(const uint8_t* data, size_t bytes) {
  if (bytes == 0) return runtime::DeviceBuffer();
  // Kernels read packed rows with 16-byte loads past the last full word: pad the buffer.
  runtime::DeviceBuffer b((bytes + 15) / 16 * 16 + 16);
  b.fillZero();
  b.upload(data, bytes);
  return b;
}

DeviceWeight::DeviceWeight(const QuantizedWeight& w)
    : format_(w.format()), hasBias_(w.hasBias()), context_(runtime::ensureCudaContext()),
      packed_(upload(w.packedData(), w.packedBytes())),
      scales_(upload(w.scalesData(), w.scalesBytes())),
      zeros_(upload(w.zerosData(), w.zerosBytes())),
      bias_(upload(w.biasData(), w.biasBytes())) {}

}  // namespace uintx
