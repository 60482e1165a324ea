// The ux dialect: declarations generated from UxDialect.td / UxOps.td.
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dsl/UxDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dsl/UxTypes.h.inc"

// Layouts (UxLayoutAttrs.td); codegen/layout_attr.h gives their meaning.
#define GET_ATTRDEF_CLASSES
#include "dsl/UxAttrs.h.inc"

#define GET_OP_CLASSES
#include "dsl/UxOps.h.inc"

namespace uintx::ux {
// Element type of a scalar or tile type (the type itself for scalars).
mlir::Type elementType(mlir::Type t);
// Shape of a tile type; empty for scalars.
llvm::ArrayRef<int64_t> shapeOf(mlir::Type t);
}  // namespace uintx::ux
