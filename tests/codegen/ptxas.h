// Runs NVIDIA's ptxas on PTX text: the check that what codegen emits is valid for sm_90a.
#pragma once
#include <string>

namespace uintx::testing {
// ptxas from $UINTX_CUDA_PATH/bin, else /usr/local/cuda/bin; empty if none.
std::string findPtxas();
// Assembles `ptx` for `arch`; returns ptxas's exit status, its output in `log`.
int runPtxas(const std::string& ptx, const std::string& arch, std::string* log);
}  // namespace uintx::testing
