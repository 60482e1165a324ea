"""uintx.from_gemlite: a gemlite GemLiteLinearTriton layer to a uintx QuantizedWeight, moving the
packed words as they are (no dequantization to float). The layout rules: gemlite_layout.py."""
import ctypes

import torch

from . import gemlite_layout
from .errors import InvalidArgumentError
from .weight import QuantizedWeight, make_format


def _gemlite_zeros(layer, scales):
    """gemlite's zeros as float32 [N, groups] on the CPU (an integer zero broadcast)."""
    zeros = layer.zeros
    if zeros.numel() == 1:  # an integer shift for the whole layer
        return torch.full(tuple(scales.shape), float(zeros.reshape(-1)[0].item()))
    return zeros.t().to("cpu", torch.float32)


def _to_uintx_zero(layer, scales, rule):
    if rule == gemlite_layout.ZERO_NONE:
        return torch.zeros_like(scales)
    zeros = _gemlite_zeros(layer, scales)
    if rule == gemlite_layout.ZERO_FROM_FMA:
        zeros = gemlite_layout.zero_from_fma(zeros, scales.to(torch.float32))
    return zeros.to(scales.dtype).contiguous()


def _check_zero_128(layer, scales):
    zeros = _gemlite_zeros(layer, scales)
    bad = (zeros != 128).nonzero()
    if len(bad):
        n = int(bad[0][0])
        raise InvalidArgumentError(
            "uintx.from_gemlite: unsigned 8-bit codes with zero %g (output channel %d): uintx's int8 takes them "
            "only with a zero of exactly 128, as (q - 128) * s" % (float(zeros[n, bad[0][1]]), n))


def _bytes(t):
    """The memory of a contiguous CPU tensor (little-endian words, as uintx stores them)."""
    return ctypes.string_at(t.data_ptr(), t.numel() * t.element_size())


_WORD_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_SCALE_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _check_tensor(layer, name, dtypes, what):
    """A 2-D tensor attribute of one of `dtypes`, else InvalidArgumentError naming it: a float
    W_q of the right byte size would otherwise be taken as words."""
    t = getattr(layer, name, None)
    if not isinstance(t, torch.Tensor) or t.dim() != 2 or t.dtype not in dtypes:
        desc = "%s of shape %s" % (t.dtype, tuple(t.shape)) if isinstance(t, torch.Tensor) else type(t).__name__
        raise InvalidArgumentError("uintx.from_gemlite: %s is %s, expected %s with 2 dimensions" % (name, desc, what))


def from_gemlite(layer):
    """The QuantizedWeight of a packed gemlite layer (weight-only, 1/2/4/8 bits). 8-bit layers:
    int8 codes (gemlite's A16W8) move as they are; unsigned codes with a zero of 128 become
    int8 codes u - 128 (an integer repacking). Raises InvalidArgumentError (a ValueError) for
    layers uintx cannot take, naming why."""
    n, k = int(layer.out_features), int(layer.in_features)
    _check_tensor(layer, "W_q", _WORD_DTYPES, "an integer tensor of packed words")
    _check_tensor(layer, "scales", _SCALE_DTYPES, "a float32/bfloat16/float16 tensor")
    scales = layer.scales.t().to("cpu").contiguous()  # gemlite stores [groups, N]
    if scales.dim() != 2 or scales.shape[0] != n:
        raise InvalidArgumentError(
            "uintx.from_gemlite: scales of shape %s, expected [groups, %d]" % (tuple(layer.scales.shape), n))
    words = layer.W_q.t().to("cpu").contiguous()  # [N, K / per_word], whichever way gemlite stored it
    p = gemlite_layout.plan(int(layer.W_nbits), int(layer.W_group_mode), int(layer.channel_scale_mode),
                            bool(getattr(layer, "scaled_activations", False)), words.element_size() * 8, n, k,
                            scales.shape[1], signed_codes=words.dtype == torch.int8)
    packed = _bytes(words)
    if p.code_rule == gemlite_layout.CODES_MINUS_128:
        _check_zero_128(layer, scales)
        packed = gemlite_layout.codes_minus_128(packed)
    zeros = _bytes(_to_uintx_zero(layer, scales, p.zero_rule)) if p.has_zeros else b""
    fmt = make_format(n, k, bits=p.bits, group_size=p.group_size, packing_bitwidth=p.packing_bitwidth,
                      scale_dtype=scales.dtype)
    bias = b""
    if getattr(layer, "bias", None) is not None:
        bias = _bytes(layer.bias.detach().to("cpu", scales.dtype).contiguous())
    return QuantizedWeight.from_buffers(fmt, packed, _bytes(scales), zeros, bias)
