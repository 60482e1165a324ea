// The layouts and the lowering of ux.dot on each tensor-core path.
// RUN: uintx-opt %s -split-input-file -ux-assign-layouts | FileCheck %s --check-prefix=LAYOUT
// RUN: uintx-opt %s -split-input-file -ux-assign-layouts -ux-lower-to-gpu | FileCheck %s --check-prefix=GPU

// acc[16, 64] += a[16, 32] @ trans(w[64, 32]) on 4 warps: every warp computes all 16 rows
// (warpsPerCTA [1, 4]), so w feeds the mma B fragments from registers (kRun 4: 8 bytes of
// bf16 per thread per mma step), and only a goes through shared memory, read with ld.shared.
// LAYOUT-LABEL: func.func @dot_w_in_registers
// LAYOUT: ux.load {{.*}}ux.layout = #ux.blocked<sizePerThread = [1, 4], threadsPerWarp = [4, 8], warpsPerCTA = [4, 1]>} : tensor<16x32x!ux.ptr<bf16>>
// LAYOUT: ux.load {{.*}}ux.layout = #ux.mma_operand_b<kRun = 4, warps = 4>} : tensor<64x32x!ux.ptr<bf16>>
// LAYOUT: ux.dot {{.*}}ux.layout = #ux.mma<warpsPerCTA = [1, 4]>}
// Shared memory holds a alone: 16 rows of 64 bytes + 16 of padding.
// GPU: ux.shared_bytes = 1280
// GPU-LABEL: gpu.func @dot_w_in_registers
// GPU: llvm.load %{{.*}} : !llvm.ptr<3> -> vector<2xi32>
// GPU: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// GPU-NOT: ldmatrix
// GPU-NOT: wgmma
func.func @dot_w_in_registers(%a: !ux.ptr<bf16>, %w: !ux.ptr<bf16>, %c: !ux.ptr<f32>) attributes {ux.kernel, ux.num_warps = 4 : i32, ux.vec = 4 : i32} {
  %c32 = arith.constant 32 : i32
  %c64 = arith.constant 64 : i32
  %m = ux.arange 0 to 16 : tensor<16xi32>
  %n = ux.arange 0 to 64 : tensor<64xi32>
  %k = ux.arange 0 to 32 : tensor<32xi32>
  %m1 = ux.expand_dims %m {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
  %n1 = ux.expand_dims %n {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %k0 = ux.expand_dims %k {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
  %n0 = ux.expand_dims %n {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  // a: m * 32 + k
  %s32a = ux.splat %c32 : i32 -> tensor<16x1xi32>
  %arow = arith.muli %m1, %s32a : tensor<16x1xi32>
  %arowb = ux.broadcast %arow : tensor<16x1xi32> -> tensor<16x32xi32>
  %akb = ux.broadcast %k0 : tensor<1x32xi32> -> tensor<16x32xi32>
  %aoff = arith.addi %arowb, %akb : tensor<16x32xi32>
  %ap = ux.splat %a : !ux.ptr<bf16> -> tensor<16x32x!ux.ptr<bf16>>
  %aptr = ux.addptr %ap, %aoff : tensor<16x32x!ux.ptr<bf16>>, tensor<16x32xi32> -> tensor<16x32x!ux.ptr<bf16>>
  %av = ux.load %aptr : tensor<16x32x!ux.ptr<bf16>> -> tensor<16x32xbf16>
  // w: n * 32 + k
  %s32w = ux.splat %c32 : i32 -> tensor<64x1xi32>
  %wrow = arith.muli %n1, %s32w : tensor<64x1xi32>
  %wrowb = ux.broadcast %wrow : tensor<64x1xi32> -> tensor<64x32xi32>
  %wkb = ux.broadcast %k0 : tensor<1x32xi32> -> tensor<64x32xi32>
  %woff = arith.addi %wrowb, %wkb : tensor<64x32xi32>
  %wp = ux.splat %w : !ux.ptr<bf16> -> tensor<64x32x!ux.ptr<bf16>>
  %wptr = ux.addptr %wp, %woff : tensor<64x32x!ux.ptr<bf16>>, tensor<64x32xi32> -> tensor<64x32x!ux.ptr<bf16>>
  %wv = ux.load %wptr : tensor<64x32x!ux.ptr<bf16>> -> tensor<64x32xbf16>
  %wt = ux.trans %wv : tensor<64x32xbf16> -> tensor<32x64xbf16>
  %zero = arith.constant 0.000000e+00 : f32
  %acc0 = ux.splat %zero : f32 -> tensor<16x64xf32>
  %acc = ux.dot %av, %wt, %acc0 : tensor<16x32xbf16>, tensor<32x64xbf16> -> tensor<16x64xf32>
  // c: m * 64 + n
  %s64 = ux.splat %c64 : i32 -> tensor<16x1xi32>
  %crow = arith.muli %m1, %s64 : tensor<16x1xi32>
  %crowb = ux.broadcast %crow : tensor<16x1xi32> -> tensor<16x64xi32>
  %cnb = ux.broadcast %n0 : tensor<1x64xi32> -> tensor<16x64xi32>
  %coff = arith.addi %crowb, %cnb : tensor<16x64xi32>
  %cp = ux.splat %c : !ux.ptr<f32> -> tensor<16x64x!ux.ptr<f32>>
  %cptr = ux.addptr %cp, %coff : tensor<16x64x!ux.ptr<f32>>, tensor<16x64xi32> -> tensor<16x64x!ux.ptr<f32>>
  ux.store %cptr, %acc : tensor<16x64x!ux.ptr<f32>>, tensor<16x64xf32>
  return
}

// -----

// acc[64, 64] on 4 warps splits 2 x 2: w rows are shared by two warps, so both operands are
// staged in shared memory (rows padded by 16 bytes) and read with ldmatrix.
// LAYOUT-LABEL: func.func @dot_ldmatrix
// LAYOUT: ux.dot {{.*}}ux.layout = #ux.mma<warpsPerCTA = [2, 2]>}
// a and w: 64 rows of 64 + 16 bytes each.
// GPU: ux.shared_bytes = 10240
// GPU-LABEL: gpu.func @dot_ldmatrix
// GPU: gpu.barrier
// GPU: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// GPU: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// Each warp: 32 x 32 of the accumulator = 2 m16 x 4 n8 blocks, 2 k steps.
// GPU-COUNT-15: mma.sync.aligned.m16n8k16
// GPU-NOT: mma.sync
func.func @dot_ldmatrix(%a: !ux.ptr<bf16>, %w: !ux.ptr<bf16>, %c: !ux.ptr<f32>) attributes {ux.kernel, ux.num_warps = 4 : i32, ux.vec = 4 : i32} {
  %c32 = arith.constant 32 : i32
  %c64 = arith.constant 64 : i32
  %r = ux.arange 0 to 64 : tensor<64xi32>
  %k = ux.arange 0 to 32 : tensor<32xi32>
  %r1 = ux.expand_dims %r {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %k0 = ux.expand_dims %k {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
  %r0 = ux.expand_dims %r {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %s32 = ux.splat %c32 : i32 -> tensor<64x1xi32>
  %row = arith.muli %r1, %s32 : tensor<64x1xi32>
  %rowb = ux.broadcast %row : tensor<64x1xi32> -> tensor<64x32xi32>
  %kb = ux.broadcast %k0 : tensor<1x32xi32> -> tensor<64x32xi32>
  %off = arith.addi %rowb, %kb : tensor<64x32xi32>
  %ap = ux.splat %a : !ux.ptr<bf16> -> tensor<64x32x!ux.ptr<bf16>>
  %aptr = ux.addptr %ap, %off : tensor<64x32x!ux.ptr<bf16>>, tensor<64x32xi32> -> tensor<64x32x!ux.ptr<bf16>>
  %av = ux.load %aptr : tensor<64x32x!ux.ptr<bf16>> -> tensor<64x32xbf16>
  %wp = ux.splat %w : !ux.ptr<bf16> -> tensor<64x32x!ux.ptr<bf16>>
  %wptr = ux.addptr %wp, %off : tensor<64x32x!ux.ptr<bf16>>, tensor<64x32xi32> -> tensor<64x32x!ux.ptr<bf16>>
  %wv = ux.load %wptr : tensor<64x32x!ux.ptr<bf16>> -> tensor<64x32xbf16>
  %wt = ux.trans %wv : tensor<64x32xbf16> -> tensor<32x64xbf16>
  %zero = arith.constant 0.000000e+00 : f32
  %acc0 = ux.splat %zero : f32 -> tensor<64x64xf32>
  %acc = ux.dot %av, %wt, %acc0 : tensor<64x32xbf16>, tensor<32x64xbf16> -> tensor<64x64xf32>
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

// -----

// acc[64, 64] with k = 64 bf16 (128 bytes, the swizzle's row) on 4 warps: warpgroup MMA,
// both operands read by the tensor cores from swizzled shared memory through descriptors.
// LAYOUT-LABEL: func.func @dot_wgmma
// LAYOUT: ux.dot {{.*}}ux.layout = #ux.wgmma<warps = 4>}
// a and w swizzled, unpadded: 2 x 64 rows x 128 bytes.
// GPU: ux.shared_bytes = 16384
// GPU-LABEL: gpu.func @dot_wgmma
// GPU: fence.proxy.async.shared::cta;
// GPU: wgmma.fence.sync.aligned;
// k = 64 bf16: 4 steps of k16, one m64n64 block per step.
// GPU-COUNT-4: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// GPU: wgmma.commit_group.sync.aligned;
// GPU: wgmma.wait_group.sync.aligned 0;
// GPU-NOT: ldmatrix
// GPU-NOT: mma.sync
func.func @dot_wgmma(%a: !ux.ptr<bf16>, %w: !ux.ptr<bf16>, %c: !ux.ptr<f32>) attributes {ux.kernel, ux.num_warps = 4 : i32, ux.vec = 4 : i32} {
  %c64 = arith.constant 64 : i32
  %r = ux.arange 0 to 64 : tensor<64xi32>
  %r1 = ux.expand_dims %r {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %r0 = ux.expand_dims %r {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %s64 = ux.splat %c64 : i32 -> tensor<64x1xi32>
  %row = arith.muli %r1, %s64 : tensor<64x1xi32>
  %rowb = ux.broadcast %row : tensor<64x1xi32> -> tensor<64x64xi32>
  %colb = ux.broadcast %r0 : tensor<1x64xi32> -> tensor<64x64xi32>
  %off = arith.addi %rowb, %colb : tensor<64x64xi32>
  %ap = ux.splat %a : !ux.ptr<bf16> -> tensor<64x64x!ux.ptr<bf16>>
  %aptr = ux.addptr %ap, %off : tensor<64x64x!ux.ptr<bf16>>, tensor<64x64xi32> -> tensor<64x64x!ux.ptr<bf16>>
  %av = ux.load %aptr : tensor<64x64x!ux.ptr<bf16>> -> tensor<64x64xbf16>
  %wp = ux.splat %w : !ux.ptr<bf16> -> tensor<64x64x!ux.ptr<bf16>>
  %wptr = ux.addptr %wp, %off : tensor<64x64x!ux.ptr<bf16>>, tensor<64x64xi32> -> tensor<64x64x!ux.ptr<bf16>>
  %wv = ux.load %wptr : tensor<64x64x!ux.ptr<bf16>> -> tensor<64x64xbf16>
  %wt = ux.trans %wv : tensor<64x64xbf16> -> tensor<64x64xbf16>
  %zero = arith.constant 0.000000e+00 : f32
  %acc0 = ux.splat %zero : f32 -> tensor<64x64xf32>
  %acc = ux.dot %av, %wt, %acc0 : tensor<64x64xbf16>, tensor<64x64xbf16> -> tensor<64x64xf32>
  %cp = ux.splat %c : !ux.ptr<f32> -> tensor<64x64x!ux.ptr<f32>>
  %cptr = ux.addptr %cp, %off : tensor<64x64x!ux.ptr<f32>>, tensor<64x64xi32> -> tensor<64x64x!ux.ptr<f32>>
  ux.store %cptr, %acc : tensor<64x64x!ux.ptr<f32>>, tensor<64x64xf32>
  return
}
