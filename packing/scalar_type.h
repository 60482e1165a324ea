// Element types of the buffers a QuantizedWeight holds (packed words, scales, zeros, bias),
// with their sizes, names and the safetensors dtype strings used on disk.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace uintx {

enum class ScalarType { f32, bf16, f16, i8, u8, i32, u32, u16 };

size_t elementSize(ScalarType t);
const char* scalarTypeName(ScalarType t);         // "f32", "bf16", ...
const char* safetensorsDtypeName(ScalarType t);  // "F32", "BF16", ...
// Inverse of safetensorsDtypeName; throws uintx::Error for a dtype this library does not use.
ScalarType scalarTypeFromSafetensors(const std::string& dtype);
bool isFloatType(ScalarType t);  // f32, bf16, f16: the dtypes scales, zeros and bias may have

// Round a float to what `t` (a float type) can hold, and back to float: exact for f32.
float roundToFloatType(float v, ScalarType t);
// Little-endian scalar load/store of a float type at a raw byte address.
void storeFloatAs(uint8_t* dst, ScalarType t, float v);
float loadFloatFrom(const uint8_t* src, ScalarType t);

}  // namespace uintx
