// The loop of tensor_copies.mlir, warp-specialized: the kernel gets a producer warpgroup (256
// threads for 4 computing warps); after the barriers that set up the mbarriers, the producers
// (thread 128 on) run a loop of copies only: wait for the buffer's release (from its second
// fill), arrive with the step's bytes, one TMA copy; the computing warps run the body on the
// full mbarriers with no copy and no barrier, release each buffer, then go on past the loop
// meeting at a named barrier over their 128 threads. (4 warps: no register moves.)
// RUN: uintx-opt %s -ux-assign-layouts -ux-lower-to-gpu | FileCheck %s

// CHECK: ux.shared_bytes = 6192
// CHECK: known_block_size = array<i32: 256, 1, 1>
// CHECK-COUNT-3: mbarrier.init.shared::cta.b64 [$0], 1;
// CHECK-COUNT-3: mbarrier.init.shared::cta.b64 [$0], 4;
// CHECK: scf.if
// CHECK-NOT: setmaxnreg
// CHECK: scf.for
// CHECK: @!q bra SKIP_${:uid}; WAIT_${:uid}: mbarrier.try_wait.parity
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], 2048;
// CHECK: cp.async.bulk.tensor.2d
// CHECK-NOT: cp.async.bulk.tensor.2d
// CHECK: } else {
// CHECK: scf.for {{.*}} -> (f32, i32, i32)
// CHECK-NOT: cp.async.bulk.tensor
// CHECK-NOT: gpu.barrier
// CHECK: mbarrier.try_wait.parity.shared::cta.b64 p, [$0], $1;
// CHECK: mbarrier.arrive.shared::cta.b64 _, [$0];
// CHECK: scf.yield
// CHECK: bar.sync 1, 128;
// CHECK-COUNT-6: mbarrier.inval.shared::cta.b64 [$0];
// The row sums' store, by the computing warps only, then the way out of both branches.
// CHECK: st.global.b32
// CHECK-NEXT: {{^ *}}}{{ *$}}
// CHECK-NEXT: gpu.return
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
  } {ux.num_stages = 3 : i32, ux.warp_specialized}
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
