"""uintx.Linear: a torch.nn.Module running uintx_linear on the current CUDA stream."""
import ctypes

import torch

from . import _capi
from .errors import NoDriverError
from .weight import QuantizedWeight, dtype_code, quantize


class DeviceWeight:
    """A QuantizedWeight in the memory of one CUDA device (owns a uintx_device_weight)."""

    def __init__(self, weight, device):
        self.device = torch.device(device)
        out = ctypes.c_void_p()
        # The upload goes to the thread's current context: make it the device's primary one,
        # the context PyTorch uses.
        with torch.cuda.device(self.device):
            torch.cuda.init()
            torch.cuda.synchronize(self.device)  # creates the primary context if torch has not yet
            _capi.call("uintx_device_weight_upload", weight.handle, ctypes.byref(out))
        self._handle = ctypes.c_void_p(out.value)
        self.format = weight.format

    def __del__(self):
        if getattr(self, "_handle", None) and _capi is not None and _capi.lib is not None:
            _capi.lib.uintx_device_weight_free(self._handle)
            self._handle = None

    @property
    def handle(self):
        return self._handle


class Linear(torch.nn.Module):
    """y = x @ dequant(W)^T (+ bias) with uintx's kernels. x: bfloat16 or float16 on the
    weight's device, any leading dimensions; runs on torch.cuda.current_stream().
    int8_activations: x quantized per row to int8 (W8A8 / W4A8 dynamic) where that is faster;
    elsewhere (one row, two on small layers, 4-bit weights) the weight-only kernels run instead
    (closer to the float result), as uintx::LinearOptions::int8Activations says."""

    def __init__(self, weight, int8_activations=False, device=None):
        super().__init__()
        if not isinstance(weight, QuantizedWeight):
            raise TypeError("uintx.Linear: weight must be a uintx.QuantizedWeight")
        if not torch.cuda.is_available():
            raise NoDriverError("uintx.Linear: torch sees no CUDA device (torch.cuda.is_available() is False)")
        if device is None:
            device = torch.device("cuda", torch.cuda.current_device())
        self.device_weight = DeviceWeight(weight, device)
        self.in_features = int(weight.format.k)
        self.out_features = int(weight.format.n)
        self.int8_activations = bool(int8_activations)

    @classmethod
    def from_linear(cls, linear, bits=4, group_size=128, int8_activations=False, scale_dtype=None,
                    packing_bitwidth=32):
        """Quantizes an nn.Linear (its bias kept in the scale dtype) onto its device (or the
        current one when it is on the CPU)."""
        w = linear.weight
        q = quantize(w, bits=bits, group_size=group_size, packing_bitwidth=packing_bitwidth,
                     scale_dtype=scale_dtype, bias=linear.bias)
        device = w.device if w.is_cuda else None
        return cls(q, int8_activations=int8_activations, device=device)

    def extra_repr(self):
        f = self.device_weight.format
        return "in_features=%d, out_features=%d, bits=%d, group_size=%d, int8_activations=%s" % (
            self.in_features, self.out_features, f.bit_width, f.group_size, self.int8_activations)

    def forward(self, x):
        if not x.is_cuda or x.device != self.device_weight.device:
            raise ValueError("uintx.Linear: x is on %s, the weight on %s" % (x.device, self.device_weight.device))
        if x.shape[-1] != self.in_features:
            raise ValueError("uintx.Linear: x has %d features, the layer %d" % (x.shape[-1], self.in_features))
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)
        if not x2.is_contiguous() or x2.data_ptr() % 16:  # linear needs rows packed, 16-byte aligned
            x2 = x2.clone(memory_format=torch.contiguous_format)  # a fresh allocation is both
        m = x2.shape[0]
        y = torch.empty((m, self.out_features), dtype=x.dtype, device=x.device)
        if m == 0:
            return y.reshape(*lead, self.out_features)
        stream = torch.cuda.current_stream(x.device).cuda_stream
        flags = _capi.LINEAR_INT8_ACTIVATIONS if self.int8_activations else 0
        code = dtype_code(x.dtype)
        with torch.cuda.device(x.device):
            _capi.call("uintx_linear", ctypes.c_void_p(x2.data_ptr()), m, self.in_features, code,
                       self.device_weight.handle, ctypes.c_void_p(y.data_ptr()), self.out_features, code,
                       ctypes.c_void_p(stream), flags)
        return y.reshape(*lead, self.out_features)

