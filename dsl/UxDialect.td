// The uintx kernel dialect ("ux"): block-level tile programs in the manner of Triton's TTIR.
// Values are scalars or ranked tensors ("tiles"); elementwise arithmetic, comparisons, casts
// and `select` use the upstream `arith` dialect on tiles, loops use `scf.for`. This dialect adds
// what arith cannot express: program ids, pointers, ranges, shape ops, memory ops, reductions
// and the tensor-core `dot`.
#ifndef UX_DIALECT_TD
#define UX_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Ux_Dialect : Dialect {
  let name = "ux";
  let summary = "uintx tile-level kernel language";
  let cppNamespace = "::uintx::ux";
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  // Defined with the attributes' storage classes (UxLayoutAttrs.cc).
  let extraClassDeclaration = [{ void registerLayoutAttributes(); }];
}

class Ux_Type<string name, string typeMnemonic> : TypeDef<Ux_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def Ux_PointerType : Ux_Type<"Pointer", "ptr"> {
  let summary = "pointer to global memory holding elements of one scalar type";
  let parameters = (ins "::mlir::Type":$pointeeType);
  let assemblyFormat = "`<` $pointeeType `>`";
}

def Ux_TensorDescType : Ux_Type<"TensorDesc", "tensordesc"> {
  let summary = "a 2-D tensor in global memory, read in blocks of one static shape (TMA)";
  let description = [{
    A kernel parameter that describes a row-major [rows, cols] tensor (base, sizes and row
    stride are given at launch) and the shape of the blocks `ux.load_block` reads from it.
    On the GPU it is a CUDA tensor map passed by value; blocks are copied by the tensor
    memory accelerator (dsl/tensor_block.h).
  }];
  let parameters = (ins "::mlir::Type":$elementType, ArrayRefParameter<"int64_t">:$blockShape);
  let assemblyFormat = "`<` $elementType `,` `[` $blockShape `]` `>`";
}

def Ux_Ptr : Type<CPred<"::mlir::isa<::uintx::ux::PointerType>($_self)">, "ux pointer">;
def Ux_PtrLike : AnyTypeOf<[Ux_Ptr, RankedTensorOf<[Ux_Ptr]>]>;
def Ux_IntLike : AnyTypeOf<[AnySignlessInteger, RankedTensorOf<[AnySignlessInteger]>]>;
def Ux_BoolLike : AnyTypeOf<[I1, RankedTensorOf<[I1]>]>;

#endif
