// The kernels directory's entry for a compiled kernel: "<threads> <shared bytes>", a newline,
// then the PTX. Written by this process, but read back from a file that may have been cut or
// edited, so the reader is strict.
#pragma once

#include <optional>
#include <string>

#include "codegen/ptx_compiler.h"

namespace uintx::dispatch {

std::string storedKernelText(const codegen::PtxKernel& kernel);

// The kernel an entry holds, or nullopt when the entry is not one this build accepts: a header
// other than two decimal numbers and a newline, a thread count other than the program's (a
// file confirms a kernel's launch geometry, it never chooses it), shared memory past what a
// launch can use (227 KiB), or no PTX.
std::optional<codegen::PtxKernel> parseStoredKernel(const std::string& text, const std::string& name, int programThreads);

}  // namespace uintx::dispatch
