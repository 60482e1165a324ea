// Loads and stores of vector_add (2 warps, 4 f32 per thread; n is a multiple of 16): each
// thread moves its 4 elements with one 16-byte access under the mask's predicate.
// RUN: uintx-opt %s -ux-assign-layouts -ux-lower-to-gpu | FileCheck %s

// CHECK: ux.shared_bytes = 0
// CHECK-LABEL: gpu.func @vector_add
// CHECK: "griddepcontrol.wait;"
func.func @vector_add(%arg0: !ux.ptr<f32>, %arg1: !ux.ptr<f32>, %arg2: !ux.ptr<f32>, %arg3: i32 {ux.divisibility = 16 : i32}) attributes {ux.kernel, ux.num_warps = 2 : i32, ux.vec = 4 : i32} {
  %0 = ux.arange 0 to 256 : tensor<256xi32>
  %1 = ux.program_id 0 : i32
  %c256_i32 = arith.constant 256 : i32
  %2 = arith.muli %1, %c256_i32 : i32
  %3 = ux.splat %2 : i32 -> tensor<256xi32>
  %4 = arith.addi %3, %0 : tensor<256xi32>
  %5 = ux.splat %arg3 : i32 -> tensor<256xi32>
  %6 = arith.cmpi slt, %4, %5 : tensor<256xi32>
  %7 = ux.splat %arg1 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
  %8 = ux.addptr %7, %4 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
// CHECK: @p ld.global.v4.b32 {$0, $1, $2, $3}, [$4];
  %9 = ux.load %8 mask %6 : tensor<256x!ux.ptr<f32>>, tensor<256xi1> -> tensor<256xf32>
  %10 = ux.splat %arg0 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
  %11 = ux.addptr %10, %4 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
// CHECK: @p ld.global.v4.b32 {$0, $1, $2, $3}, [$4];
// CHECK-NOT: ld.global
  %12 = ux.load %11 mask %6 : tensor<256x!ux.ptr<f32>>, tensor<256xi1> -> tensor<256xf32>
  %13 = arith.addf %12, %9 : tensor<256xf32>
  %14 = ux.splat %arg2 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
  %15 = ux.addptr %14, %4 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
// CHECK: @p st.global.v4.b32 [$0], {$2, $3, $4, $5};
// CHECK-NOT: st.global
// CHECK: gpu.return
  ux.store %15, %13 mask %6 : tensor<256x!ux.ptr<f32>>, tensor<256xf32>, tensor<256xi1>
  return
}
