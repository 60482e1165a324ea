// Code-to-float steps the kernel families share: each is a few integer instructions per
// 32-bit word or per value, written once in the DSL.
#pragma once

#include "dsl/kernel_builder.h"

namespace uintx::kernels {

// Symmetric formats store each field as a bits-wide two's complement; flipping every field's
// sign bit makes it offset binary (u = q + 2^(bits-1)): one xor per 32-bit word, not per value.
dsl::Value signedFieldsToUnsigned(dsl::Value words, int bits);

// f = 1 + u / 2^bits as f32, exactly, for unsigned codes u < 2^bits (bits <= 8): the code
// becomes the top mantissa bits of 1.0f (a shift and one lop3; no int->float conversion,
// which is quarter rate on the GPU, and no magic-number subtract).
dsl::Value codesToUnitFloat(dsl::Value codes, int bits);
// The GEMV's paired decode (buildGemv): the float whose bits are the code in the top `bits`
// mantissa bits, u 2^(-126-bits), or, where `evenField`, in the `bits` below them,
// u 2^(-126-2 bits); subnormal, exact, no exponent to set. Neighbouring fields of a word then
// share one shift.
dsl::Value codesToPairedSubnormal(dsl::Value codes, dsl::Value evenField, int bits);

}  // namespace uintx::kernels
