// A QuantizedWeight copied to the GPU of the current CUDA context: what uintx::linear reads.
#pragma once

#include <cuda.h>

#include <memory>

#include "packing/quantized_weight.h"

namespace uintx {

class DeviceWeight {
 public:
  // Uploads packed words, scales, zeros and bias (in the current context, or the primary
  // context of device 0 when there is none). Throws uintx::Error without a GPU. The buffers
  // must not be written afterwards: kernels may read them before they wait for the kernels
  // before them on the stream (docs/ARCHITECTURE.md, "Overlapping launches"). Copies share
  // the device buffers, which are freed with the last copy.
  explicit DeviceWeight(const QuantizedWeight& weight);

  const WeightFormat& format() const { return format_; }
  bool hasBias() const { return bias_ != 0; }
  CUdeviceptr packed() const { return packed_; }
  CUdeviceptr scales() const { return scales_; }
  CUdeviceptr zeros() const { return zeros_; }  // 0 for formats without zeros
  CUdeviceptr bias() const { return bias_; }    // 0 without bias
  CUcontext context() const { return context_; }

 private:
  struct Buffers;  // owns the device memory (dispatch/device_weight.cc)
  WeightFormat format_;
  CUcontext context_ = nullptr;
  std::shared_ptr<const Buffers> buffers_;
  CUdeviceptr packed_ = 0, scales_ = 0, zeros_ = 0, bias_ = 0;
};

}  // namespace uintx
