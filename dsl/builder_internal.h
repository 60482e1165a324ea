// What the files of KernelBuilder share and its users do not see: building blocks of the
// builder's operations (kernel_builder.cc, builder_memory.cc).
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "dsl/kernel_builder.h"
#include "mlir/IR/BuiltinTypes.h"

namespace uintx::dsl {

// The MLIR type of a scalar of `t`; of a tile when `shape` is not empty.
mlir::Type scalarType(mlir::MLIRContext* ctx, DType t);
mlir::Type withShape(mlir::Type element, const std::vector<int64_t>& shape);

// The builder the operands belong to; fails on a tensor descriptor (read only by loadBlock)
// and when none has one.
KernelBuilder* builderOf(std::initializer_list<Value> values);
Value makeValue(KernelBuilder* kb, mlir::Value v, DType dtype, bool isPointer = false);

// The shape both operands broadcast to (Triton's rules); fails naming `op`.
std::vector<int64_t> commonShape(const std::string& op, const Value& a, const Value& b);

}  // namespace uintx::dsl
