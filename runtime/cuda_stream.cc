#include "runtime/cuda_stream.h"

#include <utility>

#include "runtime/cuda_driver.h"

namespace uintx::runtime {

CudaStream::CudaStream() {
  const CudaDriverApi& api = cudaDriver();
  context_ = ensureCudaContext();
  checkCuda(api.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
}

CudaStream::CudaStream(CudaStream&& other) noexcept
    : stream_(std::exchange(other.stream_, nullptr)),
      context_(std::exchange(other.context_, nullptr)) {}

CudaStream& CudaStream::operator=(CudaStream&& other) noexcept {
  if (this != &other) {
    release();
    stream_ = std::exchange(other.stream_, nullptr);
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

CudaStream::~CudaStream() { release(); }

void CudaStream::release() noexcept {
  if (!stream_) return;
  ScopedCudaContext inOwnContext(context_);
  cudaDriver().cuStreamDestroy_v2(stream_);  // errors ignored: the driver may be shutting down
  stream_ = nullptr;
  context_ = nullptr;
}

void CudaStream::synchronize() const {
  checkCuda(cudaDriver().cuStreamSynchronize(stream_), "cuStreamSynchronize");
}

CudaEvent::CudaEvent() {
  const CudaDriverApi& api = cudaDriver();
  context_ = ensureCudaContext();
  checkCuda(api.cuEventCreate(&event_, CU_EVENT_DEFAULT), "cuEventCreate");
}

CudaEvent::CudaEvent(CudaEvent&& other) noexcept
    : event_(std::exchange(other.event_, nullptr)),
      context_(std::exchange(other.context_, nullptr)) {}

CudaEvent& CudaEvent::operator=(CudaEvent&& other) noexcept {
  if (this != &other) {
    release();
    event_ = std::exchange(other.event_, nullptr);
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

CudaEvent::~CudaEvent() { release(); }

void CudaEvent::release() noexcept {
  if (!event_) return;
  ScopedCudaContext inOwnContext(context_);
  cudaDriver().cuEventDestroy_v2(event_);
  event_ = nullptr;
  context_ = nullptr;
}

void CudaEvent::record(CUstream stream) {
  checkCuda(cudaDriver().cuEventRecord(event_, stream), "cuEventRecord");
}

void CudaEvent::synchronize() const {
  checkCuda(cudaDriver().cuEventSynchronize(event_), "cuEventSynchronize");
}

float CudaEvent::elapsedMs(const CudaEvent& start, const CudaEvent& end) {
  const CudaDriverApi& api = cudaDriver();
  end.synchronize();
  float ms = 0;
  checkCuda(api.cuEventElapsedTime_v2(&ms, start.event_, end.event_), "cuEventElapsedTime");
  return ms;
}

}  // namespace uintx::runtime
