// CUDA streams and events owned by one object, and a GPU timer built on two events.
#pragma once
#include <cuda.h>

namespace uintx::runtime {

// A non-blocking stream (does not synchronize with the legacy default stream).
class CudaStream {
 public:
  CudaStream();
  CudaStream(CudaStream&& other) noexcept;
  CudaStream& operator=(CudaStream&& other) noexcept;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;
  ~CudaStream();

  CUstream get() const { return stream_; }
  void synchronize() const;

 private:
  void release() noexcept;
  CUstream stream_ = nullptr;
  CUcontext context_ = nullptr;
};

class CudaEvent {
 public:
  CudaEvent();  // timing enabled
  CudaEvent(CudaEvent&& other) noexcept;
  CudaEvent& operator=(CudaEvent&& other) noexcept;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;
  ~CudaEvent();

  CUevent get() const { return event_; }
  void record(CUstream stream);
  void synchronize() const;
  // Milliseconds from `start` to `end`; waits for `end` to complete first.
  static float elapsedMs(const CudaEvent& start, const CudaEvent& end);

 private:
  void release() noexcept;
  CUevent event_ = nullptr;
  CUcontext context_ = nullptr;
};

// Times work on one stream: start(s); <launches on s>; stop(s); elapsedMs().
class GpuTimer {
 public:
  void start(CUstream stream) { start_.record(stream); }
  void stop(CUstream stream) { stop_.record(stream); }
  float elapsedMs() const { return CudaEvent::elapsedMs(start_, stop_); }

 private:
  CudaEvent start_;
  CudaEvent stop_;
};

}  // namespace uintx::runtime
