"""How a gemlite layer's packed buffers map onto uintx's format (pure logic, no torch).

gemlite (GemLiteLinearTriton.pack) packs the codes W_q [N, K] of a layer along K into words of
packing_bitwidth (8, 16, 32 or 64) bits: code k of a row goes to word k // per_word at bits
[(k % per_word) * bits, ...), the first code in the least significant bits. That is uintx's
order (docs/FORMATS.md), so the words move unchanged; gemlite only stores them transposed,
[K / per_word, N], as it stores scales and zeros, [groups, N]. A 64-bit word is, in little-endian
memory, two 32-bit uintx words, low half first.

gemlite's dequantization, by W_group_mode (weight-only layers, channel_scale_mode 0 or 1):
  0: q * s (channel scale)        1: (q - z) * s (channel scale)       2: q * s
  3: (q - z) * s                   4: q * s + z'   (fma mode, z' = -z * s)
uintx's is (q - zero) * scale, so zero = 0, z, or -z' / s (rounded to the scale dtype).
"""
from .errors import InvalidArgumentError

# uintx widths that gemlite packs: asymmetric 1, 2, 4 bits. gemlite's 8-bit codes are unsigned
# with a zero point, uintx's 8-bit is symmetric int8 without zeros: not convertible as is.
SUPPORTED_BITS = (1, 2, 4)

ZERO_NONE, ZERO_AS_IS, ZERO_FROM_FMA = "none", "as_is", "from_fma"


class GemlitePlan:
    """What the conversion of one layer does: uintx's format fields and the zero rule."""

    def __init__(self, bits, group_size, packing_bitwidth, n, k, zero_rule):
        self.bits, self.group_size, self.packing_bitwidth = bits, group_size, packing_bitwidth
        self.n, self.k, self.zero_rule = n, k, zero_rule


def plan(bits, group_mode, channel_scale_mode, scaled_activations, word_bits, n, k, groups):
    """The conversion of a gemlite layer with these attributes (W_nbits, W_group_mode,
    channel_scale_mode, scaled_activations, bits of a W_q element, out_features, in_features,
    number of scale groups per row); InvalidArgumentError naming what uintx cannot take."""

    def refuse(why):
        raise InvalidArgumentError("uintx.from_gemlite: " + why)

    if scaled_activations or channel_scale_mode not in (0, 1):
        refuse("layers with scaled activations (int8/fp8 inputs, channel_scale_mode %d) are not weight-only"
               % channel_scale_mode)
    if bits not in SUPPORTED_BITS:
        refuse("W_nbits = %d: uintx takes gemlite's 1-, 2- and 4-bit layers (its 8-bit format is symmetric int8)"
               % bits)
    if word_bits not in (8, 16, 32, 64):
        refuse("W_q elements of %d bits: expected packed words of 8, 16, 32 or 64 bits" % word_bits)
    if groups < 1 or k % groups:
        refuse("%d scale groups per row do not divide in_features = %d" % (groups, k))
    if channel_scale_mode == 1 and groups != 1:
        refuse("channel_scale_mode 1 with %d groups per row: expected one scale per output channel" % groups)
    rules = {0: ZERO_NONE, 1: ZERO_AS_IS, 2: ZERO_NONE, 3: ZERO_AS_IS, 4: ZERO_FROM_FMA}
    if group_mode not in rules:
        refuse("W_group_mode = %d is not one of 0..4" % group_mode)
    # 64-bit words are two 32-bit uintx words in memory; 8/16/32 stay as they are.
    return GemlitePlan(bits, k // groups, min(word_bits, 32), n, k, rules[group_mode])


def zero_from_fma(shifted_zero, scale):
    """uintx's zero for gemlite's fma mode (W = q * s + z'): z = -z' / s."""
    return -shifted_zero / scale
