// DSL program -> PTX, in process: layouts and lowering (lower_to_gpu.h), then MLIR's
// GPU-to-NVVM pipeline and LLVM's NVPTX backend for sm_90a with PTX ISA 8.0.
//
// Set UINTX_DUMP_IR=<dir> (or "-" for stderr) to get the IR after every stage and the PTX:
// <kernel>-<hash>.1-ux.mlir (the program; <hash>: 8 hex digits of the program text and the
// options, so that configs of one kernel do not overwrite each other), .2-layouts.mlir (with the chosen layouts), .3-gpu.mlir
// (per-thread code in gpu/arith/scf/llvm/nvvm, the input of the NVVM pipeline), .4-ptx.
// UINTX_DEBUG_LAYOUTS=1 prints every layout conversion through shared memory the lowering
// inserts (each is a barrier pair and a round trip: a sign that a kernel's layouts disagree).
// Thread-safe: each call works in its own MLIR context clone of the program.
#pragma once

#include <string>
#include <vector>

#include "dsl/kernel_builder.h"

namespace uintx::codegen {

struct PtxKernel {
  std::string name;        // entry point
  std::string ptx;
  int numThreads = 128;    // block size the kernel was compiled for
  int sharedBytes = 0;    // dynamic shared memory each launch provides
  double compileMs = 0;
  std::vector<std::pair<std::string, std::string>> stages;  // (stage name, IR text), if kept
};

struct PtxOptions {
  std::string chip = "sm_90a";
  std::string features = "+ptx80";
  int vec = 4;
  bool keepStages = false;  // also true when UINTX_DUMP_IR is set
};

PtxKernel compileToPtx(const dsl::KernelProgram& program, const PtxOptions& options = {});

// The compiler's identity (LLVM version + this library's codegen version), for cache keys.
std::string compilerVersion();

}  // namespace uintx::codegen
