#include "uintx/device_weight.h"

#include "runtime/cuda_driver.h"
#include "runtime/device_buffer.h"

namespace uintx {

struct DeviceWeight::Buffers {
  runtime::DeviceBuffer packed, scales, zeros, bias;
};

static runtime::DeviceBuffer upload(const uint8_t* data, size_t bytes) {
  if (bytes == 0) return runtime::DeviceBuffer();
  // Kernels read packed rows with 16-byte loads past the last full word: pad the buffer.
  runtime::DeviceBuffer b((bytes + 15) / 16 * 16 + 16);
  b.fillZero();
  b.upload(data, bytes);
  return b;
}

DeviceWeight::DeviceWeight(const QuantizedWeight& w) : format_(w.format()), context_(runtime::ensureCudaContext()) {
  auto b = std::make_shared<Buffers>();
  b->packed = upload(w.packedData(), w.packedBytes());
  b->scales = upload(w.scalesData(), w.scalesBytes());
  b->zeros = upload(w.zerosData(), w.zerosBytes());
  b->bias = w.hasBias() ? upload(w.biasData(), w.biasBytes()) : runtime::DeviceBuffer();
  packed_ = b->packed.get();
  scales_ = b->scales.get();
  zeros_ = b->zeros.get();
  bias_ = b->bias.get();
  buffers_ = std::move(b);
}

}  // namespace uintx
