"""uintx.quantize and uintx.Linear with PyTorch on a GPU (run by hand on the GPU machine:
PYTHONPATH=<prefix>/lib/python python3 python/tests/torch_linear_test.py). Compares every layer
with a float64 reference on the dequantized weight: bf16 and fp16, with and without bias,
M = 1, 16, 64 and a 3-D batch, weight-only and int8 dynamic activations, on the current stream
and on a side stream; and the errors. Exits nonzero on any failure."""
import sys

import torch

import uintx

from checks import check, summary  # noqa: E402


def relative_error(y, ref):
    return ((y.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()


def reference(layer_q, linear, x):
    w = layer_q.dequantize().double().to(x.device)
    ref = x.double() @ w.t()
    if linear.bias is not None:
        ref = ref + linear.bias.detach().to(x.dtype).double()  # the bias is kept in the scale dtype
    return ref


def test_layers():
    torch.manual_seed(0)
    for dtype in (torch.bfloat16, torch.float16):
        for bias in (False, True):
            linear = torch.nn.Linear(512, 256, bias=bias).cuda().to(dtype)
            q = uintx.quantize(linear.weight, bits=4, group_size=128, bias=linear.bias)
            for int8 in (False, True):
                layer = uintx.Linear.from_linear(linear, bits=4, group_size=128, int8_activations=int8)
                for shape in ((1, 512), (16, 512), (64, 512), (2, 3, 512)):
                    x = torch.randn(shape, device="cuda", dtype=dtype)
                    y = layer(x)
                    torch.cuda.synchronize()
                    ref = reference(q, linear, x)
                    tol = 3e-2 if int8 else 1e-2
                    err = relative_error(y, ref)
                    check(y.shape == (*shape[:-1], 256) and y.dtype == dtype and err < tol,
                          "%s bias=%s int8=%s x%s: relative error %.4f < %g" % (dtype, bias, int8, shape, err, tol))


def test_side_stream():
    linear = torch.nn.Linear(256, 128, bias=True).cuda().bfloat16()
    layer = uintx.Linear.from_linear(linear, bits=4, group_size=64)
    q = uintx.quantize(linear.weight, bits=4, group_size=64, bias=linear.bias)
    x = torch.randn(16, 256, device="cuda", dtype=torch.bfloat16)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        y = layer(x)
    side.synchronize()
    err = relative_error(y, reference(q, linear, x))
    check(err < 1e-2, "side stream: relative error %.4f" % err)


def test_8bit_and_quantize():
    w = torch.randn(128, 256)
    q = uintx.quantize(w, bits=8, group_size=0)
    err = relative_error(q.dequantize(), w.double())
    check(err < 0.01, "8-bit per-channel quantize: relative error %.4f" % err)
    q4 = uintx.quantize(w.cuda().half(), bits=4, group_size=128)
    check(q4.format.scale_dtype == 2, "an fp16 weight gets fp16 scales")


def test_errors():
    layer = uintx.Linear.from_linear(torch.nn.Linear(256, 128).cuda().bfloat16())
    for fn, exc, fragment in (
        (lambda: layer(torch.randn(4, 256, dtype=torch.bfloat16)), ValueError, "x is on cpu"),
        (lambda: layer(torch.randn(4, 512, device="cuda", dtype=torch.bfloat16)), ValueError, "512"),
        (lambda: layer(torch.randn(4, 256, device="cuda")), uintx.InvalidArgumentError, "f32"),
        (lambda: uintx.quantize(torch.randn(64, 256), bits=9), uintx.InvalidArgumentError, "9"),
        (lambda: uintx.quantize(torch.randn(64, 200), group_size=128), uintx.InvalidArgumentError, "200"),
    ):
        try:
            fn()
            check(False, "%s expected" % exc.__name__)
        except exc as e:
            check(fragment in str(e), "%r names %r" % (str(e), fragment))


def main():
    if not torch.cuda.is_available():
        print("torch_linear_test: no CUDA device", file=sys.stderr)
        return 1
    uintx.set_cache_settings(config_cache_path="")
    test_layers()
    test_side_stream()
    test_8bit_and_quantize()
    test_errors()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
