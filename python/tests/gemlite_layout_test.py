"""gemlite's packed words are uintx's (CPU, no PyTorch; runs in CI): codes packed the way
gemlite's pack() does (along K, first code in the low bits, words stored [K / per_word, N]),
written here from that description, become a valid uintx weight whose dequantization equals
the float64 formula on the same codes, for 1/2/4 bits and 8/16/32/64-bit words. Also the
conversion rules of gemlite_layout.plan and the fma zero. Exits nonzero on any failure."""
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

    p = gemlite_layout.plan(4, 4, 0, False, 32, 4096, 4096, 32)
    check((p.group_size, p.packing_bitwidth, p.zero_rule) == (128, 32, gemlite_layout.ZERO_FROM_FMA), "fma plan")
    p = gemlite_layout.plan(4, 0, 1, False, 64, 64, 256, 1)
    check((p.group_size, p.packing_bitwidth, p.zero_rule) == (256, 32, gemlite_layout.ZERO_NONE),
          "channel-scale plan; 64-bit words become 32-bit ones")
    refused("scaled activations", 4, 3, 2, True, 32, 64, 256, 2)
    refused("W_nbits = 8", 8, 3, 0, False, 32, 64, 256, 2)
    refused("W_nbits = 3", 3, 3, 0, False, 32, 64, 256, 2)
    refused("do not divide", 4, 3, 0, False, 32, 64, 256, 3)
    refused("W_group_mode = 7", 4, 7, 0, False, 32, 64, 256, 2)
    refused("elements of 12 bits", 4, 3, 0, False, 12, 64, 256, 2)
    # fma: W = q * s + z' with z' = -z * s; uintx's (q - zero) * s is the same W.
    s, z = 0.75, 5.25
    check(gemlite_layout.zero_from_fma(-z * s, s) == z, "zero from the fma shift")
    return summary()


if __name__ == "__main__":
    sys.exit(main())
