// The layout attributes' verifiers: a layout that does not describe one warp of 32 lanes, or a
// slice of a dimension its parent does not have, is rejected when the IR is read.
// RUN: uintx-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{threadsPerWarp must cover the 32 lanes of a warp, covers 16}}
func.func @lanes(%a: tensor<64xi32> {ux.layout = #ux.blocked<sizePerThread = [4], threadsPerWarp = [16], warpsPerCTA = [1]>})

// -----

// expected-error @+1 {{dim 2 is not a dimension of a rank-2 parent that keeps one}}
func.func @slice(%a: tensor<64xi32> {ux.layout = #ux.slice<dim = 2, parent = #ux.mma<warpsPerCTA = [1, 4]>>})
