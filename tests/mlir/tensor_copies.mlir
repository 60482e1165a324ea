// A block of a tensor descriptor in a loop pipelined over 3 stages: its ring of 3 buffers
// (16 rows x 128 bytes, swizzled) is filled by TMA copies, one per block (its rows in order:
// map 0 of the tensor parameter), issued two steps ahead by one thread. Each buffer has two mbarriers after the rings (initialized once, invalidated
// after the loop): one whose phase completes with the step's bytes, which the step waits for,
// and one the 4 warps arrive on when they have read the buffer, which warp 0 waits for before
// it refills it. No barrier in the loop. The tensor map is an argument the kernel takes the
// address of (ux.tensor_maps).
// RUN: uintx-opt %s -ux-test-async-loads 2>&1 | FileCheck %s --check-prefix=CANDIDATES
// RUN: uintx-opt %s -ux-assign-layouts -ux-lower-to-gpu | FileCheck %s

// CANDIDATES: remark: pipelined: 3 stages, 1 async loads
// Three buffers of 2048 bytes, then 2 x 3 mbarriers.
// CHECK: ux.shared_bytes = 6192
// CHECK-LABEL: gpu.func @block_row_sum(%arg0: !llvm.ptr,
// CHECK-SAME: ux.tensor_maps = array<i32: 0>
// CHECK: gpu.barrier
// CHECK-COUNT-3: mbarrier.init.shared::cta.b64 [$0], 1;
// CHECK: fence.mbarrier_init.release.cluster;
// CHECK: gpu.barrier
// CHECK-COUNT-3: mbarrier.init.shared::cta.b64 [$0], 4;
// CHECK: fence.mbarrier_init.release.cluster;
// CHECK: gpu.barrier
// The prologue: steps 0 and 1, each an arrival with 2048 bytes and one copy, in a branch.
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], 2048;
// CHECK: scf.if
// CHECK-NOT: llvm.getelementptr
// CHECK: cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [$0], [$1, {$2, $3}], [$4];", "r,l,r,r,r,~{memory}" {{%[0-9]+}}, %arg0,
// CHECK-NOT: cp.async.bulk.tensor.2d
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], 2048;
// CHECK: cp.async.bulk.tensor.2d
// CHECK-NOT: cp.async.bulk.tensor.2d
// CHECK: scf.for
// Step t: wait for its buffer's phase (the parity is the loop's last carried value); warp 0
// waits for the release of the buffer step t + 2 refills (from its second fill on), copies
// step t + 2; the block is read from shared memory; each warp releases the buffer.
// CHECK-SAME: -> (f32, i32, i32)
// CHECK-NOT: gpu.barrier
// CHECK: mbarrier.try_wait.parity.shared::cta.b64 p, [$0], $1;
// CHECK-NOT: gpu.barrier
// CHECK: @!q bra SKIP_${:uid}; WAIT_${:uid}: mbarrier.try_wait.parity.shared::cta.b64 p, [$0], $1;
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], 2048;
// CHECK: cp.async.bulk.tensor.2d
// CHECK-NOT: cp.async.bulk.tensor.2d
// CHECK-NOT: cp.async.commit_group
// CHECK: llvm.load {{.*}} !llvm.ptr<3> -> vector<4xf32>
// CHECK-NOT: gpu.barrier
// CHECK: mbarrier.arrive.shared::cta.b64 _, [$0];
// CHECK: scf.yield
// CHECK: gpu.barrier
// CHECK-COUNT-6: mbarrier.inval.shared::cta.b64 [$0];
func.func @block_row_sum(%arg0: !ux.tensordesc<f32, [16, 32]>, %arg1: !ux.ptr<f32>, %arg2: i32, %arg3: i32) attributes {ux.kernel, ux.num_warps = 4 : i32, ux.vec = 4 : i32} {
  %0 = ux.program_id 0 : i32
  %c16_i32 = arith.constant 16 : i32
  %1 = arith.muli %0, %c16_i32 : i32
  %cst = arith.constant 0.000000e+00 : f32
  %2 = ux.splat %cst : f32 -> tensor<16xf32>
  %c32_i32 = arith.constant 32 : i32
  %c0_i32 = arith.constant 0 : i32
  %3 = scf.for %arg4 = %c0_i32 to %arg3 step %c32_i32 iter_args(%arg5 = %2) -> (tensor<16xf32>)  : i32 {
    %11 = ux.load_block %arg0[%1, %arg4] : <f32, [16, 32]> -> tensor<16x32xf32>
    %12 = ux.reduce "sum" %11 {axis = 1 : i32} : tensor<16x32xf32> -> tensor<16xf32>
    %13 = arith.addf %arg5, %12 : tensor<16xf32>
    scf.yield %13 : tensor<16xf32>
  } {ux.num_stages = 3 : i32}
  %4 = ux.arange 0 to 16 : tensor<16xi32>
  %5 = ux.splat %1 : i32 -> tensor<16xi32>
  %6 = arith.addi %5, %4 : tensor<16xi32>
  %7 = ux.splat %arg2 : i32 -> tensor<16xi32>
  %8 = arith.cmpi slt, %6, %7 : tensor<16xi32>
  %9 = ux.splat %arg1 : !ux.ptr<f32> -> tensor<16x!ux.ptr<f32>>
  %10 = ux.addptr %9, %6 : tensor<16x!ux.ptr<f32>>, tensor<16xi32> -> tensor<16x!ux.ptr<f32>>
  ux.store %10, %3 mask %8 : tensor<16x!ux.ptr<f32>>, tensor<16xf32>, tensor<16xi1>
  return
}
