// Device memory owned by one object (cuMemAlloc / cuMemFree), with blocking copies
// to and from the host (for tests, tuning and benchmarks; not for a serving hot path).
#pragma once
#include <cuda.h>

#include <cstddef>
#include <vector>

namespace uintx::runtime {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  // Allocates in the current context (see ensureCudaContext); 0 bytes allocates nothing.
  explicit DeviceBuffer(size_t bytes);
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  CUdeviceptr get() const { return pointer_; }
  template <class T>
  T* as() const { return reinterpret_cast<T*>(pointer_); }
  size_t size() const { return bytes_; }

  // Blocking copies on the legacy default stream: they are complete on return, but do not
  // wait for work on non-blocking streams (synchronize those first). A range past the end
  // of the buffer throws uintx::Error.
  void upload(const void* host, size_t bytes, size_t offset = 0);
  void download(void* host, size_t bytes, size_t offset = 0) const;
  void fillZero();

  template <class T>
  static DeviceBuffer fromHost(const std::vector<T>& host) {
    DeviceBuffer buffer(host.size() * sizeof(T));
    buffer.upload(host.data(), buffer.size());
    return buffer;
  }
  template <class T>
  std::vector<T> toHost() const {
    std::vector<T> host(bytes_ / sizeof(T));
    download(host.data(), host.size() * sizeof(T));
    return host;
  }

 private:
  void release() noexcept;

  CUdeviceptr pointer_ = 0;
  size_t bytes_ = 0;
  CUcontext context_ = nullptr;
};

}  // namespace uintx::runtime
