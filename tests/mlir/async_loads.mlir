// Which loads of a loop marked ux.num_stages = 2 become cp.async copies (async_loads.h), and
// the layouts of a loop carrying a tile and a scalar (ux.layouts: one per result, `unit` for the
// scalar), read back by the lowering from printed IR. async_candidates (tests/codegen/
// async_loads_test.cc): of six loads, those whose address comes from the induction variable
// and loop-invariant values, with masked-off lanes reading 0, are candidates.
// RUN: uintx-opt %s -ux-test-async-loads 2>&1 | FileCheck %s --check-prefix=CANDIDATES
// RUN: uintx-opt %s -ux-assign-layouts | uintx-opt | FileCheck %s --check-prefix=LAYOUT
// RUN: uintx-opt %s -ux-assign-layouts | uintx-opt -ux-lower-to-gpu | FileCheck %s

// CANDIDATES: remark: pipelined: 2 stages, 3 async loads
// LAYOUT: } {ux.layouts = [#ux.blocked<sizePerThread = [4], threadsPerWarp = [32], warpsPerCTA = [4]>, unit], ux.num_stages = 2 : i32}
// Prologue: one 16-byte copy per thread for %10 and %31, four 4-byte ones for the masked %28.
// CHECK-LABEL: gpu.func @async_candidates
// CHECK: cp.async.cg.shared.global [$0], [$1], 16, $2;
// CHECK-COUNT-4: cp.async.ca.shared.global [$0], [$1], 4, $2;
// CHECK: cp.async.cg.shared.global [$0], [$1], 16, $2;
// CHECK: cp.async.commit_group;
// CHECK: scf.for
// CHECK: cp.async.wait_group 0;
// CHECK: cp.async.commit_group;
// The other three stay global loads in the body.
// CHECK: ld.global
// CHECK: cp.async.wait_group 0;

func.func @async_candidates(%arg0: !ux.ptr<f32>, %arg1: !ux.ptr<f32>, %arg2: !ux.ptr<i32>, %arg3: !ux.ptr<f32>, %arg4: i32) attributes {ux.kernel, ux.num_warps = 4 : i32, ux.vec = 4 : i32} {
  %cst = arith.constant 0.000000e+00 : f32
  %0 = ux.splat %cst : f32 -> tensor<256xf32>
  %c0_i32 = arith.constant 0 : i32
  %c256_i32 = arith.constant 256 : i32
  %c0_i32_0 = arith.constant 0 : i32
  %1:2 = scf.for %arg5 = %c0_i32_0 to %arg4 step %c256_i32 iter_args(%arg6 = %0, %arg7 = %c0_i32) -> (tensor<256xf32>, i32)  : i32 {
    %5 = ux.arange 0 to 256 : tensor<256xi32>
    %6 = ux.splat %arg5 : i32 -> tensor<256xi32>
    %7 = arith.addi %6, %5 : tensor<256xi32>
    %8 = ux.splat %arg0 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
    %9 = ux.addptr %8, %7 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
    // The address of step iv: a candidate.
    // CANDIDATES: :[[@LINE+1]]:{{[0-9]+}}: remark: async load, address from 5 ops
    %10 = ux.load %9 : tensor<256x!ux.ptr<f32>> -> tensor<256xf32>
    %11 = ux.arange 0 to 256 : tensor<256xi32>
    %12 = ux.splat %arg7 : i32 -> tensor<256xi32>
    %13 = arith.addi %12, %11 : tensor<256xi32>
    %14 = ux.splat %arg0 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
    %15 = ux.addptr %14, %13 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
    // From a carried value: not a candidate.
    // CANDIDATES-NOT: :[[@LINE+1]]:{{[0-9]+}}: remark: async load
    %16 = ux.load %15 : tensor<256x!ux.ptr<f32>> -> tensor<256xf32>
    %17 = ux.splat %arg4 : i32 -> tensor<256xi32>
    %18 = arith.cmpi slt, %7, %17 : tensor<256xi32>
    %19 = ux.splat %arg1 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
    %20 = ux.addptr %19, %7 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
    %cst_1 = arith.constant 1.000000e+00 : f32
    %21 = ux.splat %cst_1 : f32 -> tensor<256xf32>
    // Masked-off lanes read 1.0, which cp.async cannot write: not a candidate.
    // CANDIDATES-NOT: :[[@LINE+1]]:{{[0-9]+}}: remark: async load
    %22 = ux.load %20 mask %18 other %21 : tensor<256x!ux.ptr<f32>>, tensor<256xi1>, tensor<256xf32> -> tensor<256xf32>
    %23 = ux.splat %arg4 : i32 -> tensor<256xi32>
    %24 = arith.cmpi slt, %7, %23 : tensor<256xi32>
    %25 = ux.splat %arg1 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
    %26 = ux.addptr %25, %7 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
    %cst_2 = arith.constant 0.000000e+00 : f32
    %27 = ux.splat %cst_2 : f32 -> tensor<256xf32>
    // Masked-off lanes read 0 (cp.async zero-fills): a candidate.
    // CANDIDATES: :[[@LINE+1]]:{{[0-9]+}}: remark: async load, address from 7 ops
    %28 = ux.load %26 mask %24 other %27 : tensor<256x!ux.ptr<f32>>, tensor<256xi1>, tensor<256xf32> -> tensor<256xf32>
    %29 = ux.splat %arg2 : !ux.ptr<i32> -> tensor<256x!ux.ptr<i32>>
    %30 = ux.addptr %29, %7 : tensor<256x!ux.ptr<i32>>, tensor<256xi32> -> tensor<256x!ux.ptr<i32>>
    // CANDIDATES: :[[@LINE+1]]:{{[0-9]+}}: remark: async load, address from 5 ops
    %31 = ux.load %30 : tensor<256x!ux.ptr<i32>> -> tensor<256xi32>
    %32 = ux.splat %arg0 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
    %33 = ux.addptr %32, %31 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
    // Its address comes from another load: not a candidate.
    // CANDIDATES-NOT: :[[@LINE+1]]:{{[0-9]+}}: remark: async load
    %34 = ux.load %33 : tensor<256x!ux.ptr<f32>> -> tensor<256xf32>
    %35 = arith.addf %arg6, %10 : tensor<256xf32>
    %36 = arith.addf %35, %16 : tensor<256xf32>
    %37 = arith.addf %36, %22 : tensor<256xf32>
    %38 = arith.addf %37, %28 : tensor<256xf32>
    %39 = arith.addf %38, %34 : tensor<256xf32>
    %c256_i32_3 = arith.constant 256 : i32
    %40 = arith.addi %arg7, %c256_i32_3 : i32
    scf.yield %39, %40 : tensor<256xf32>, i32
  } {ux.num_stages = 2 : i32}
  %2 = ux.arange 0 to 256 : tensor<256xi32>
  %3 = ux.splat %arg3 : !ux.ptr<f32> -> tensor<256x!ux.ptr<f32>>
  %4 = ux.addptr %3, %2 : tensor<256x!ux.ptr<f32>>, tensor<256xi32> -> tensor<256x!ux.ptr<f32>>
  ux.store %4, %1#0 : tensor<256x!ux.ptr<f32>>, tensor<256xf32>
  return
}
