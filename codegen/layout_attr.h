// Layouts in the IR. The layout assignment (assign_layouts.h) records every tile's layout as
// an attribute of the ux dialect (dsl/UxLayoutAttrs.td: #ux.blocked, #ux.slice, #ux.mma,
// #ux.wgmma, #ux.mma_operand_b) on the op that defines the tile:
//   - `ux.layout` on an op with one result;
//   - `ux.layouts`, one entry per result (`unit` for scalars), on an op with several (an
//     scf.for carrying several values).
// An scf.for's region arguments share the layouts of its results (the assignment joins them).
// Op attributes rather than tensor encodings: the ux verifiers, the builder, the interpreter
// and the kernel caches compare and hash tile types, and none of them should see layouts;
// and a layout change rewrites no type across scf.for regions. The lowering reads layouts
// through layoutOfValue() and converts them to Layout (layout.h), on which it computes.
#pragma once

#include <optional>

#include "codegen/layout.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Value.h"

namespace uintx::codegen {

inline constexpr const char* kLayoutAttrName = "ux.layout";
inline constexpr const char* kResultLayoutsAttrName = "ux.layouts";

// The attribute of `layout`: its form's own attribute (Layout::Form) wrapped in one
// #ux.slice per dropped dimension, the highest first.
mlir::Attribute layoutToAttr(mlir::MLIRContext* ctx, const Layout& layout);
// The Layout of a ux layout attribute; nullopt for any other attribute.
std::optional<Layout> layoutFromAttr(mlir::Attribute attr);
// The layout recorded for tile `v` (an op result, or an scf.for region argument); nullopt
// when there is none.
std::optional<Layout> layoutOfValue(mlir::Value v);
// Records `layout` as the layout of op result `v`.
void setLayoutOfResult(mlir::Value v, const Layout& layout);

}  // namespace uintx::codegen
