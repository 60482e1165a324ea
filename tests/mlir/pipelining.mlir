// Software pipelining of a K loop marked ux.num_stages = 3: both dot operands' loads depend
// on the induction variable alone, so they become cp.async copies into 3-buffer rings issued
// two steps ahead; the dot then reads them from the ring (ldmatrix), not from registers.
// RUN: uintx-opt %s -ux-test-async-loads 2>&1 | FileCheck %s --check-prefix=CANDIDATES
// RUN: uintx-opt %s -ux-assign-layouts -ux-lower-to-gpu | FileCheck %s

// CANDIDATES: remark: pipelined: 3 stages, 2 async loads
// Two rings of 3 buffers of 64 rows x (64 + 16) bytes, each rounded up to 1024 bytes.
// CHECK: ux.shared_bytes = 30720
// CHECK-LABEL: gpu.func @pipelined_dot
// The prologue: steps 0 and 1, each a group of 2 tiles x 4 copies of 8 bytes per thread.
// CHECK: gpu.barrier
// CHECK-COUNT-8: cp.async.ca.shared.global [$0], [$1], 8, $2;
// CHECK: cp.async.commit_group;
// CHECK-COUNT-8: cp.async.ca.shared.global [$0], [$1], 8, $2;
// CHECK: cp.async.commit_group;
// Step t: wait for its group (one may stay in flight), barrier, copy step t + 2, compute.
// CHECK: scf.for
// CHECK: cp.async.wait_group 1;
// CHECK: gpu.barrier
// CHECK-COUNT-8: cp.async.ca.shared.global
// CHECK: cp.async.commit_group;
// CHECK-NOT: ld.global
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: scf.yield
// The epilogue: the copies past the end may still be writing.
// CHECK: cp.async.wait_group 0;
// CHECK: gpu.barrier
func.func @pipelined_dot(%a: !ux.ptr<bf16>, %w: !ux.ptr<bf16>, %c: !ux.ptr<f32>, %K: i32 {ux.divisibility = 16 : i32}) attributes {ux.kernel, ux.num_warps = 4 : i32, ux.vec = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c32 = arith.constant 32 : i32
  %c64 = arith.constant 64 : i32
  %r = ux.arange 0 to 64 : tensor<64xi32>
  %r1 = ux.expand_dims %r {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %r0 = ux.expand_dims %r {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %sK = ux.splat %K : i32 -> tensor<64x1xi32>
  %row = arith.muli %r1, %sK : tensor<64x1xi32>
  %rowb = ux.broadcast %row : tensor<64x1xi32> -> tensor<64x32xi32>
  %zero = arith.constant 0.000000e+00 : f32
  %acc0 = ux.splat %zero : f32 -> tensor<64x64xf32>
  %acc = scf.for %k = %c0 to %K step %c32 iter_args(%accIn = %acc0) -> (tensor<64x64xf32>) : i32 {
    %kr = ux.arange 0 to 32 : tensor<32xi32>
    %ks = ux.splat %k : i32 -> tensor<32xi32>
    %kk = arith.addi %ks, %kr : tensor<32xi32>
    %k0 = ux.expand_dims %kk {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
    %kb = ux.broadcast %k0 : tensor<1x32xi32> -> tensor<64x32xi32>
    %off = arith.addi %rowb, %kb : tensor<64x32xi32>
    %ap = ux.splat %a : !ux.ptr<bf16> -> tensor<64x32x!ux.ptr<bf16>>
    %aptr = ux.addptr %ap, %off : tensor<64x32x!ux.ptr<bf16>>, tensor<64x32xi32> -> tensor<64x32x!ux.ptr<bf16>>
    // CANDIDATES: pipelining.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: async load, address from 8 ops
    %av = ux.load %aptr : tensor<64x32x!ux.ptr<bf16>> -> tensor<64x32xbf16>
    %wp = ux.splat %w : !ux.ptr<bf16> -> tensor<64x32x!ux.ptr<bf16>>
    %wptr = ux.addptr %wp, %off : tensor<64x32x!ux.ptr<bf16>>, tensor<64x32xi32> -> tensor<64x32x!ux.ptr<bf16>>
    // CANDIDATES: pipelining.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: async load, address from 8 ops
    %wv = ux.load %wptr : tensor<64x32x!ux.ptr<bf16>> -> tensor<64x32xbf16>
    %wt = ux.trans %wv : tensor<64x32xbf16> -> tensor<32x64xbf16>
    %accOut = ux.dot %av, %wt, %accIn : tensor<64x32xbf16>, tensor<32x64xbf16> -> tensor<64x64xf32>
    scf.yield %accOut : tensor<64x64xf32>
  } {ux.num_stages = 3 : i32}
  %s64 = ux.splat %c64 : i32 -> tensor<64x1xi32>
  %crow = arith.muli %r1, %s64 : tensor<64x1xi32>
  %crowb = ux.broadcast %crow : tensor<64x1xi32> -> tensor<64x64xi32>
  %cnb = ux.broadcast %r0 : tensor<1x64xi32> -> tensor<64x64xi32>
  %coff = arith.addi %crowb, %cnb : tensor<64x64xi32>
  %cp = ux.splat %c : !ux.ptr<f32> -> tensor<64x64x!ux.ptr<f32>>
  %cptr = ux.addptr %cp, %coff : tensor<64x64x!ux.ptr<f32>>, tensor<64x64xi32> -> tensor<64x64x!ux.ptr<f32>>
  ux.store %cptr, %acc : tensor<64x64x!ux.ptr<f32>>, tensor<64x64xf32>
  return
}
