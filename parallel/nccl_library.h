// NCCL's C API, loaded with dlopen at first use, so that the parallel layers build and their
// CPU tests run on machines without NCCL; a missing NCCL is an error only when a
// communicator is created. <nccl.h> (CUDA toolkit) is used for types only; NCCL is never linked.
//
// Where libnccl.so.2 comes from:
//   $UINTX_LIBNCCL when set (that file only: an explicit choice is never silently replaced),
//   else "libnccl.so.2" through the dynamic loader's search path,
//   else the copy inside the nvidia-nccl-cu13 pip package (python site-/dist-packages:
//   .../nvidia/nccl/lib/libnccl.so.2).
//
// NVLink multicast (NVLS) stays off: the loader and every communicator creation set
// NCCL_NVLS_ENABLE=0 in the environment first (overwriting any other value), because the
// GPU machines this project runs on must not use multicast objects.
#pragma once
#include <nccl.h>

#include <string>

namespace uintx::parallel {

#define UINTX_NCCL_ENTRIES(X)                                                              \
  X(ncclGetUniqueId) X(ncclCommInitRank) X(ncclCommInitAll) X(ncclCommDestroy)             \
  X(ncclAllReduce) X(ncclAllGather) X(ncclGroupStart) X(ncclGroupEnd) X(ncclGetErrorString) \
  X(ncclGetVersion)

struct NcclApi {
#define UINTX_NCCL_ENTRY_MEMBER(name) decltype(&::name) name = nullptr;
  UINTX_NCCL_ENTRIES(UINTX_NCCL_ENTRY_MEMBER)
#undef UINTX_NCCL_ENTRY_MEMBER
  // Optional (NCCL 2.13+): the last error's details; null on older libraries.
  decltype(&::ncclGetLastError) ncclGetLastError = nullptr;
};

// Sets NCCL_NVLS_ENABLE=0 unless it already is "0". Call before any NCCL initialization
// (the loader and the Communicator factories do).
void disableNvlinkMulticast();

// True when libnccl.so.2 loads and has every entry point; otherwise false with the reason.
bool ncclAvailable(std::string* why = nullptr);

// The loaded library; throws uintx::Error("NCCL is not available: ...") naming every path
// tried and how to point at one.
const NcclApi& nccl();

// The file that was loaded ("" when none) and its version as "major.minor.patch".
std::string ncclLibraryPath();
std::string ncclVersionString();

// Throws uintx::Error naming `call`, NCCL's error name/text and the code.
void checkNccl(ncclResult_t result, const char* call, ncclComm_t comm = nullptr);

}  // namespace uintx::parallel
