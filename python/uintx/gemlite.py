"""uintx.from_gemlite: a gemlite GemLiteLinearTriton layer to a uintx QuantizedWeight, moving the
packed words as they are (no dequantization to float). The layout rules: gemlite_layout.py."""
import ctypes

import torch

from . import gemlite_layout
from .weight import QuantizedWeight, make_format


def _to_uintx_zero(layer, scales, rule):
    if rule == gemlite_layout.ZERO_NONE:
        return torch.zeros_like(scales)
    zeros = layer.zeros
    if zeros.numel() == 1:  # an integer shift for the whole layer
        zeros = torch.full((scales.shape[1], scales.shape[0]), float(zeros.reshape(-1)[0].item()))
    zeros = zeros.t().to("cpu", torch.float32)
    if rule == gemlite_layout.ZERO_FROM_FMA:
        zeros = gemlite_layout.zero_from_fma(zeros, scales.to(torch.float32))
    return zeros.to(scales.dtype).contiguous()


def _bytes(t):
    """The memory of a contiguous CPU tensor (little-endian words, as uintx stores them)."""
    return ctypes.string_at(t.data_ptr(), t.numel() * t.element_size())


def from_gemlite(layer):
    """The QuantizedWeight of a packed gemlite layer (weight-only, 1/2/4 bits). Raises
    InvalidArgumentError (a ValueError) for layers uintx cannot take, naming why."""
    n, k = int(layer.out_features), int(layer.in_features)
    scales = layer.scales.t().to("cpu").contiguous()  # gemlite stores [groups, N]
    if scales.dim() != 2 or scales.shape[0] != n:
        raise gemlite_layout.InvalidArgumentError(
            "uintx.from_gemlite: scales of shape %s, expected [groups, %d]" % (tuple(layer.scales.shape), n))
    words = layer.W_q.t().to("cpu").contiguous()  # [N, K / per_word], whichever way gemlite stored it
    p = gemlite_layout.plan(int(layer.W_nbits), int(layer.W_group_mode), int(layer.channel_scale_mode),
                            bool(getattr(layer, "scaled_activations", False)), words.element_size() * 8, n, k,
                            scales.shape[1])
    zeros = _to_uintx_zero(layer, scales, p.zero_rule)
    fmt = make_format(n, k, bits=p.bits, group_size=p.group_size, packing_bitwidth=p.packing_bitwidth,
                      scale_dtype=scales.dtype)
    bias = b""
    if getattr(layer, "bias", None) is not None:
        bias = _bytes(layer.bias.detach().to("cpu", scales.dtype).contiguous())
    return QuantizedWeight.from_buffers(fmt, _bytes(words), _bytes(scales), _bytes(zeros), bias)
