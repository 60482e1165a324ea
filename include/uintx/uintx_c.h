/* uintx C API: quantized weights and uintx::linear for C, ctypes and other FFIs.
 *
 *   uintx_format f;  uintx_weight* w;  uintx_device_weight* dw;
 *   uintx_format_init(&f, N, K);                      (4-bit, group 128, bf16 scales)
 *   if (uintx_quantize(host_w, UINTX_DTYPE_F32, &f, NULL, &w) != UINTX_OK)
 *     fprintf(stderr, "%s\n", uintx_last_error());
 *   uintx_device_weight_upload(w, &dw);               (current CUDA context)
 *   uintx_linear(x, M, K, UINTX_DTYPE_BF16, dw, y, N, UINTX_DTYPE_BF16, stream, 0);
 *   uintx_device_weight_free(dw);  uintx_weight_free(w);
 *
 * Errors: every function returns a uintx_status; after a failure, uintx_last_error() gives
 * the message (naming the bad value and the rule) on the calling thread. No C++ exception
 * leaves a function of this header.
 *
 * Ownership: a handle made by a uintx_* function belongs to the caller, who frees it once
 * with its *_free function (freeing NULL is allowed; freeing twice or using a freed handle is
 * undefined). A device weight is independent of the host weight it was uploaded from.
 *
 * Plain C89 with <stddef.h> and <stdint.h>; no CUDA header is needed (streams are void*).
 * Semantics are those of the C++ API (uintx/uintx.h, docs/FORMATS.md). */
#ifndef UINTX_UINTX_C_H
#define UINTX_UINTX_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every enum is an int (the *_MAX_ENUM members; in C++ a fixed underlying type), so that an FFI
 * may pass any int and a bad value is refused by the library rather than being undefined. */
#ifdef __cplusplus
#define UINTX_ENUM_IS_INT : int
#else
#define UINTX_ENUM_IS_INT
#endif
typedef enum uintx_status UINTX_ENUM_IS_INT {
  UINTX_OK = 0,
  UINTX_ERROR_INVALID_ARGUMENT = 1, /* a bad argument, or a call the library rejects */
  UINTX_ERROR_NO_DRIVER = 2,        /* no usable CUDA driver or device (no GPU) */
  UINTX_ERROR_CUDA = 3,             /* a CUDA driver call failed */
  UINTX_ERROR_IO = 4,               /* a file could not be read or written, or is not a uintx weight */
  UINTX_ERROR_OUT_OF_MEMORY = 5,    /* host memory */
  UINTX_ERROR_INTERNAL = 6,         /* anything else: a bug, please report the message */
  UINTX_STATUS_MAX_ENUM = 0x7FFFFFFF
} uintx_status;

typedef enum uintx_dtype UINTX_ENUM_IS_INT {
  UINTX_DTYPE_F32 = 0,
  UINTX_DTYPE_BF16 = 1,
  UINTX_DTYPE_F16 = 2,
  UINTX_DTYPE_MAX_ENUM = 0x7FFFFFFF
} uintx_dtype;

/* The buffers of a weight (docs/FORMATS.md): packed words [N, words per row], scales and
 * zeros [N, K / group_size] in the scale dtype, bias [N] in the scale dtype. */
typedef enum uintx_buffer UINTX_ENUM_IS_INT {
  UINTX_BUFFER_PACKED = 0,
  UINTX_BUFFER_SCALES = 1,
  UINTX_BUFFER_ZEROS = 2, /* empty for symmetric widths (8-bit) */
  UINTX_BUFFER_BIAS = 3,  /* empty without bias */
  UINTX_BUFFER_MAX_ENUM = 0x7FFFFFFF
} uintx_buffer;

/* A weight [n out, k in] quantized to bit_width bits, groups of group_size along k. */
typedef struct uintx_format {
  int bit_width;           /* 1..8 */
  int group_size;          /* 32, 64, 128, 256 or k; 0 means k (required for 8-bit) */
  int packing_bitwidth;    /* 8, 16 or 32: the word the values are packed into */
  int64_t n;               /* output features */
  int64_t k;               /* input features */
  uintx_dtype scale_dtype; /* scales, zeros and bias */
} uintx_format;

typedef struct uintx_weight uintx_weight;               /* host: packed words, scales, ... */
typedef struct uintx_device_weight uintx_device_weight; /* the same in device memory */

/* The message of the last failed call on this thread ("" after a successful one). Valid until
 * the next uintx_* call on this thread. Never NULL. */
const char* uintx_last_error(void);
/* "UINTX_OK", "UINTX_ERROR_INVALID_ARGUMENT", ...; "unknown uintx_status" otherwise. */
const char* uintx_status_name(uintx_status status);

/* 4-bit, group 128, packed in 32-bit words, bf16 scales, for a weight [n, k]. */
uintx_status uintx_format_init(uintx_format* format, int64_t n, int64_t k);

/* Quantizes w ([format->n, format->k] row-major, in w_dtype) into *out. bias: NULL or n
 * floats, stored in the scale dtype. */
uintx_status uintx_quantize(const void* w, uintx_dtype w_dtype, const uintx_format* format,
                            const float* bias, uintx_weight** out);
/* A weight from buffers already in uintx's layout (as UINTX_BUFFER_* describe); they are
 * copied and validated (sizes, padding bits, finite scales). zeros / bias: NULL with 0 bytes
 * when absent. */
uintx_status uintx_weight_from_buffers(const uintx_format* format, const void* packed,
                                       size_t packed_bytes, const void* scales,
                                       size_t scales_bytes, const void* zeros, size_t zeros_bytes,
                                       const void* bias, size_t bias_bytes, uintx_weight** out);
/* A uintx safetensors file (docs/FORMATS.md); read as untrusted input. */
uintx_status uintx_weight_load(const char* path, uintx_weight** out);
uintx_status uintx_weight_save(const uintx_weight* weight, const char* path);
uintx_status uintx_weight_free(uintx_weight* weight);

uintx_status uintx_weight_format(const uintx_weight* weight, uintx_format* out);
uintx_status uintx_weight_has_bias(const uintx_weight* weight, int* out);
/* The bytes of one buffer, valid until the weight is freed (*data is NULL when empty). */
uintx_status uintx_weight_buffer(const uintx_weight* weight, uintx_buffer which,
                                 const void** data, size_t* bytes);
/* out: count == n * k floats, row-major: (q - zero) * scale, without the bias. */
uintx_status uintx_weight_dequantize(const uintx_weight* weight, float* out, size_t count);

/* Copies the weight to the current CUDA context (device $UINTX_DEVICE's primary context when
 * the thread has none). UINTX_ERROR_NO_DRIVER without a GPU. Free it only after the work
 * that reads it has finished. */
uintx_status uintx_device_weight_upload(const uintx_weight* weight, uintx_device_weight** out);
uintx_status uintx_device_weight_free(uintx_device_weight* weight);
uintx_status uintx_device_weight_format(const uintx_device_weight* weight, uintx_format* out);

/* Flags of uintx_linear. */
#define UINTX_LINEAR_INT8_ACTIVATIONS 1u /* x quantized per row to int8, int8 tensor cores (where the
                                            weight-only kernels are faster they run instead, as
                                            LinearOptions::int8Activations says) */

/* y[m, n] = x[m, k] @ dequant(weight)^T (+ the weight's bias), enqueued on `stream` (a
 * CUstream; NULL: the legacy default stream) in the weight's context. x and y are device
 * pointers, 16-byte aligned, not overlapping; x_dtype is bf16 or f16, y_dtype x_dtype or f32.
 * flags: 0 or UINTX_LINEAR_INT8_ACTIVATIONS. */
uintx_status uintx_linear(const void* x, int64_t m, int64_t k, uintx_dtype x_dtype,
                          const uintx_device_weight* weight, void* y, int64_t n,
                          uintx_dtype y_dtype, void* stream, unsigned flags);

/* Where tuned configs and compiled kernels are cached (docs/CACHE.md); "" disables one.
 * get: strings owned by the library, valid until the next uintx_* call on this thread.
 * set: NULL leaves that setting as it is. */
uintx_status uintx_cache_settings_get(const char** config_cache_path, const char** kernels_dir);
uintx_status uintx_cache_settings_set(const char* config_cache_path, const char* kernels_dir);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* UINTX_UINTX_C_H */
