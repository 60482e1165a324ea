"""uintx for Python: quantized weights and linear layers over libuintx.so's C API (ctypes).

    import uintx
    q = uintx.quantize(weight, bits=4, group_size=128)          # torch tensor [out, in]
    layer = uintx.Linear.from_linear(nn_linear, bits=4)          # or int8_activations=True
    y = layer(x)                                                 # bf16/fp16, current CUDA stream
    q = uintx.from_gemlite(gemlite_layer)                        # packed words moved as they are

Errors are UintxError subclasses carrying the library's message. PyTorch is imported only by
what takes tensors (quantize, Linear, from_gemlite), so the rest works without it.
"""
from .errors import (CudaError, InternalError, InvalidArgumentError, NoDriverError, UintxError,
                     UintxIOError)
from .weight import QuantizedWeight, make_format, quantize, quantize_list
from . import _capi


def __getattr__(name):  # torch-dependent parts, on first use
    if name in ("Linear", "DeviceWeight"):
        from . import linear
        return getattr(linear, name)
    if name == "from_gemlite":
        from .gemlite import from_gemlite
        return from_gemlite
    raise AttributeError("module 'uintx' has no attribute %r" % name)


def cache_settings():
    """(config cache path, kernels directory); '' means that cache is off (docs/CACHE.md)."""
    import ctypes

    config, kernels = ctypes.c_char_p(), ctypes.c_char_p()
    _capi.call("uintx_cache_settings_get", ctypes.byref(config), ctypes.byref(kernels))
    return config.value.decode(), kernels.value.decode()


def set_cache_settings(config_cache_path=None, kernels_dir=None):
    """None leaves a setting as it is; '' turns that cache off."""
    _capi.call("uintx_cache_settings_set",
               None if config_cache_path is None else _capi.path_arg(config_cache_path, "config_cache_path"),
               None if kernels_dir is None else _capi.path_arg(kernels_dir, "kernels_dir"))
