// ux.reduce in row_sum_max (8 warps, blocked [1, 4] x [1, 32] x [4, 2]): each row of 256 is
// spread over 32 lanes x 2 warps: an in-thread fold of 4, 5 xor shuffles, then the two warps'
// partials meet in shared memory between barriers.
// RUN: uintx-opt %s -ux-assign-layouts -ux-lower-to-gpu | FileCheck %s

// Warps: 2 x 4 rows x 4 bytes of partials.
// CHECK: ux.shared_bytes = 32
// CHECK-LABEL: gpu.func @row_sum_max
func.func @row_sum_max(%arg0: !ux.ptr<f32>, %arg1: !ux.ptr<f32>, %arg2: !ux.ptr<f32>, %arg3: i32, %arg4: i32) attributes {ux.kernel, ux.num_warps = 8 : i32, ux.vec = 4 : i32} {
  %0 = ux.arange 0 to 4 : tensor<4xi32>
  %1 = ux.program_id 0 : i32
  %c4_i32 = arith.constant 4 : i32
  %2 = arith.muli %1, %c4_i32 : i32
  %3 = ux.splat %2 : i32 -> tensor<4xi32>
  %4 = arith.addi %3, %0 : tensor<4xi32>
  %5 = ux.arange 0 to 256 : tensor<256xi32>
  %6 = ux.expand_dims %4 {axis = 1 : i32} : tensor<4xi32> -> tensor<4x1xi32>
  %7 = ux.expand_dims %5 {axis = 0 : i32} : tensor<256xi32> -> tensor<1x256xi32>
  %8 = ux.splat %arg4 : i32 -> tensor<1x256xi32>
  %9 = arith.cmpi slt, %7, %8 : tensor<1x256xi32>
  %10 = ux.splat %arg3 : i32 -> tensor<4x1xi32>
  %11 = arith.cmpi slt, %6, %10 : tensor<4x1xi32>
  %12 = ux.broadcast %11 : tensor<4x1xi1> -> tensor<4x256xi1>
  %13 = ux.broadcast %9 : tensor<1x256xi1> -> tensor<4x256xi1>
  %14 = arith.andi %12, %13 : tensor<4x256xi1>
  %15 = ux.splat %arg4 : i32 -> tensor<4x1xi32>
  %16 = arith.muli %6, %15 : tensor<4x1xi32>
  %17 = ux.broadcast %16 : tensor<4x1xi32> -> tensor<4x256xi32>
  %18 = ux.broadcast %7 : tensor<1x256xi32> -> tensor<4x256xi32>
  %19 = arith.addi %17, %18 : tensor<4x256xi32>
  %20 = ux.splat %arg0 : !ux.ptr<f32> -> tensor<4x256x!ux.ptr<f32>>
  %21 = ux.addptr %20, %19 : tensor<4x256x!ux.ptr<f32>>, tensor<4x256xi32> -> tensor<4x256x!ux.ptr<f32>>
  %cst = arith.constant 0xFF800000 : f32
  %22 = ux.splat %cst : f32 -> tensor<4x256xf32>
  %23 = ux.load %21 mask %14 other %22 : tensor<4x256x!ux.ptr<f32>>, tensor<4x256xi1>, tensor<4x256xf32> -> tensor<4x256xf32>
  %24 = ux.splat %arg3 : i32 -> tensor<4xi32>
  %25 = arith.cmpi slt, %4, %24 : tensor<4xi32>
// In-thread: 4 columns, 3 maxima.
// CHECK-COUNT-3: arith.maximumf
// Across the 32 lanes of the row: xor shuffles over lane bits 0-4.
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK: arith.maximumf
// CHECK: gpu.shuffle  xor %{{.*}}, %c2_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c8_i32
// CHECK: gpu.shuffle  xor %{{.*}}, %c16_i32
// CHECK: arith.maximumf
// Across the 2 warps of the row: each stores its partial, then every thread folds both.
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: llvm.store %{{.*}} : f32, !llvm.ptr<3>
// CHECK: gpu.barrier
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: arith.maximumf
  %26 = ux.reduce "max" %23 {axis = 1 : i32} : tensor<4x256xf32> -> tensor<4xf32>
  %27 = ux.splat %arg2 : !ux.ptr<f32> -> tensor<4x!ux.ptr<f32>>
  %28 = ux.addptr %27, %4 : tensor<4x!ux.ptr<f32>>, tensor<4xi32> -> tensor<4x!ux.ptr<f32>>
  ux.store %28, %26 mask %25 : tensor<4x!ux.ptr<f32>>, tensor<4xf32>, tensor<4xi1>
  %29 = ux.splat %arg3 : i32 -> tensor<4xi32>
  %30 = arith.cmpi slt, %4, %29 : tensor<4xi32>
  %cst_0 = arith.constant 0.000000e+00 : f32
  %31 = ux.splat %cst_0 : f32 -> tensor<4x256xf32>
  %32 = arith.select %14, %23, %31 : tensor<4x256xi1>, tensor<4x256xf32>
// The sum: the same steps, with adds.
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: arith.addf
  %33 = ux.reduce "sum" %32 {axis = 1 : i32} : tensor<4x256xf32> -> tensor<4xf32>
  %34 = ux.splat %arg1 : !ux.ptr<f32> -> tensor<4x!ux.ptr<f32>>
  %35 = ux.addptr %34, %4 : tensor<4x!ux.ptr<f32>>, tensor<4xi32> -> tensor<4x!ux.ptr<f32>>
  ux.store %35, %33 mask %30 : tensor<4x!ux.ptr<f32>>, tensor<4xf32>, tensor<4xi1>
  return
}
