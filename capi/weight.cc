// Host weights: quantize, from buffers, safetensors files, and what a weight holds.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "capi/call_guard.h"
#include "capi/conversions.h"
#include "capi/handles.h"

using uintx::capi::callGuarded;
using uintx::capi::reject;
using uintx::capi::required;

namespace {

std::vector<uint8_t> bytesOf(const void* data, size_t bytes, const char* parameter) {
  if (bytes == 0) return {};
  const auto* p = static_cast<const uint8_t*>(required(data, parameter));
  return std::vector<uint8_t>(p, p + bytes);
}

// Hands a new weight to the caller; *out is written only on success.
void giveOut(uintx::QuantizedWeight weight, uintx_weight** out) {
  *out = new uintx_weight{std::move(weight)};
}

}  // namespace

extern "C" uintx_status uintx_format_init(uintx_format* format, int64_t n, int64_t k) {
  return callGuarded("uintx_format_init", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    required(format, "format");
    uintx::QuantizeOptions defaults;
    format->bit_width = defaults.bit_width;
    format->group_size = defaults.group_size;
    format->packing_bitwidth = defaults.packing_bitwidth;
    format->n = n;
    format->k = k;
    format->scale_dtype = uintx::capi::cDtype(defaults.scale_dtype);
  });
}

extern "C" uintx_status uintx_quantize(const void* w, uintx_dtype w_dtype, const uintx_format* format,
                                       const float* bias, uintx_weight** out) {
  return callGuarded("uintx_quantize", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    required(w, "w");
    required(format, "format");
    required(out, "out");
    uintx::ScalarType type = uintx::capi::floatType(w_dtype, "w_dtype");
    uintx::QuantizeOptions o;
    o.bit_width = format->bit_width;
    o.group_size = format->group_size;
    o.packing_bitwidth = format->packing_bitwidth;
    o.scale_dtype = uintx::capi::floatType(format->scale_dtype, "format->scale_dtype");
    const int64_t n = format->n, k = format->k;
    switch (type) {  // quantize validates n and k before it reads n * k values
      case uintx::ScalarType::bf16:
        return giveOut(uintx::quantize(static_cast<const uintx::bf16*>(w), n, k, o, bias), out);
      case uintx::ScalarType::f16:
        return giveOut(uintx::quantize(static_cast<const uintx::fp16*>(w), n, k, o, bias), out);
      default:
        return giveOut(uintx::quantize(static_cast<const float*>(w), n, k, o, bias), out);
    }
  });
}

extern "C" uintx_status uintx_weight_from_buffers(const uintx_format* format, const void* packed,
                                                  size_t packed_bytes, const void* scales, size_t scales_bytes,
                                                  const void* zeros, size_t zeros_bytes, const void* bias,
                                                  size_t bias_bytes, uintx_weight** out) {
  return callGuarded("uintx_weight_from_buffers", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    required(format, "format");
    required(out, "out");
    // packed and scales are never empty in a valid format: a NULL there is a caller's slip.
    required(packed, "packed");
    required(scales, "scales");
    giveOut(uintx::QuantizedWeight(uintx::capi::weightFormat(*format), bytesOf(packed, packed_bytes, "packed"),
                                   bytesOf(scales, scales_bytes, "scales"), bytesOf(zeros, zeros_bytes, "zeros"),
                                   bytesOf(bias, bias_bytes, "bias")),
            out);
  });
}

extern "C" uintx_status uintx_weight_load(const char* path, uintx_weight** out) {
  return callGuarded("uintx_weight_load", UINTX_ERROR_IO, [&] {
    required(path, "path");
    required(out, "out");
    giveOut(uintx::QuantizedWeight::load(path), out);
  });
}

extern "C" uintx_status uintx_weight_save(const uintx_weight* weight, const char* path) {
  return callGuarded("uintx_weight_save", UINTX_ERROR_IO, [&] {
    required(weight, "weight");
    required(path, "path");
    weight->weight.save(path);
  });
}

extern "C" uintx_status uintx_weight_free(uintx_weight* weight) {
  return callGuarded("uintx_weight_free", UINTX_ERROR_INTERNAL, [&] { delete weight; });
}

extern "C" uintx_status uintx_weight_format(const uintx_weight* weight, uintx_format* out) {
  return callGuarded("uintx_weight_format", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    required(weight, "weight");
    *required(out, "out") = uintx::capi::cFormat(weight->weight.format());
  });
}

extern "C" uintx_status uintx_weight_has_bias(const uintx_weight* weight, int* out) {
  return callGuarded("uintx_weight_has_bias", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    required(weight, "weight");
    *required(out, "out") = weight->weight.hasBias() ? 1 : 0;
  });
}

extern "C" uintx_status uintx_weight_buffer(const uintx_weight* weight, uintx_buffer which, const void** data,
                                            size_t* bytes) {
  return callGuarded("uintx_weight_buffer", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    const uintx::QuantizedWeight& w = required(weight, "weight")->weight;
    required(data, "data");
    required(bytes, "bytes");
    const uint8_t* p = nullptr;
    size_t size = 0;
    switch (int(which)) {
      case UINTX_BUFFER_PACKED: p = w.packedData(), size = w.packedBytes(); break;
      case UINTX_BUFFER_SCALES: p = w.scalesData(), size = w.scalesBytes(); break;
      case UINTX_BUFFER_ZEROS: p = w.zerosData(), size = w.zerosBytes(); break;
      case UINTX_BUFFER_BIAS: p = w.biasData(), size = w.biasBytes(); break;
      default:
        reject("which = " + std::to_string(int(which)) +
               " is not a uintx_buffer (UINTX_BUFFER_PACKED = 0, SCALES = 1, ZEROS = 2, BIAS = 3)");
    }
    *data = size ? p : nullptr;
    *bytes = size;
  });
}

extern "C" uintx_status uintx_weight_dequantize(const uintx_weight* weight, float* out, size_t count) {
  return callGuarded("uintx_weight_dequantize", UINTX_ERROR_INVALID_ARGUMENT, [&] {
    const uintx::QuantizedWeight& w = required(weight, "weight")->weight;
    required(out, "out");
    const size_t expected = size_t(w.format().N) * size_t(w.format().K);
    if (count != expected)
      reject("count = " + std::to_string(count) + ", expected n * k = " + std::to_string(expected));
    std::vector<float> values = w.dequantize();
    std::memcpy(out, values.data(), values.size() * sizeof(float));
  });
}
