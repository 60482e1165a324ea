"""How a gemlite layer's packed buffers map onto uintx's format (pure logic, no torch).

gemlite (GemLiteLinearTriton.pack, bitpack.pack_weights_over_cols) packs the codes W_q [N, K]
of a layer along K into words of packing_bitwidth (8, 16, 32 or 64) bits: code k of a row goes
to word k // per_word at bits [(k % per_word) * bits, ...), the first code in the least
significant bits. That is uintx's order (docs/FORMATS.md), so the words move unchanged; gemlite
only stores them transposed, [K / per_word, N] (as uint8, int16, int32 or int64: the same bits),
as it stores scales and zeros, [groups, N]. A 64-bit word is, in little-endian memory, two
32-bit uintx words, low half first.

gemlite's dequantization, by W_group_mode (weight-only layers, channel_scale_mode 0 or 1):
  0: q * s (channel scale)        1: (q - z) * s (channel scale)       2: q * s
  3: (q - z) * s                   4: q * s + z'   (fma mode, z' = -z * s)
uintx's is (q - zero) * scale, so zero = 0, z, or -z' / s (rounded to the scale dtype).

8 bits: uintx's 8-bit width is symmetric int8 (codes -128..127, one scale per output channel,
no zeros; torchao's quantizer writes -128). gemlite has two 8-bit layouts:
  - int8 W_q (helper.A16W8, torchao's 8-bit): signed codes stored unpacked, one scale per
    channel, no zero. The bytes are uintx's int8 codes: they move as they are.
  - uint8 codes packed like the narrower widths, with a zero point: W = (u - z) * s. Only a
    zero of exactly 128 with one scale per channel is symmetric; then the int8 code is
    u - 128, which is u with its top bit flipped (integer repacking, on the CPU). Other zeros
    (HQQ's fractional ones, grouped scales) are refused.
"""
from .errors import InvalidArgumentError

# gemlite's weight-only widths that uintx takes.
SUPPORTED_BITS = (1, 2, 4, 8)

ZERO_NONE, ZERO_AS_IS, ZERO_FROM_FMA, ZERO_MUST_BE_128 = "none", "as_is", "from_fma", "must_be_128"
CODES_AS_IS, CODES_MINUS_128 = "as_is", "minus_128"


class GemlitePlan:
    """What the conversion of one layer does: uintx's format fields, the zero rule and the
    code rule (CODES_MINUS_128: flip the top bit of every byte of the packed words)."""

    def __init__(self, bits, group_size, packing_bitwidth, n, k, zero_rule, code_rule=CODES_AS_IS):
        self.bits, self.group_size, self.packing_bitwidth = bits, group_size, packing_bitwidth
        self.n, self.k, self.zero_rule, self.code_rule = n, k, zero_rule, code_rule

    @property
    def has_zeros(self):
        """Whether the uintx weight has a zeros buffer (not for the symmetric 8-bit width)."""
        return self.bits != 8


def plan(bits, group_mode, channel_scale_mode, scaled_activations, word_bits, n, k, groups, signed_codes=False):
    """The conversion of a gemlite layer with these attributes (W_nbits, W_group_mode,
    channel_scale_mode, scaled_activations, bits of a W_q element, out_features, in_features,
    number of scale groups per row, whether W_q is int8, i.e. signed unpacked 8-bit codes);
    InvalidArgumentError naming what uintx cannot take."""

    def refuse(why):
        raise InvalidArgumentError("uintx.from_gemlite: " + why)

    if scaled_activations or channel_scale_mode not in (0, 1):
        refuse("layers with scaled activations (int8/fp8 inputs, channel_scale_mode %d) are not weight-only"
               % channel_scale_mode)
    if bits not in SUPPORTED_BITS:
        refuse("W_nbits = %d: uintx takes gemlite's 1-, 2-, 4- and 8-bit layers" % bits)
    if word_bits not in (8, 16, 32, 64):
        refuse("W_q elements of %d bits: expected packed words of 8, 16, 32 or 64 bits" % word_bits)
    if signed_codes and bits != 8:
        refuse("int8 W_q with W_nbits = %d: gemlite stores only 8-bit codes unpacked as int8" % bits)
    if groups < 1 or k % groups:
        refuse("%d scale groups per row do not divide in_features = %d" % (groups, k))
    if channel_scale_mode == 1 and groups != 1:
        refuse("channel_scale_mode 1 with %d groups per row: expected one scale per output channel" % groups)
    rules = {0: ZERO_NONE, 1: ZERO_AS_IS, 2: ZERO_NONE, 3: ZERO_AS_IS, 4: ZERO_FROM_FMA}
    if group_mode not in rules:
        refuse("W_group_mode = %d is not one of 0..4" % group_mode)
    packing_bitwidth = min(word_bits, 32)  # 64-bit words are two 32-bit uintx words in memory
    if bits != 8:
        return GemlitePlan(bits, k // groups, packing_bitwidth, n, k, rules[group_mode])

    if groups != 1:
        refuse("8-bit layer with %d scale groups per row: uintx's 8-bit width (int8) has one scale per "
               "output channel" % groups)
    if signed_codes:
        if rules[group_mode] != ZERO_NONE:
            refuse("int8 codes with a zero point (W_group_mode %d): uintx's int8 is symmetric" % group_mode)
        return GemlitePlan(8, k, packing_bitwidth, n, k, ZERO_NONE, CODES_AS_IS)
    if rules[group_mode] != ZERO_AS_IS:
        refuse("unsigned 8-bit codes with W_group_mode %d: uintx's int8 takes them only as (q - 128) * s, "
               "with an integer zero of 128 (W_group_mode 1 or 3)" % group_mode)
    return GemlitePlan(8, k, packing_bitwidth, n, k, ZERO_MUST_BE_128, CODES_MINUS_128)


def zero_from_fma(shifted_zero, scale):
    """uintx's zero for gemlite's fma mode (W = q * s + z'): z = -z' / s."""
    return -shifted_zero / scale


# Every 8-bit code fills one byte of a little-endian word (any word size), so u - 128 in
# two's complement is each byte with its top bit flipped.
_FLIP_TOP_BIT = bytes(b ^ 0x80 for b in range(256))


def codes_minus_128(packed):
    """Packed unsigned 8-bit codes u (bytes) -> the int8 codes u - 128, byte for byte."""
    return bytes(packed).translate(_FLIP_TOP_BIT)
