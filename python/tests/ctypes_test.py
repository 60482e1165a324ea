"""The Python package without PyTorch (runs in CI, against the installed libuintx.so):
quantize from a list, dequantization error in float64, status -> exception with the library's
message, files, buffers, cache settings, and the no-driver error of an upload.
Exits nonzero on any failure."""
import ctypes
import math
import os
import random
import sys
import tempfile

os.environ["UINTX_LIBCUDA"] = "/nonexistent/libcuda.so.1"  # before the first driver use
import uintx  # noqa: E402
from uintx import _capi  # noqa: E402

from checks import check, summary  # noqa: E402


def raises(exception, fragment, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exception as e:
        check(fragment in str(e), "%s message %r names %r" % (exception.__name__, str(e), fragment))
        return e
    except Exception as e:  # noqa: BLE001
        check(False, "%s expected, got %s: %s" % (exception.__name__, type(e).__name__, e))
        return None
    check(False, "%s expected, nothing raised" % exception.__name__)
    return None


def main():
    rng = random.Random(3)
    n, k = 16, 256
    w = [rng.uniform(-1, 1) for _ in range(n * k)]
    q = uintx.quantize_list(w, n, k, bits=4, group_size=64)
    f = q.format
    check((f.bit_width, f.group_size, f.packing_bitwidth, f.n, f.k) == (4, 64, 32, n, k), repr(f))
    back = q.dequantize_list()
    err2 = sum((b - a) ** 2 for a, b in zip(w, back))
    ref2 = sum(a * a for a in w)
    check(math.sqrt(err2 / ref2) < 0.1, "4-bit relative RMS error %.3f < 0.1" % math.sqrt(err2 / ref2))

    e = raises(uintx.InvalidArgumentError, "uintx_quantize", uintx.quantize_list, w, n, k, bits=9)
    check(isinstance(e, ValueError) and e.status == 1, "InvalidArgumentError is a ValueError, status 1")
    raises(uintx.InvalidArgumentError, "192", uintx.quantize_list, w[: n * 192], n, 192, group_size=128)
    raises(TypeError, "float32, bfloat16 or float16", uintx.make_format, n, k, scale_dtype="int8")
    # A short list was padded with zeros by ctypes and quantized.
    raises(ValueError, "4095 values for a 16 x 256 weight", uintx.quantize_list, w[:-1], n, k)

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "w.safetensors")
        q.save(path)
        loaded = uintx.QuantizedWeight.load(path)
        check(loaded.dequantize_list() == back, "save/load keeps the weight")
        e = raises(uintx.UintxIOError, "missing.safetensors", uintx.QuantizedWeight.load,
                   os.path.join(d, "missing.safetensors"))
        check(isinstance(e, OSError), "UintxIOError is an OSError")
        # A NUL in a path ended it there: "w.safetensors\0x" saved to w.safetensors.
        cut = os.path.join(d, "cut.safetensors")
        raises(ValueError, "NUL byte", q.save, cut + "\0.other")
        check(not os.path.exists(cut), "nothing written at the path cut at the NUL")
        raises(ValueError, "NUL byte", uintx.QuantizedWeight.load, path + "\0x")
        raises(ValueError, "NUL byte", uintx.set_cache_settings, "/tmp/a\0b")

    copy = uintx.QuantizedWeight.from_buffers(f, q.buffer(_capi.BUFFER_PACKED), q.buffer(_capi.BUFFER_SCALES),
                                              q.buffer(_capi.BUFFER_ZEROS))
    check(copy.dequantize_list() == back, "from_buffers of the buffers is the same weight")
    raises(uintx.InvalidArgumentError, "packed", uintx.QuantizedWeight.from_buffers, f,
           q.buffer(_capi.BUFFER_PACKED)[:-4], q.buffer(_capi.BUFFER_SCALES), q.buffer(_capi.BUFFER_ZEROS))

    uintx.set_cache_settings("", "/tmp/uintx-python-test-kernels")
    check(uintx.cache_settings() == ("", "/tmp/uintx-python-test-kernels"), "cache settings round-trip")
    uintx.set_cache_settings(kernels_dir="")
    check(uintx.cache_settings() == ("", ""), "None keeps a setting, '' turns a cache off")

    out = ctypes.c_void_p()
    raises(uintx.NoDriverError, "no CUDA driver", _capi.call, "uintx_device_weight_upload", q.handle,
           ctypes.byref(out))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
