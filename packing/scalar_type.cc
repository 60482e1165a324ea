#include "packing/scalar_type.h"

#include "uintx/error.h"
#include "uintx/half.h"

namespace uintx {

size_t elementSize(ScalarType t) {
  switch (t) {
    case ScalarType::f32: case ScalarType::i32: case ScalarType::u32: return 4;
    case ScalarType::bf16: case ScalarType::f16: case ScalarType::u16: return 2;
    case ScalarType::i8: case ScalarType::u8: return 1;
  }
  throw Error("elementSize: invalid ScalarType value " + std::to_string(int(t)));
}

const char* scalarTypeName(ScalarType t) {
  switch (t) {
    case ScalarType::f32: return "f32";
    case ScalarType::bf16: return "bf16";
    case ScalarType::f16: return "f16";
    case ScalarType::i8: return "i8";
    case ScalarType::u8: return "u8";
    case ScalarType::i32: return "i32";
    case ScalarType::u32: return "u32";
    case ScalarType::u16: return "u16";
  }
  return "invalid";
}

const char* safetensorsDtypeName(ScalarType t) {
  switch (t) {
    case ScalarType::f32: return "F32";
    case ScalarType::bf16: return "BF16";
    case ScalarType::f16: return "F16";
    case ScalarType::i8: return "I8";
    case ScalarType::u8: return "U8";
    case ScalarType::i32: return "I32";
    case ScalarType::u32: return "U32";
    case ScalarType::u16: return "U16";
  }
  return "invalid";
}

ScalarType scalarTypeFromSafetensors(const std::string& dtype) {
  for (ScalarType t : {ScalarType::f32, ScalarType::bf16, ScalarType::f16, ScalarType::i8,
                       ScalarType::u8, ScalarType::i32, ScalarType::u32, ScalarType::u16}) {
    if (dtype == safetensorsDtypeName(t)) return t;
  }
  throw Error("unsupported safetensors dtype '" + dtype +
              "': expected one of F32, BF16, F16, I8, U8, I32, U32, U16");
}

bool isFloatType(ScalarType t) {
  return t == ScalarType::f32 || t == ScalarType::bf16 || t == ScalarType::f16;
}

static void requireFloatType(ScalarType t) {
  if (!isFloatType(t))
    throw Error(std::string("dtype ") + scalarTypeName(t) + " is not a float type: expected f32, bf16 or f16");
}

float roundToFloatType(float v, ScalarType t) {
  requireFloatType(t);
  if (t == ScalarType::bf16) return toFloat(toBf16(v));
  if (t == ScalarType::f16) return toFloat(toFp16(v));
  return v;
}

void storeFloatAs(uint8_t* dst, ScalarType t, float v) {
  requireFloatType(t);
  if (t == ScalarType::f32) {
    uint32_t u = floatBits(v);
    for (int i = 0; i < 4; ++i) dst[i] = uint8_t(u >> (8 * i));
    return;
  }
  uint16_t h = t == ScalarType::bf16 ? toBf16(v).bits : toFp16(v).bits;
  dst[0] = uint8_t(h);
  dst[1] = uint8_t(h >> 8);
}

float loadFloatFrom(const uint8_t* src, ScalarType t) {
  requireFloatType(t);
  if (t == ScalarType::f32) {
    uint32_t u = 0;
    for (int i = 0; i < 4; ++i) u |= uint32_t(src[i]) << (8 * i);
    return bitsToFloat(u);
  }
  uint16_t h = uint16_t(src[0] | (src[1] << 8));
  return t == ScalarType::bf16 ? toFloat(bf16{h}) : toFloat(fp16{h});
}

}  // namespace uintx
