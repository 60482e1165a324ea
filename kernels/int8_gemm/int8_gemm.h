// The int8 GEMM family (torchao's Int8DynamicActivation...): x quantized per row to int8
// (kernels/quantize_rows), then int8 x int8 -> int32 on tensor cores; 8-bit symmetric weights
// scale once at the end, 4-bit asymmetric weights per group. It tiles as the tensor-core GEMM
// does and shares its config (GemmConfig), default rule and search space (int8 = true).
#pragma once

#include <optional>

#include "dsl/kernel_builder.h"
#include "kernels/gemm/gemm.h"

namespace uintx::kernels {

// int8 activations. Parameters: xq [M, K] i8, xscale [M] f32, qweight (u32 words; i8 codes
// for 8-bit weights, the same bytes), scales, zeros (asymmetric only), bias (if hasBias;
// splitK == 1 only), out, M. Grid: (ceil(N / blockN), ceil(M / blockM), splitK). out is y
// [M, N] (act) when splitK == 1, else f32 partials [splitK, M, N] that buildSplitKReduce sums
// (+ bias) into y, as for buildGemm; with a tail split (c.tailSplit > 1) y, partial and
// full_tiles on a one-dimensional grid (kernels/gemm/tail_reduce.h). For 4-bit weights blockK
// must equal the group size.
dsl::KernelProgram buildInt8Gemm(const QuantSpec& q, dsl::DType act, bool hasBias, const GemmConfig& c,
                                 std::optional<dsl::DType> out = std::nullopt);

}  // namespace uintx::kernels
