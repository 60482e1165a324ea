// What is known about integer and pointer tiles along their last (fastest) dimension, so
// that loads and stores can be vectorized and loads of repeated addresses issued once
// (Triton's AxisInfo, reduced to the one dimension our layouts vectorize):
//   contiguity  - runs of this many elements increase by exactly 1 (pointers: 1 element);
//   divisibility - the first element of each run is a multiple of this (pointers: bytes);
//   constancy   - runs of this many elements are equal.
// All three are powers of two. Scalars are constant along every dimension.
#pragma once

#include <cstdint>
#include <optional>

#include "llvm/ADT/DenseMap.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Value.h"

namespace uintx::codegen {

struct AxisInfo {
  int64_t contiguity = 1;
  int64_t divisibility = 1;
  int64_t constancy = 1;
  std::optional<int64_t> constant;  // known value of a scalar or splat
};

// Byte alignment assumed for pointer kernel arguments; launchers check it.
constexpr int64_t kPointerArgAlignment = 16;

class AxisAnalysis {
 public:
  // Integer arguments are known to be multiples of their "ux.divisibility" attribute.
  explicit AxisAnalysis(mlir::Operation* func);
  AxisInfo get(mlir::Value v) const;

 private:
  void visit(mlir::Operation* op);
  llvm::DenseMap<mlir::Value, AxisInfo> info_;
};

}  // namespace uintx::codegen
