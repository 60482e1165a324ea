// last_to_arrive: a barrier after the program's stores, one thread's atomic increment that
// wraps back to 0 after `arrivals - 1` (acquire and release at GPU scope), the count handed to
// every thread through shared memory after a second barrier, and the comparison with the
// last count.
// RUN: uintx-opt %s -ux-assign-layouts -ux-lower-to-gpu | FileCheck %s

// CHECK: ux.shared_bytes = 4
// CHECK-LABEL: gpu.func @finish_last
func.func @finish_last(%arg0: !ux.ptr<f32>, %arg1: !ux.ptr<i32>) attributes {ux.kernel, ux.num_warps = 2 : i32, ux.vec = 1 : i32} {
  %0 = ux.program_id 0 : i32
  %1 = arith.sitofp %0 : i32 to f32
  %2 = ux.addptr %arg0, %0 : !ux.ptr<f32>, i32 -> !ux.ptr<f32>
// CHECK: st.global
  ux.store %2, %1 : !ux.ptr<f32>, f32
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: "atom.acq_rel.gpu.global.inc.u32 $0, [$1], 2;"
// CHECK: llvm.store
// CHECK: gpu.barrier
// CHECK: llvm.load
// CHECK: arith.cmpi eq, {{.*}}, %c2_i32
  %3 = ux.last_to_arrive %arg1 arrivals 3 : !ux.ptr<i32>
  %c100 = arith.constant 100 : i32
  %4 = ux.addptr %arg0, %c100 : !ux.ptr<f32>, i32 -> !ux.ptr<f32>
  ux.store %4, %1 mask %3 : !ux.ptr<f32>, f32, i1
  return
}
