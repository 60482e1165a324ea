"""uintx.from_gemlite with PyTorch (CPU is enough; run where torch is installed). Layers are
built as gemlite's pack() leaves them (W_q [K / per_word, N] words, scales and zeros
[groups, N], fma zeros z' = -z * s), from codes the test knows; when the gemlite package is
importable, also from a real GemLiteLinearTriton.pack(). The converted weight must dequantize
to gemlite's formula on those codes. Exits nonzero on any failure."""
import sys
import types

import torch

import uintx

from checks import check, summary  # noqa: E402


def pack_like_gemlite(codes, bits, word_bits):
    n, k = codes.shape
    per_word = word_bits // bits
    words = torch.zeros((n, k // per_word), dtype=torch.int64)
    for j in range(k):
        words[:, j // per_word] |= codes[:, j].to(torch.int64) << ((j % per_word) * bits)
    dtype = {8: torch.uint8, 16: torch.int16, 32: torch.int32, 64: torch.int64}[word_bits]
    if word_bits in (16, 32):  # the same bits in gemlite's signed word type
        words = torch.where(words >= 1 << (word_bits - 1), words - (1 << word_bits), words)
    return words.to(dtype).t()  # gemlite stores [K / per_word, N]


def fake_layer(bits, word_bits, group_mode, dtype=torch.float16, bias=True):
    n, k, group = 64, 256, 64
    torch.manual_seed(bits * 100 + word_bits)
    codes = torch.randint(0, 1 << bits, (n, k))
    s = (torch.rand(n, k // group) + 0.5).to(dtype)
    z = torch.randint(0, 1 << bits, (n, k // group)).to(dtype)
    zeros = (-z.float() * s.float()).to(dtype) if group_mode == 4 else z
    layer = types.SimpleNamespace(
        out_features=n, in_features=k, W_nbits=bits, W_group_mode=group_mode, channel_scale_mode=0,
        scaled_activations=False, W_q=pack_like_gemlite(codes, bits, word_bits), scales=s.t(), zeros=zeros.t(),
        bias=torch.randn(n).to(dtype) if bias else None)
    if group_mode == 4:
        expected = codes.double() * s.double().repeat_interleave(group, 1) + zeros.double().repeat_interleave(group, 1)
    else:
        expected = (codes.double() - z.double().repeat_interleave(group, 1)) * s.double().repeat_interleave(group, 1)
    return layer, expected


def test_fake_layers():
    for bits in (1, 2, 4):
        for word_bits in (8, 32, 64):
            for mode in (3, 4):
                layer, expected = fake_layer(bits, word_bits, mode)
                q = uintx.from_gemlite(layer)
                err = (q.dequantize().double() - expected).abs().max().item()
                # mode 3 is exact; mode 4's zero -z'/s is rounded to fp16 once
                tol = 0.0 if mode == 3 else 2e-2 * expected.abs().max().item()
                check(err <= tol, "bits %d, %d-bit words, mode %d: max error %g <= %g" % (bits, word_bits, mode, err, tol))
                check(q.has_bias, "bias kept")


def test_refusals():
    layer, _ = fake_layer(4, 32, 3)
    layer.W_nbits = 8
    try:
        uintx.from_gemlite(layer)
        check(False, "8-bit refused")
    except uintx.InvalidArgumentError as e:
        check("W_nbits = 8" in str(e), str(e))


def test_real_gemlite():
    try:
        from gemlite.core import DType, GemLiteLinearTriton
    except Exception as e:  # noqa: BLE001
        print("gemlite not importable (%s): real-layer case skipped" % e)
        return
    n, k, group = 256, 512, 128
    codes = torch.randint(0, 16, (n, k), dtype=torch.uint8, device="cuda")
    s = (torch.rand(n, k // group, device="cuda") + 0.5).half()
    z = torch.randint(0, 16, (n, k // group), device="cuda").half()
    layer = GemLiteLinearTriton(4, group_size=group, in_features=k, out_features=n, input_dtype=DType.FP16,
                                output_dtype=DType.FP16)
    layer.pack(codes, s, z, bias=None)
    q = uintx.from_gemlite(layer)
    expected = (codes.double() - z.double().repeat_interleave(group, 1)) * s.double().repeat_interleave(group, 1)
    err = (q.dequantize().double() - expected.cpu()).abs().max().item()
    check(err < 2e-2 * expected.abs().max().item(), "real gemlite layer: max error %g" % err)


def main():
    test_fake_layers()
    test_refusals()
    if torch.cuda.is_available():
        test_real_gemlite()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
