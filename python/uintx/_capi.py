"""libuintx.so through ctypes: finding it, the C API's prototypes, and status -> exception.

The library is looked up at $UINTX_LIBRARY, then beside this package as installed by
scripts/install.sh (<prefix>/lib/python/uintx -> <prefix>/lib/libuintx.so), then by the
dynamic loader's usual search (LD_LIBRARY_PATH, ldconfig). No torch import here, so that the
format logic can be tested on machines without PyTorch.
"""
import ctypes
import os

from .errors import BY_STATUS, UintxError

# C enums (include/uintx/uintx_c.h)
DTYPE_F32, DTYPE_BF16, DTYPE_F16 = 0, 1, 2
BUFFER_PACKED, BUFFER_SCALES, BUFFER_ZEROS, BUFFER_BIAS = 0, 1, 2, 3
LINEAR_INT8_ACTIVATIONS = 1


class Format(ctypes.Structure):
    """uintx_format: a weight [n, k] in bit_width bits, groups of group_size along k."""

    _fields_ = [
        ("bit_width", ctypes.c_int),
        ("group_size", ctypes.c_int),
        ("packing_bitwidth", ctypes.c_int),
        ("n", ctypes.c_int64),
        ("k", ctypes.c_int64),
        ("scale_dtype", ctypes.c_int),
    ]

    def __repr__(self):
        return "Format(bit_width=%d, group_size=%d, packing_bitwidth=%d, n=%d, k=%d, scale_dtype=%d)" % (
            self.bit_width, self.group_size, self.packing_bitwidth, self.n, self.k, self.scale_dtype)


def _candidates():
    explicit = os.environ.get("UINTX_LIBRARY")
    if explicit:
        return [explicit]
    here = os.path.dirname(os.path.abspath(__file__))
    return [os.path.join(here, "libuintx.so"), os.path.join(here, "..", "..", "libuintx.so"), "libuintx.so"]


def _load():
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            errors.append(path + ": no such file")
            continue
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
    raise ImportError("uintx: cannot load libuintx.so (set UINTX_LIBRARY to its path, or install it with "
                      "scripts/install.sh): " + "; ".join(errors))


_P = ctypes.c_void_p
_I64 = ctypes.c_int64
_SIZE = ctypes.c_size_t
_PROTOTYPES = {
    "uintx_last_error": (ctypes.c_char_p, []),
    "uintx_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "uintx_format_init": (ctypes.c_int, [ctypes.POINTER(Format), _I64, _I64]),
    "uintx_quantize": (ctypes.c_int, [_P, ctypes.c_int, ctypes.POINTER(Format), _P, ctypes.POINTER(_P)]),
    "uintx_weight_from_buffers": (ctypes.c_int, [ctypes.POINTER(Format), _P, _SIZE, _P, _SIZE, _P, _SIZE, _P,
                                                 _SIZE, ctypes.POINTER(_P)]),
    "uintx_weight_load": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_P)]),
    "uintx_weight_save": (ctypes.c_int, [_P, ctypes.c_char_p]),
    "uintx_weight_free": (ctypes.c_int, [_P]),
    "uintx_weight_format": (ctypes.c_int, [_P, ctypes.POINTER(Format)]),
    "uintx_weight_has_bias": (ctypes.c_int, [_P, ctypes.POINTER(ctypes.c_int)]),
    "uintx_weight_buffer": (ctypes.c_int, [_P, ctypes.c_int, ctypes.POINTER(_P), ctypes.POINTER(_SIZE)]),
    "uintx_weight_dequantize": (ctypes.c_int, [_P, _P, _SIZE]),
    "uintx_device_weight_upload": (ctypes.c_int, [_P, ctypes.POINTER(_P)]),
    "uintx_device_weight_free": (ctypes.c_int, [_P]),
    "uintx_device_weight_format": (ctypes.c_int, [_P, ctypes.POINTER(Format)]),
    "uintx_linear": (ctypes.c_int, [_P, _I64, _I64, ctypes.c_int, _P, _P, _I64, ctypes.c_int, _P, ctypes.c_uint]),
    "uintx_cache_settings_get": (ctypes.c_int, [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p)]),
    "uintx_cache_settings_set": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p]),
}

lib = _load()
for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _function = getattr(lib, _name)
    _function.restype = _restype
    _function.argtypes = _argtypes


def check(status):
    """Raises the exception of a failed status with the library's message (this thread's)."""
    if status == 0:
        return
    message = lib.uintx_last_error().decode("utf-8", "replace")
    raise BY_STATUS.get(status, UintxError)(message, status)


def call(name, *args):
    check(getattr(lib, name)(*args))


def path_arg(path, what="path"):
    """A file path as the C API takes it (bytes, NUL-terminated). A NUL inside the path would
    end it early there, and the library would open another file: refused."""
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise ValueError("uintx: %s %r contains a NUL byte" % (what, path))
    return raw
