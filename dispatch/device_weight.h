// A QuantizedWeight copied to the GPU of the current CUDA context: what uintx::linear reads.
#pragma once

#include <cuda.h>

#include "runtime/device_buffer.h"
#include "packing/quantized_weight.h"

namespace uintx {

class DeviceWeight {
 public:
  // Uploads packed words, scales, zeros and bias (in the current context; see
  // runtime::ensureCudaContext). Throws uintx::Error without a GPU. The buffers must not be written
  // afterwards: kernels may read them before they wait for the kernels before them on the
  // stream (docs/ARCHITECTURE.md, "Overlapping launches").
  explicit DeviceWeight(const QuantizedWeight& weight);

  const WeightFormat& format() const { return format_; }
  bool hasBias() const { return hasBias_; }
  CUdeviceptr packed() const { return packed_.get(); }
  CUdeviceptr scales() const { return scales_.get(); }
  CUdeviceptr zeros() const { return zeros_.get(); }  // 0 for formats without zeros
  CUdeviceptr bias() const { return bias_.get(); }    // 0 without bias
  CUcontext context() const { return context_; }

 private:
  WeightFormat format_;
  bool hasBias_;
  CUcontext context_;
  runtime::DeviceBuffer packed_, scales_, zeros_, bias_;
};

}  // namespace uintx
