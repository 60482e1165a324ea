// A stand-in libnccl.so.2 for the loader tests: just enough of NCCL's C API to create
// communicators and fail collectives without a GPU. Built twice: complete, and without
// ncclAllGather (FAKE_NCCL_INCOMPLETE) to test the missing-symbol message.
#include <nccl.h>

#include <cstdlib>

extern "C" {

static int fakeComms[64];

ncclResult_t ncclGetVersion(int* version) {
  *version = 22805;
  return ncclSuccess;
}
ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  for (char& c : id->internal) c = 7;
  return ncclSuccess;
}
ncclResult_t ncclCommInitAll(ncclComm_t* comms, int ndev, const int* devlist) {
  // Like NCCL, refuse a device that does not exist (here: ordinals >= 8).
  for (int i = 0; i < ndev; ++i)
    if (devlist[i] >= 8) return ncclInvalidArgument;
  for (int i = 0; i < ndev; ++i) comms[i] = reinterpret_cast<ncclComm_t>(&fakeComms[devlist[i]]);
  return ncclSuccess;
}
ncclResult_t ncclCommInitRank(ncclComm_t*, int, ncclUniqueId, int) { return ncclSystemError; }
ncclResult_t ncclCommDestroy(ncclComm_t) { return ncclSuccess; }
ncclResult_t ncclAllReduce(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t, cudaStream_t) {
  return ncclUnhandledCudaError;
}
#ifndef FAKE_NCCL_INCOMPLETE
ncclResult_t ncclAllGather(const void*, void*, size_t, ncclDataType_t, ncclComm_t, cudaStream_t) {
  return ncclUnhandledCudaError;
}
#endif
ncclResult_t ncclGroupStart() { return ncclSuccess; }
ncclResult_t ncclGroupEnd() { return ncclSuccess; }
const char* ncclGetErrorString(ncclResult_t r) {
  return r == ncclInvalidArgument ? "invalid argument (fake)" : "some error (fake)";
}
const char* ncclGetLastError(ncclComm_t) { return "fake last error"; }

}  // extern "C"
