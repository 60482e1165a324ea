"""gemlite's packed words are uintx's (CPU, no PyTorch; runs in CI): codes packed the way
gemlite's pack() does (along K, first code in the low bits, words stored [K / per_word, N]),
written here from that description, become a valid uintx weight whose dequantization equals
the float64 formula on the same codes, for 1/2/4/8 bits and 8/16/32/64-bit words (8 bits:
gemlite's int8 bytes as they are, and unsigned codes with a zero of 128 through the top-bit
flip). Also the conversion rules of gemlite_layout.plan and the fma zero. Exits nonzero on any
failure."""
import random
import struct
import sys

import uintx
from uintx import gemlite_layout

from checks import check, summary  # noqa: E402


def gemlite_words(codes, n, k, bits, word_bits):
    """[K / per_word][N] words: code j of row r in word j // per_word of column r."""
    per_word = word_bits // bits
    words = [[0] * n for _ in range(k // per_word)]
    for r in range(n):
        for j in range(k):
            words[j // per_word][r] |= codes[r][j] << ((j % per_word) * bits)
    return words


def to_uintx_bytes(words, word_bits):
    """The converter's move: transpose back to [N][K / per_word], little-endian words."""
    fmt = {8: "<B", 16: "<H", 32: "<I", 64: "<Q"}[word_bits]
    rows, n = len(words), len(words[0])
    return b"".join(struct.pack(fmt, words[i][r]) for r in range(n) for i in range(rows))


def bf16_bytes(values):
    """Truncated to bf16 (the test picks values exact in bf16)."""
    return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)


def check_layout(bits, word_bits, rng):
    n, k, group = 8, 128, 64
    codes = [[rng.randrange(1 << bits) for _ in range(k)] for _ in range(n)]
    scales = [rng.choice([0.25, 0.5, 1.0, 2.0]) for _ in range(n * (k // group))]
    zeros = [rng.choice([0.0, 1.0, 1.5, 3.0]) for _ in range(n * (k // group))]
    p = gemlite_layout.plan(bits, 3, 0, False, word_bits, n, k, k // group)
    fmt = uintx.make_format(n, k, bits=p.bits, group_size=p.group_size, packing_bitwidth=p.packing_bitwidth)
    packed = to_uintx_bytes(gemlite_words(codes, n, k, bits, word_bits), word_bits)
    q = uintx.QuantizedWeight.from_buffers(fmt, packed, bf16_bytes(scales), bf16_bytes(zeros))
    back = q.dequantize_list()
    worst = 0.0
    for r in range(n):
        for j in range(k):
            g = r * (k // group) + j // group
            worst = max(worst, abs(back[r * k + j] - (codes[r][j] - zeros[g]) * scales[g]))
    check(worst == 0.0, "bits %d, %d-bit words: uintx reads gemlite's codes (worst error %g)" % (bits, word_bits, worst))


def check_layout_8bit(word_bits, signed, rng):
    """gemlite's int8 bytes (unpacked, 8-bit words only) as they are, or unsigned codes u with a
    zero of 128 in any word size through the top-bit flip: uintx reads (u - 128) * s."""
    n, k = 8, 128
    if signed:
        codes = [[rng.randrange(-128, 128) for _ in range(k)] for _ in range(n)]
        values = [[c & 0xFF for c in row] for row in codes]  # int8 two's complement bytes
        p = gemlite_layout.plan(8, 0, 1, False, word_bits, n, k, 1, signed_codes=True)
    else:
        values = [[rng.randrange(1, 256) for _ in range(k)] for _ in range(n)]
        codes = [[v - 128 for v in row] for row in values]
        p = gemlite_layout.plan(8, 1, 1, False, word_bits, n, k, 1)
    expected_rule = gemlite_layout.CODES_AS_IS if signed else gemlite_layout.CODES_MINUS_128
    check(p.code_rule == expected_rule and not p.has_zeros and p.group_size == k, "8-bit plan rules")
    scales = [rng.choice([0.25, 0.5, 1.0, 2.0]) for _ in range(n)]
    fmt = uintx.make_format(n, k, bits=p.bits, group_size=p.group_size, packing_bitwidth=p.packing_bitwidth)
    packed = to_uintx_bytes(gemlite_words(values, n, k, 8, word_bits), word_bits)
    if p.code_rule == gemlite_layout.CODES_MINUS_128:
        packed = gemlite_layout.codes_minus_128(packed)
    q = uintx.QuantizedWeight.from_buffers(fmt, packed, bf16_bytes(scales))
    back = q.dequantize_list()
    worst = max(abs(back[r * k + j] - codes[r][j] * scales[r]) for r in range(n) for j in range(k))
    check(worst == 0.0, "8 bits (%s), %d-bit words: uintx reads gemlite's codes (worst error %g)"
          % ("int8" if signed else "uint8 - 128", word_bits, worst))


def refused(fragment, *args):
    try:
        gemlite_layout.plan(*args)
    except uintx.InvalidArgumentError as e:
        check(fragment in str(e), "message %r names %r" % (str(e), fragment))
        return
    check(False, "plan%r should be refused" % (args,))


def main():
    rng = random.Random(5)
    for bits in (1, 2, 4):
        for word_bits in (8, 16, 32, 64):
            check_layout(bits, word_bits, rng)
    check_layout_8bit(8, True, rng)
    for word_bits in (8, 16, 32, 64):
        check_layout_8bit(word_bits, False, rng)
    check(gemlite_layout.codes_minus_128(bytes([0, 0x7F, 0x80, 0xFF])) == bytes([0x80, 0xFF, 0, 0x7F]),
          "u - 128: 0 -> -128, 127 -> -1, 128 -> 0, 255 -> 127")

    p = gemlite_layout.plan(4, 4, 0, False, 32, 4096, 4096, 32)
    check((p.group_size, p.packing_bitwidth, p.zero_rule) == (128, 32, gemlite_layout.ZERO_FROM_FMA), "fma plan")
    p = gemlite_layout.plan(4, 0, 1, False, 64, 64, 256, 1)
    check((p.group_size, p.packing_bitwidth, p.zero_rule) == (256, 32, gemlite_layout.ZERO_NONE),
          "channel-scale plan; 64-bit words become 32-bit ones")
    refused("scaled activations", 4, 3, 2, True, 32, 64, 256, 2)
    refused("one scale per output channel", 8, 3, 0, False, 32, 64, 256, 2)
    refused("integer zero of 128", 8, 2, 0, False, 32, 64, 256, 1)
    refused("integer zero of 128", 8, 4, 0, False, 32, 64, 256, 1)
    refused("symmetric", 8, 3, 0, False, 8, 64, 256, 1, True)
    refused("int8 W_q with W_nbits = 4", 4, 3, 0, False, 8, 64, 256, 2, True)
    refused("W_nbits = 3", 3, 3, 0, False, 32, 64, 256, 2)
    refused("W_nbits = 16", 16, 0, 0, False, 16, 64, 256, 1)
    refused("do not divide", 4, 3, 0, False, 32, 64, 256, 3)
    refused("W_group_mode = 7", 4, 7, 0, False, 32, 64, 256, 2)
    refused("elements of 12 bits", 4, 3, 0, False, 12, 64, 256, 2)
    # fma: W = q * s + z' with z' = -z * s; uintx's (q - zero) * s is the same W.
    s, z = 0.75, 5.25
    check(gemlite_layout.zero_from_fma(-z * s, s) == z, "zero from the fma shift")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
