// Operations of the ux dialect. Each op's verifier rejects what the interpreter and the
// lowering could not give a meaning to, so that malformed programs fail before codegen.
#ifndef UX_OPS_TD
#define UX_OPS_TD

include "UxDialect.td"

class Ux_Op<string mnemonic, list<Trait> traits = []> : Op<Ux_Dialect, mnemonic, traits>;

def Ux_ProgramIdOp : Ux_Op<"program_id", [Pure]> {
  let summary = "index of this program instance (CTA) along a grid axis";
  let arguments = (ins ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict `:` type($result)";
}

def Ux_NumProgramsOp : Ux_Op<"num_programs", [Pure]> {
  let summary = "number of program instances along a grid axis";
  let arguments = (ins ConfinedAttr<I32Attr, [IntMinValue<0>, IntMaxValue<2>]>:$axis);
  let results = (outs I32:$result);
  let assemblyFormat = "$axis attr-dict `:` type($result)";
}

def Ux_ArangeOp : Ux_Op<"arange", [Pure]> {
  let summary = "1-D tile [start, end) of i32; the size must be a power of two";
  let arguments = (ins I32Attr:$start, I32Attr:$end);
  let results = (outs RankedTensorOf<[I32]>:$result);
  let assemblyFormat = "$start `to` $end attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Ux_SplatOp : Ux_Op<"splat", [Pure]> {
  let summary = "tile filled with one scalar value";
  let arguments = (ins AnyType:$src);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_BroadcastOp : Ux_Op<"broadcast", [Pure]> {
  let summary = "repeat a tile along its dimensions of size 1";
  let arguments = (ins AnyRankedTensor:$src);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_ExpandDimsOp : Ux_Op<"expand_dims", [Pure]> {
  let summary = "insert a dimension of size 1 at `axis`";
  let arguments = (ins AnyRankedTensor:$src, I32Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_ReshapeOp : Ux_Op<"reshape", [Pure]> {
  let summary = "same elements in row-major order, new shape";
  let arguments = (ins AnyRankedTensor:$src);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_TransOp : Ux_Op<"trans", [Pure]> {
  let summary = "transpose of a 2-D tile";
  let arguments = (ins AnyRankedTensor:$src);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_AddPtrOp : Ux_Op<"addptr", [Pure]> {
  let summary = "pointer(s) advanced by an element offset (scaled by the pointee size)";
  let arguments = (ins Ux_PtrLike:$ptr, Ux_IntLike:$offset);
  let results = (outs Ux_PtrLike:$result);
  let assemblyFormat = "$ptr `,` $offset attr-dict `:` type($ptr) `,` type($offset) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_LoadOp : Ux_Op<"load", [AttrSizedOperandSegments, MemoryEffects<[MemRead]>]> {
  let summary = "load from pointer(s); masked-off lanes give `other` (or zero)";
  let arguments = (ins Ux_PtrLike:$ptr, Optional<Ux_BoolLike>:$mask, Optional<AnyType>:$other);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$ptr (`mask` $mask^)? (`other` $other^)? attr-dict `:` type($ptr) (`,` type($mask)^)? (`,` type($other)^)? `->` type($result)";
  let hasVerifier = 1;
}

def Ux_LoadBlockOp : Ux_Op<"load_block", [MemoryEffects<[MemRead]>]> {
  let summary = "the block of a tensor descriptor at element coordinates [row, col]; outside the tensor: 0";
  let arguments = (ins Ux_TensorDescType:$desc, I32:$row, I32:$col);
  let results = (outs RankedTensorOf<[AnyType]>:$result);
  let assemblyFormat = "$desc `[` $row `,` $col `]` attr-dict `:` type($desc) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_StoreOp : Ux_Op<"store", [MemoryEffects<[MemWrite]>]> {
  let summary = "store to pointer(s) where the mask is true";
  let arguments = (ins Ux_PtrLike:$ptr, AnyType:$value, Optional<Ux_BoolLike>:$mask);
  let assemblyFormat = "$ptr `,` $value (`mask` $mask^)? attr-dict `:` type($ptr) `,` type($value) (`,` type($mask)^)?";
  let hasVerifier = 1;
}

def Ux_AtomicAddOp : Ux_Op<"atomic_add", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "atomic add at pointer(s) where the mask is true (f32, bf16x2 via f32, i32)";
  let arguments = (ins Ux_PtrLike:$ptr, AnyType:$value, Optional<Ux_BoolLike>:$mask);
  let assemblyFormat = "$ptr `,` $value (`mask` $mask^)? attr-dict `:` type($ptr) `,` type($value) (`,` type($mask)^)?";
  let hasVerifier = 1;
}

def Ux_ReduceOp : Ux_Op<"reduce", [Pure]> {
  let summary = "reduce a tile along `axis` with `kind` (sum, max, or maxu: unsigned max); rank 1 gives a scalar";
  let arguments = (ins AnyRankedTensor:$src, I32Attr:$axis, StrAttr:$kind);
  let results = (outs AnyType:$result);
  let assemblyFormat = "$kind $src attr-dict `:` type($src) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_UnpackBitsOp : Ux_Op<"unpack_bits", [Pure]> {
  let summary = "split each 32-bit word along the last dimension into 32/bits fields, lowest bits first";
  let description = [{
    Result element `w * (32 / bits) + j` is `(words[w] >> (j * bits)) & (2^bits - 1)`: the
    packed-weight order of docs/FORMATS.md. Codegen keeps each word and its fields in one
    thread, so unpacking is shifts and masks in registers.

    With a bf16 or f16 result, element u comes back as the float `magic + u`, exactly, with
    magic = 128 for bf16 (bits <= 4) and 1024 for f16 (bits <= 8): the field becomes the low
    mantissa bits of the magic number. Codegen builds two neighbouring fields into one 32-bit
    register (a byte permute and one lop3), ready for packed two-lane arithmetic and mma.
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$words, I32Attr:$bits);
  let results = (outs RankedTensorOf<[I32, BF16, F16]>:$result);
  let assemblyFormat = "$words attr-dict `:` type($words) `->` type($result)";
  let hasVerifier = 1;
}

def Ux_DotOp : Ux_Op<"dot", [Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "acc + a[M,K] @ b[K,N] on tensor cores (bf16/f16 -> f32, i8 -> i32)";
  let arguments = (ins AnyRankedTensor:$a, AnyRankedTensor:$b, AnyRankedTensor:$acc);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$a `,` $b `,` $acc attr-dict `:` type($a) `,` type($b) `->` type($result)";
  let hasVerifier = 1;
}

#endif
