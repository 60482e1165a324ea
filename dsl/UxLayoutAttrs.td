// Layouts: how the elements of a tile are spread over the threads of a CTA, as attributes
// of the ux dialect, so that the layout assignment's result is printable, parseable IR
// (`uintx-opt -ux-assign-layouts`) and the lowering reads it from there. The meaning of the
// parameters is codegen/layout.h's (BlockedParams, Layout); codegen/layout_attr.h converts.
// The tensor-core layouts are blocked layouts of a fixed form; they have their own names so
// that a reader sees where a dot decided a tile's layout.
#ifndef UX_LAYOUT_ATTRS_TD
#define UX_LAYOUT_ATTRS_TD

include "UxDialect.td"

class Ux_LayoutAttr<string name, string attrMnemonic> : AttrDef<Ux_Dialect, name> {
  let mnemonic = attrMnemonic;
}

def Ux_BlockedLayoutAttr : Ux_LayoutAttr<"BlockedLayout", "blocked"> {
  let summary = "each thread holds sizePerThread[d] consecutive elements along dim d; a warp "
                "spreads threadsPerWarp[d] threads and the CTA warpsPerCTA[d] warps along d";
  let parameters = (ins ArrayRefParameter<"int">:$sizePerThread,
                        ArrayRefParameter<"int">:$threadsPerWarp,
                        ArrayRefParameter<"int">:$warpsPerCTA);
  let assemblyFormat = "`<` `sizePerThread` `=` `[` $sizePerThread `]` `,` "
                       "`threadsPerWarp` `=` `[` $threadsPerWarp `]` `,` "
                       "`warpsPerCTA` `=` `[` $warpsPerCTA `]` `>`";
  let genVerifyDecl = 1;
}

def Ux_SliceLayoutAttr : Ux_LayoutAttr<"SliceLayout", "slice"> {
  let summary = "the parent layout without tile dimension `dim` (a reduction's result, an "
                "expand_dims input): the thread decomposition is the parent's";
  let parameters = (ins "unsigned":$dim, "::mlir::Attribute":$parent);
  let assemblyFormat = "`<` `dim` `=` $dim `,` `parent` `=` $parent `>`";
  let genVerifyDecl = 1;
}

def Ux_MmaLayoutAttr : Ux_LayoutAttr<"MmaLayout", "mma"> {
  let summary = "accumulator of a dot on mma.sync: the m16n8 C fragment (sizePerThread [1, 2], "
                "threadsPerWarp [8, 4]) with the warps split warpsPerCTA = [warpsM, warpsN]";
  let parameters = (ins ArrayRefParameter<"int">:$warpsPerCTA);
  let assemblyFormat = "`<` `warpsPerCTA` `=` `[` $warpsPerCTA `]` `>`";
}

def Ux_WgmmaLayoutAttr : Ux_LayoutAttr<"WgmmaLayout", "wgmma"> {
  let summary = "accumulator of a dot on wgmma: mma.sync's C fragment with all `warps` along M";
  let parameters = (ins "int":$warps);
  let assemblyFormat = "`<` `warps` `=` $warps `>`";
}

def Ux_MmaOperandBLayoutAttr : Ux_LayoutAttr<"MmaOperandBLayout", "mma_operand_b"> {
  let summary = "the w tile of an mma.sync dot held in registers (trans(w) is the B operand): "
                "thread (lane / 4, lane % 4) of warp v holds row 8 v + lane / 4 of every "
                "8 * warps rows and a run of kRun consecutive k (layout.h, "
                "mmaRegisterOperandParams)";
  let parameters = (ins "int":$kRun, "int":$warps);
  let assemblyFormat = "`<` `kRun` `=` $kRun `,` `warps` `=` $warps `>`";
}

#endif
