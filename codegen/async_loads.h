// Which loads of a pipelined loop can be copied to shared memory ahead of their step.
//
// A loop built with forLoop(..., stages = S >= 2) is software-pipelined by the lowering
// (Triton's num_stages): each candidate load is issued as cp.async into a ring of S
// shared-memory buffers, S - 1 steps before the step that uses it, and the step reads it from
// there (ldmatrix for a dot operand, ld.shared otherwise). A load is a candidate when issuing
// it early is possible and changes nothing:
//  - it is a tile load directly in the loop body (not in a nested loop);
//  - its pointers and mask are computed from the induction variable and values defined
//    before the loop only (no carried value, no other load): the lowering re-evaluates
//    that computation for a later step's induction variable;
//  - masked-off elements read as 0 (no `other`, or a splat zero): cp.async zero-fills them.
// A load_block is a candidate when its coordinates are computed that way (the TMA fills what
// lies outside the tensor with zeros).
// The lowering still checks what depends on layouts (each thread's accesses of 4, 8 or 16
// bytes) and keeps a load that fails it as an ordinary load.
#pragma once

#include <vector>

#include "dsl/UxDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace uintx::codegen {

struct AsyncLoad {
  ux::LoadOp load;         // a load through pointers (cp.async), or
  ux::LoadBlockOp block;   // a block of a tensor descriptor (a TMA copy)
  // The body's ops that compute the load's pointers and mask (the block's coordinates), in
  // program order.
  std::vector<mlir::Operation*> addressOps;
  mlir::Operation* op() const { return load ? ux::LoadOp(load).getOperation() : ux::LoadBlockOp(block).getOperation(); }
  mlir::Value result() const { return op()->getResult(0); }
};

// The loop's `stages` (1 when it is not marked for pipelining).
int loopStages(mlir::scf::ForOp loop);

// The candidate loads of `loop`, in program order.
std::vector<AsyncLoad> findAsyncLoads(mlir::scf::ForOp loop);

}  // namespace uintx::codegen
