"""uintx.from_gemlite with PyTorch (CPU is enough; run where torch is installed). Layers are
built as gemlite's pack() leaves them (W_q [K / per_word, N] words, scales and zeros
[groups, N], fma zeros z' = -z * s; 8 bits: int8 codes unpacked [K, N], or unsigned codes
packed with a zero of 128), from codes the test knows; with a GPU and the gemlite package, also
from a real GemLiteLinearTriton.pack(), and gemlite's own packers against the order written
here. The converted weight must dequantize to gemlite's formula on those codes; 8-bit layers
uintx cannot hold are refused with the reason. Exits nonzero on any failure."""
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


def int8_layer(group_mode, dtype=torch.bfloat16):
    """gemlite's A16W8: int8 codes stored unpacked as W_q [K, N], one scale per channel, no zero
    (W_group_mode 0 with channel_scale_mode 1, or 2 with 0)."""
    n, k = 64, 256
    codes = torch.randint(-128, 128, (n, k))
    codes[0, 0] = -128  # torchao's quantizer (quant_min -128) writes it
    s = (torch.rand(n, 1) + 0.5).to(dtype)
    layer = types.SimpleNamespace(
        out_features=n, in_features=k, W_nbits=8, W_group_mode=group_mode, channel_scale_mode=1 - group_mode // 2,
        scaled_activations=False, W_q=codes.to(torch.int8).t(), scales=s.t(),
        zeros=torch.tensor([[]], dtype=torch.int32), bias=None)
    return layer, codes.double() * s.double()


def uint8_layer(word_bits, group_mode, scalar_zero, dtype=torch.float16):
    """Unsigned 8-bit codes u packed like the narrower widths, zero 128: W = (u - 128) * s."""
    n, k = 64, 256
    u = torch.randint(0, 256, (n, k))
    u[0, 0] = 0  # the int8 code -128
    s = (torch.rand(n, 1) + 0.5).to(dtype)
    zeros = torch.tensor(128, dtype=torch.int32) if scalar_zero else torch.full((1, n), 128.0, dtype=dtype)
    layer = types.SimpleNamespace(
        out_features=n, in_features=k, W_nbits=8, W_group_mode=group_mode, channel_scale_mode=int(group_mode == 1),
        scaled_activations=False, W_q=pack_like_gemlite(u, 8, word_bits), scales=s.t(), zeros=zeros, bias=None)
    return layer, (u.double() - 128) * s.double()


def test_8bit_layers():
    torch.manual_seed(8)
    for mode in (0, 2):
        layer, expected = int8_layer(mode)
        q = uintx.from_gemlite(layer)
        f = q.format
        err = (q.dequantize().double() - expected).abs().max().item()
        check(err == 0.0 and (f.bit_width, f.group_size, f.packing_bitwidth) == (8, 256, 8),
              "int8 W_q, mode %d: bytes as they are, max error %g, format %r" % (mode, err, f))
    for word_bits in (8, 16, 32, 64):
        for mode, scalar_zero in ((1, True), (1, False), (3, False)):
            layer, expected = uint8_layer(word_bits, mode, scalar_zero)
            q = uintx.from_gemlite(layer)
            err = (q.dequantize().double() - expected).abs().max().item()
            check(err == 0.0 and q.format.packing_bitwidth == min(word_bits, 32),
                  "uint8 codes - 128, %d-bit words, mode %d, %s zero: max error %g"
                  % (word_bits, mode, "scalar" if scalar_zero else "tensor", err))


def refused(fragment, layer, exception=uintx.InvalidArgumentError):
    try:
        uintx.from_gemlite(layer)
    except exception as e:
        check(fragment in str(e), "message %r names %r" % (str(e), fragment))
        return
    except Exception as e:  # noqa: BLE001
        check(False, "%s expected, got %s: %s" % (exception.__name__, type(e).__name__, e))
        return
    check(False, "a layer that should be refused (%r) was converted" % fragment)


def test_refusals():
    layer, _ = fake_layer(4, 32, 3)
    layer.W_nbits = 16
    refused("W_nbits = 16", layer)
    # Crafted tensors: a float W_q of the right byte size, a missing or 3-D one, int scales.
    for name, value, fragment in (("W_q", lambda l: l.W_q.float(), "W_q is torch.float32"),
                                  ("W_q", lambda l: None, "W_q is NoneType"),
                                  ("W_q", lambda l: l.W_q.unsqueeze(0), "with 2 dimensions"),
                                  ("scales", lambda l: l.scales.to(torch.int32), "scales is torch.int32")):
        layer, _ = fake_layer(4, 32, 3)
        setattr(layer, name, value(layer))
        refused(fragment, layer)
    layer, _ = fake_layer(4, 32, 3)
    layer.W_nbits, layer.W_q = 8, pack_like_gemlite(torch.randint(0, 256, (64, 256)), 8, 32)
    refused("one scale per output channel", layer)  # grouped 8-bit (HQQ's A16W8_HQQ_INT)
    layer, _ = uint8_layer(32, 1, False)
    layer.zeros[0, 5] = 127.5
    refused("zero 127.5 (output channel 5)", layer)
    layer, _ = uint8_layer(32, 3, False)
    layer.W_group_mode = 2
    refused("integer zero of 128", layer)
    layer, _ = int8_layer(2)
    layer.W_group_mode, layer.zeros = 3, torch.zeros(1, 64)
    refused("symmetric", layer)


def test_gemlite_packers():
    """gemlite's own packers (bitpack.py) write the order pack_like_gemlite writes."""
    try:
        from gemlite import bitpack
    except Exception as e:  # noqa: BLE001
        print("gemlite not importable (%s): packer cross-check skipped" % e)
        return
    for bits in (1, 2, 4, 8):
        codes = torch.randint(0, 1 << bits, (32, 256), dtype=torch.uint8)
        for word_bits in (8, 16, 32, 64):
            expected = pack_like_gemlite(codes, bits, word_bits)
            got, _ = bitpack.pack_weights_over_cols_triton(codes.cuda(), bits, word_bits, transpose=True)
            check(torch.equal(got.cpu(), expected),
                  "gemlite's Triton packer, %d bits in %d-bit words" % (bits, word_bits))
            if word_bits <= 32:  # its torch packer shifts int32 codes (wrong past bit 31): 64 is Triton-only
                got, _ = bitpack.pack_weights_over_cols_torch(codes, bits, word_bits, transpose=True)
                check(torch.equal(got, expected), "gemlite's torch packer, %d bits in %d-bit words" % (bits, word_bits))


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
    test_8bit_layers()
    test_refusals()
    if torch.cuda.is_available():  # gemlite needs a GPU to import
        test_gemlite_packers()
        test_real_gemlite()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
