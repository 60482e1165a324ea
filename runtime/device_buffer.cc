#include "runtime/device_buffer.h"

#include <string>
#include <utility>

#include "runtime/cuda_driver.h"
#include "uintx/error.h"

namespace uintx::runtime {
namespace {

void checkRange(const char* what, size_t bytes, size_t offset, size_t size) {
  if (offset > size || bytes > size - offset)
    throw Error(std::string("DeviceBuffer::") + what + " of " + std::to_string(bytes) +
                " bytes at offset " + std::to_string(offset) + " overruns the " +
                std::to_string(size) + "-byte buffer");
}

}  // namespace

DeviceBuffer::DeviceBuffer(size_t bytes) {
  if (bytes == 0) return;
  const CudaDriverApi& api = cudaDriver();
  context_ = ensureCudaContext();
  std::string call = "cuMemAlloc(" + std::to_string(bytes) + " bytes)";
  checkCuda(api.cuMemAlloc_v2(&pointer_, bytes), call.c_str());
  bytes_ = bytes;
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : pointer_(std::exchange(other.pointer_, 0)),
      bytes_(std::exchange(other.bytes_, 0)),
      context_(std::exchange(other.context_, nullptr)) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    release();
    pointer_ = std::exchange(other.pointer_, 0);
    bytes_ = std::exchange(other.bytes_, 0);
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() { release(); }

void DeviceBuffer::release() noexcept {
  if (!pointer_) return;
  ScopedCudaContext inOwnContext(context_);
  cudaDriver().cuMemFree_v2(pointer_);  // errors ignored: the driver may be shutting down
  pointer_ = 0;
  bytes_ = 0;
  context_ = nullptr;
}

void DeviceBuffer::upload(const void* host, size_t bytes, size_t offset) {
  checkRange("upload", bytes, offset, bytes_);
  if (bytes == 0) return;
  ScopedCudaContext inOwnContext(context_);
  const CudaDriverApi& api = cudaDriver();
  checkCuda(api.cuMemcpyHtoD_v2(pointer_ + offset, host, bytes), "cuMemcpyHtoD");
  // From pageable memory the copy may still be in flight on return; finish it so that work
  // on non-blocking streams (which don't wait for the legacy stream) sees the data.
  checkCuda(api.cuStreamSynchronize(nullptr), "cuStreamSynchronize(legacy stream)");
}

void DeviceBuffer::download(void* host, size_t bytes, size_t offset) const {
  checkRange("download", bytes, offset, bytes_);
  if (bytes == 0) return;
  ScopedCudaContext inOwnContext(context_);
  checkCuda(cudaDriver().cuMemcpyDtoH_v2(host, pointer_ + offset, bytes), "cuMemcpyDtoH");
}

void DeviceBuffer::fillZero() {
  if (bytes_ == 0) return;
  ScopedCudaContext inOwnContext(context_);
  const CudaDriverApi& api = cudaDriver();
  checkCuda(api.cuMemsetD8_v2(pointer_, 0, bytes_), "cuMemsetD8");
  // cuMemsetD8 is asynchronous to the host for device memory: finish it (see upload).
  checkCuda(api.cuStreamSynchronize(nullptr), "cuStreamSynchronize(legacy stream)");
}

}  // namespace uintx::runtime
