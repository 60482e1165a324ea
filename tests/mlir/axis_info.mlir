// The axis analysis on vector_add: what it proves of offsets, masks and pointers is what
// lets a thread's 4 elements be one predicated 16-byte access.
// RUN: uintx-opt %s -ux-test-axis-info 2>&1 | FileCheck %s

func.func @vector_add(%arg0: !ux.ptr<f32>, %arg1: !ux.ptr<f32>, %arg2: !ux.ptr<f32>, %arg3: i32 {ux.divisibility = 16 : i32}) attributes {ux.kernel, ux.num_warps = 2 : i32, ux.vec = 4 : i32} {
// A range is contiguous over its length; 0 is a multiple of any power of two (2^30 stands for all).
// CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: contiguity = 256, divisibility = 1073741824, constancy = 1
  %0 = ux.arange 0 to 256 : tensor<256xi32>
  %1 = ux.program_id 0 : i32
  %c256_i32 = arith.constant 256 : i32
  %2 = arith.muli %1, %c256_i32 : i32
  %3 = ux.splat %2 : i32 -> tensor<256xi32>
// pid * 256 + arange: runs of 256 that start at multiples of 256.
// CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: contiguity = 256, divisibility = 256, constancy = 1
  %4 = arith.addi %3, %0 : tensor<256xi32>
// n, promised a multiple of 16 (ux.divisibility), splat: one value over the tile.
// CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: contiguity = 1, divisibility = 16, constancy = 256
  %5 = ux.splat %arg3 : i32 -> tensor<256xi32>
// offs < n is uniform over runs of 16 (offs runs start at multiples of 256, n at 16).
// CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: contiguity = 1, divisibility = 1, constancy = 16
  %6 = arith.cmpi slt, %4, %5 : tensor<256xi32>
  %7 = ux.splat %arg1 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
// pointers: contiguous over 256 elements, 16-byte aligned (the pointer argument alignment).
// CHECK: :[[@LINE+1]]:{{[0-9]+}}: remark: contiguity = 256, divisibility = 16, constancy = 1
  %8 = ux.addptr %7, %4 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
  %9 = ux.load %8 mask %6 : tensor<256x!ux.ptr<f32>>, tensor<256xi1> -> tensor<256xf32>
  %10 = ux.splat %arg0 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
  %11 = ux.addptr %10, %4 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
  %12 = ux.load %11 mask %6 : tensor<256x!ux.ptr<f32>>, tensor<256xi1> -> tensor<256xf32>
  %13 = arith.addf %12, %9 : tensor<256xf32>
  %14 = ux.splat %arg2 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
  %15 = ux.addptr %14, %4 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
  ux.store %15, %13 mask %6 : tensor<256x!ux.ptr<f32>>, tensor<256xf32>, tensor<256xi1>
  return
}
