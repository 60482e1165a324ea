"""Host weights in uintx's format: quantize a torch tensor, load/save, build from buffers."""
import ctypes

from . import _capi
from ._capi import Format

# torch dtype name -> uintx_dtype; torch is imported only by the functions that take tensors.
_DTYPES = {"float32": _capi.DTYPE_F32, "bfloat16": _capi.DTYPE_BF16, "float16": _capi.DTYPE_F16}


def dtype_code(dtype):
    """uintx_dtype of a torch dtype (or of its name: 'bfloat16', ...)."""
    name = str(dtype).replace("torch.", "")
    if name not in _DTYPES:
        raise TypeError("uintx: dtype %s is not float32, bfloat16 or float16" % name)
    return _DTYPES[name]


class QuantizedWeight:
    """A quantized weight [n, k] in host memory (owns a uintx_weight handle)."""

    def __init__(self, handle):
        self._handle = ctypes.c_void_p(handle)

    def __del__(self):
        if getattr(self, "_handle", None) and _capi is not None and _capi.lib is not None:
            _capi.lib.uintx_weight_free(self._handle)
            self._handle = None

    @property
    def handle(self):
        return self._handle

    @property
    def format(self):
        f = Format()
        _capi.call("uintx_weight_format", self._handle, ctypes.byref(f))
        return f

    @property
    def has_bias(self):
        out = ctypes.c_int()
        _capi.call("uintx_weight_has_bias", self._handle, ctypes.byref(out))
        return bool(out.value)

    def buffer(self, which):
        """The bytes of one buffer (_capi.BUFFER_PACKED, ..._SCALES, ..._ZEROS, ..._BIAS)."""
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        _capi.call("uintx_weight_buffer", self._handle, which, ctypes.byref(data), ctypes.byref(size))
        return ctypes.string_at(data, size.value) if size.value else b""

    def dequantize_list(self):
        """(q - zero) * scale as a flat list of n * k floats (no torch needed)."""
        f = self.format
        out = (ctypes.c_float * (f.n * f.k))()
        _capi.call("uintx_weight_dequantize", self._handle, out, f.n * f.k)
        return list(out)

    def dequantize(self):
        """float32 tensor [n, k] on the CPU."""
        import torch

        f = self.format
        out = torch.empty((f.n, f.k), dtype=torch.float32)
        _capi.call("uintx_weight_dequantize", self._handle, ctypes.c_void_p(out.data_ptr()), out.numel())
        return out

    def save(self, path):
        _capi.call("uintx_weight_save", self._handle, _capi.path_arg(path))

    @classmethod
    def load(cls, path):
        out = ctypes.c_void_p()
        _capi.call("uintx_weight_load", _capi.path_arg(path), ctypes.byref(out))
        return cls(out.value)

    @classmethod
    def from_buffers(cls, fmt, packed, scales, zeros=b"", bias=b""):
        """From bytes already in uintx's layout (docs/FORMATS.md); copied and validated."""
        keep = [ctypes.create_string_buffer(bytes(b), len(b)) if len(b) else None for b in (packed, scales, zeros, bias)]
        args = []
        for b in keep:
            args += [ctypes.cast(b, ctypes.c_void_p) if b is not None else None, len(b) if b is not None else 0]
        out = ctypes.c_void_p()
        _capi.call("uintx_weight_from_buffers", ctypes.byref(fmt), *args, ctypes.byref(out))
        return cls(out.value)


def make_format(n, k, bits=4, group_size=128, packing_bitwidth=32, scale_dtype="bfloat16"):
    f = Format()
    _capi.call("uintx_format_init", ctypes.byref(f), n, k)
    f.bit_width, f.group_size, f.packing_bitwidth = bits, group_size, packing_bitwidth
    f.scale_dtype = dtype_code(scale_dtype)
    return f


def quantize(weight, bits=4, group_size=128, packing_bitwidth=32, scale_dtype=None, bias=None):
    """Quantizes a 2-D tensor [out, in] (float32, bfloat16 or float16, any device) into a
    QuantizedWeight. group_size 0 means one group per row (required for 8 bits). scale_dtype
    (scales, zeros, bias): the weight's dtype for bf16/fp16 weights, else bfloat16."""
    import torch

    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise TypeError("uintx.quantize: weight must be a 2-D torch.Tensor [out_features, in_features]")
    w = weight.detach().to("cpu").contiguous()
    if scale_dtype is None:
        scale_dtype = w.dtype if w.dtype in (torch.bfloat16, torch.float16) else torch.bfloat16
    f = make_format(w.shape[0], w.shape[1], bits, group_size, packing_bitwidth, scale_dtype)
    b = None
    if bias is not None:
        b = bias.detach().to("cpu", torch.float32).contiguous()
        if b.numel() != w.shape[0]:
            raise ValueError("uintx.quantize: bias has %d values, the weight %d rows" % (b.numel(), w.shape[0]))
    out = ctypes.c_void_p()
    _capi.call("uintx_quantize", ctypes.c_void_p(w.data_ptr()), dtype_code(w.dtype), ctypes.byref(f),
               ctypes.c_void_p(b.data_ptr()) if b is not None else None, ctypes.byref(out))
    return QuantizedWeight(out.value)


def quantize_list(values, n, k, **format_options):
    """quantize() for a flat list of n * k floats, without torch (tests, tools)."""
    f = make_format(n, k, **format_options)
    values = list(values)
    if len(values) != n * k:  # ctypes would pad a short list with zeros and quantize those
        raise ValueError("uintx.quantize_list: %d values for a %d x %d weight (%d)" % (len(values), n, k, n * k))
    w = (ctypes.c_float * (n * k))(*values)
    out = ctypes.c_void_p()
    _capi.call("uintx_quantize", w, _capi.DTYPE_F32, ctypes.byref(f), None, ctypes.byref(out))
    return QuantizedWeight(out.value)
