// load_block's verifier: the result is the descriptor's block.
// RUN: uintx-opt %s -split-input-file -verify-diagnostics

func.func @wrong_shape(%d: !ux.tensordesc<i8, [16, 64]>, %r: i32) {
  // expected-error @+1 {{result must be the descriptor's block, 'tensor<16x64xi8>'}}
  %0 = ux.load_block %d[%r, %r] : !ux.tensordesc<i8, [16, 64]> -> tensor<16x32xi8>
  return
}

// -----

func.func @wrong_type(%d: !ux.tensordesc<i8, [16, 64]>, %r: i32) {
  // expected-error @+1 {{result must be the descriptor's block, 'tensor<16x64xi8>'}}
  %0 = ux.load_block %d[%r, %r] : !ux.tensordesc<i8, [16, 64]> -> tensor<16x64xbf16>
  return
}
