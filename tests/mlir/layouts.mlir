// Layout assignment records a layout attribute on every tile; the layouts print and parse
// back (the second uintx-opt re-reads the first one's output), and the lowering takes them from
// the parsed IR. row_sum_max (examples/example_kernels.cc) on 8 warps: a [4, 256] f32 tile,
// its row max and row sum.
// RUN: uintx-opt %s -ux-assign-layouts | FileCheck %s
// RUN: uintx-opt %s -ux-assign-layouts | uintx-opt | FileCheck %s
// RUN: uintx-opt %s -ux-assign-layouts | uintx-opt -ux-lower-to-gpu | FileCheck %s --check-prefix=LOWERED

// LOWERED: gpu.func @row_sum_max
// LOWERED-NOT: ux.layout

// CHECK-LABEL: func.func @row_sum_max
// CHECK-SAME: ux.num_warps = 8 : i32
func.func @row_sum_max(%arg0: !ux.ptr<f32>, %arg1: !ux.ptr<f32>, %arg2: !ux.ptr<f32>, %arg3: i32, %arg4: i32) attributes {ux.kernel, ux.num_warps = 8 : i32, ux.vec = 4 : i32} {
// The row index: the rows of the [4, 256] layout, without its columns.
// CHECK: ux.arange 0 to 4 {ux.layout = #ux.slice<dim = 1, parent = #ux.blocked<sizePerThread = [1, 4], threadsPerWarp = [1, 32], warpsPerCTA = [4, 2]>>}
  %0 = ux.arange 0 to 4 : tensor<4xi32>
// Scalars have no layout.
// CHECK: ux.program_id 0 : i32
  %1 = ux.program_id 0 : i32
  %c4_i32 = arith.constant 4 : i32
  %2 = arith.muli %1, %c4_i32 : i32
  %3 = ux.splat %2 : i32 -> tensor<4xi32>
  %4 = arith.addi %3, %0 : tensor<4xi32>
// CHECK: ux.arange 0 to 256 {ux.layout = #ux.slice<dim = 0, parent = #ux.blocked<sizePerThread = [1, 4], threadsPerWarp = [1, 32], warpsPerCTA = [4, 2]>>}
  %5 = ux.arange 0 to 256 : tensor<256xi32>
// CHECK: ux.expand_dims %{{.*}} {axis = 1 : i32, ux.layout = #ux.blocked<sizePerThread = [1, 4], threadsPerWarp = [1, 32], warpsPerCTA = [4, 2]>}
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
// CHECK: ux.load %{{.*}} mask %{{.*}} other %{{.*}} {ux.layout = #ux.blocked<sizePerThread = [1, 4], threadsPerWarp = [1, 32], warpsPerCTA = [4, 2]>}
  %23 = ux.load %21 mask %14 other %22 : tensor<4x256x!ux.ptr<f32>>, tensor<4x256xi1>, tensor<4x256xf32> -> tensor<4x256xf32>
  %24 = ux.splat %arg3 : i32 -> tensor<4xi32>
  %25 = arith.cmpi slt, %4, %24 : tensor<4xi32>
// The row max lies where the row index does: the store after it moves no data.
// CHECK: ux.reduce "max" %{{.*}} {axis = 1 : i32, ux.layout = #ux.slice<dim = 1, parent = #ux.blocked<sizePerThread = [1, 4], threadsPerWarp = [1, 32], warpsPerCTA = [4, 2]>>}
  %26 = ux.reduce "max" %23 {axis = 1 : i32} : tensor<4x256xf32> -> tensor<4xf32>
  %27 = ux.splat %arg2 : !ux.ptr<f32> -> tensor<4x!ux.ptr<f32>>
// CHECK: ux.addptr %{{.*}} {ux.layout = #ux.slice<dim = 1, parent = #ux.blocked<sizePerThread = [1, 4], threadsPerWarp = [1, 32], warpsPerCTA = [4, 2]>>}
  %28 = ux.addptr %27, %4 : tensor<4x!ux.ptr<f32>>, tensor<4xi32> -> tensor<4x!ux.ptr<f32>>
  ux.store %28, %26 mask %25 : tensor<4x!ux.ptr<f32>>, tensor<4xf32>, tensor<4xi1>
  %29 = ux.splat %arg3 : i32 -> tensor<4xi32>
  %30 = arith.cmpi slt, %4, %29 : tensor<4xi32>
  %cst_0 = arith.constant 0.000000e+00 : f32
  %31 = ux.splat %cst_0 : f32 -> tensor<4x256xf32>
  %32 = arith.select %14, %23, %31 : tensor<4x256xi1>, tensor<4x256xf32>
  %33 = ux.reduce "sum" %32 {axis = 1 : i32} : tensor<4x256xf32> -> tensor<4xf32>
  %34 = ux.splat %arg1 : !ux.ptr<f32> -> tensor<4x!ux.ptr<f32>>
  %35 = ux.addptr %34, %4 : tensor<4x!ux.ptr<f32>>, tensor<4xi32> -> tensor<4x!ux.ptr<f32>>
  ux.store %35, %33 mask %30 : tensor<4x!ux.ptr<f32>>, tensor<4xf32>, tensor<4xi1>
  return
}
