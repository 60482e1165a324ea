// CPU interpreter of the ux kernel dialect: the reference semantics of the DSL (Triton's
// TRITON_INTERPRET is the model). CI has no GPU; tests run kernel programs here and compare
// with plain C++, and the GPU lowering must compute what this interpreter computes.
//
// Semantics (the spec the GPU lowering must match):
//  - Execution: every program instance of the grid runs to completion, one after another, in
//    the order z, y, x (x fastest). Programs that depend on this order (other than through
//    atomic_add) race on the GPU.
//  - Tiles are dense row-major arrays; a scalar is a tile of one element. Elementwise ops act
//    lane by lane in row-major order.
//  - Floats: f32 math is done in float (never double). bf16/f16 math is done in f32 and the
//    result rounded to the type (round to nearest, ties to even) after every op. truncf
//    rounds RNE; extf is exact. maximumf/minimumf propagate NaN and order -0 < +0.
//    cmpf follows the predicate's ordered/unordered meaning (NaN: ordered false).
//  - Integers: two's complement, wrap on overflow. divsi/remsi round toward zero (remainder
//    has the dividend's sign); INT_MIN / -1 wraps to INT_MIN (remainder 0). Division or
//    remainder by zero throws uintx::Error, in any lane: arithmetic has no mask, so a kernel
//    must not divide by lanes it loaded as masked-off zeros. Shift amounts are read as unsigned; amounts >= the
//    bit width give 0 for shli/shrui and the sign fill for shrsi (PTX's clamp).
//  - Casts: sitofp/uitofp round once, RNE, to the target type (no double rounding through
//    f32). fptosi/fptoui round toward zero, saturate to the target range, NaN -> 0 (PTX
//    cvt.rzi.sat). trunci keeps the low bits; extsi/extui sign/zero extend. bitcast keeps bits.
//  - Pointers are (buffer, byte offset). addptr adds offset * sizeof(pointee), the offset read
//    as a signed integer of its width. load/store/atomic_add lanes whose mask is false never
//    touch memory (load gives `other` there, or 0). An enabled lane outside its buffer throws
//    uintx::Error naming the op, the parameter, the element offset and the buffer size.
//  - load_block reads the [rows, cols] block at (row, col) of a tensor argument (row-major,
//    rowStride elements apart); elements outside [0, rows) x [0, cols) read as 0 (TMA's fill).
//    A column coordinate that is not a multiple of 16 bytes throws (the TMA faults on it).
//  - atomic_add: lanes applied in row-major order; f32 adds in float, i32 wraps.
//  - reduce sum: along the axis in element order, accumulating in the element type (f32 in
//    float, integers wrap); bf16/f16 accumulate in f32 and round once at the end.
//    reduce max: NaN propagates (as maximumf); integer max is SIGNED (the op has no
//    signedness; see the lead's notes). Rank-1 tiles reduce to a scalar.
//  - dot: c[m][n] starts at acc[m][n] and adds a[m][k] * b[k][n] for k = 0, 1, ... in f32
//    (bf16/f16 inputs; each product is exact in f32) or in wrapping i32 (i8 inputs).
//  - scf.for: signed i32 comparison of iv < ub; the step must be positive (else uintx::Error).
//  - Unsupported ops or types throw uintx::Error naming the op.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "dsl/kernel_builder.h"

namespace uintx::dsl {

// A kernel argument: a host buffer (for pointer params), a tensor (a buffer holding a
// row-major [rows, cols] tensor, rowStride elements between rows: for tensorArg params) or a
// scalar. The kind must match the parameter's exactly (a u32 param takes KernelArg::u32).
struct KernelArg {
  bool isBuffer = false;
  bool isTensor = false;     // also isBuffer
  int64_t rows = 0, cols = 0, rowStride = 0;
  DType dtype = DType::i32;  // scalar kind (unused for buffers)
  void* data = nullptr;      // buffer
  size_t bytes = 0;          // buffer size in bytes
  uint64_t bits = 0;         // scalar bits (f32 as its bit pattern, bf16/f16 as 16 bits)

  static KernelArg buffer(void* data, size_t bytes);
  template <class T>
  static KernelArg buffer(std::vector<T>& v) {
    return buffer(v.data(), v.size() * sizeof(T));
  }
  static KernelArg tensor(void* data, size_t bytes, int64_t rows, int64_t cols, int64_t rowStride);
  template <class T>
  static KernelArg tensor(std::vector<T>& v, int64_t rows, int64_t cols, int64_t rowStride) {
    return tensor(v.data(), v.size() * sizeof(T), rows, cols, rowStride);
  }
  static KernelArg i32(int32_t v);
  static KernelArg u32(uint32_t v);
  static KernelArg i8(int8_t v);
  static KernelArg u8(uint8_t v);
  static KernelArg f32(float v);
  static KernelArg bf16(float v);  // rounded to bf16 (RNE)
  static KernelArg f16(float v);   // rounded to f16 (RNE)
};

struct Grid {
  int x = 1, y = 1, z = 1;
};

// Runs every program instance of the grid in order (z, y, x loops) on the CPU.
void interpret(const KernelProgram& program, Grid grid, const std::vector<KernelArg>& args);

}  // namespace uintx::dsl
