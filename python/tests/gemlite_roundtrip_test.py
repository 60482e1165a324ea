"""gemlite's forward and uintx's on the same packed layer (GPU; run by hand on the GPU machine:
PYTHONPATH=<prefix>/lib/python:<folder holding gemlite/> python3 python/tests/gemlite_roundtrip_test.py).

For W_nbits 1, 2, 4, 8, packing_bitwidth 8, 16, 32, fp16 and bf16: a GemLiteLinearTriton packed
from fresh random codes, scales, zeros and bias; gemlite's forward on a random x of M = 1, 16,
64; uintx.from_gemlite(layer) (packed words moved, never dequantized) run by uintx.Linear. Each
output against a float64 reference computed from the codes, and uintx's against gemlite's:
relative errors <= 1e-2. Sub-byte widths: groups of 64 (gemlite's default fma zeros,
z' = -z * s) and 128 (exact zeros, fma_mode=False); --full runs both zero forms for both
groups. 8 bits, one scale per channel (uintx's int8): gemlite's int8 codes, and unsigned codes
with a zero of 128 in every packing. One line per case, skips with the reason; exits nonzero
on any failure of uintx; a cell where gemlite's own output is wrong against the reference and
uintx's is right is printed as GEMLITE_WRONG and listed, not failed. --quick: 4 and 8 bits in fp16 only. --autotune fast|max: gemlite's tuning
(default: its two default configs per kernel, to keep the run short).
"""
import argparse
import math
import os
import sys
import time
import traceback

import torch

import uintx

from checks import check, summary  # noqa: E402

N, K = 512, 1024
MS = (1, 16, 64)
DEVICE = "cuda"
TOL = 1e-2


def print_versions():
    import triton

    import gemlite

    print("torch %s (CUDA %s), triton %s, gemlite %s at %s" % (
        torch.__version__, torch.version.cuda, triton.__version__, getattr(gemlite, "__version__", "?"),
        os.path.dirname(os.path.abspath(gemlite.__file__))))
    print("uintx %s, libuintx %s, GPU %s" % (os.path.dirname(os.path.abspath(uintx.__file__)),
                                            uintx._capi.lib._name, torch.cuda.get_device_name()))


class Case:
    """One gemlite layer: kind is 'fma' / 'exact' (sub-byte zeros), 'int8' or 'uint8-128'."""

    def __init__(self, bits, packing, group, dtype, kind):
        self.bits, self.packing, self.group, self.dtype, self.kind = bits, packing, group, dtype, kind

    def __str__(self):
        group = "K" if self.group == K else str(self.group)
        dtype = "fp16" if self.dtype == torch.float16 else "bf16"
        return "bits %d pack %2d group %3s %s %-9s" % (self.bits, self.packing, group, dtype, self.kind)


def cases(quick, full):
    dtypes = (torch.float16,) if quick else (torch.float16, torch.bfloat16)
    for bits in ((4, 8) if quick else (1, 2, 4, 8)):
        for packing in (8, 16, 32):
            for dtype in dtypes:
                if bits == 8:
                    if packing == 8:
                        yield Case(8, 8, K, dtype, "int8")
                    yield Case(8, packing, K, dtype, "uint8-128")
                    continue
                for group in (64, 128):
                    for kind in (("fma", "exact") if full else ("fma" if group == 64 else "exact",)):
                        yield Case(bits, packing, group, dtype, kind)


def print_skips():
    print("skip: 8 bits with groups of 64/128: uintx's 8-bit width (int8) has one scale per output channel, "
          "so gemlite's grouped 8-bit layers (fractional zeros) are refused by from_gemlite")
    print("skip: int8 codes in 16/32-bit words: gemlite stores int8 W_q unpacked (pack() ignores "
          "packing_bitwidth); its packed 8-bit layers are the unsigned ones (uint8-128 cases)")


def build(case):
    """(gemlite layer, float64 weight [N, K] from the codes, float64 bias)."""
    from gemlite import DType, GemLiteLinearTriton

    dev, dt = DEVICE, case.dtype
    top = (1 << case.bits) - 1
    groups = K // case.group
    s = ((torch.rand(N, groups, device=dev) + 0.5) * (2.0 / (top * math.sqrt(K)))).to(dt)
    bias = (0.1 * torch.randn(N, device=dev)).to(dt)
    gdt = DType.FP16 if dt == torch.float16 else DType.BF16
    layer = GemLiteLinearTriton(case.bits, group_size=case.group, in_features=K, out_features=N,
                                input_dtype=gdt, output_dtype=gdt)
    s64 = s.double().repeat_interleave(case.group, 1)
    if case.kind == "int8":
        codes = torch.randint(-128, 128, (N, K), device=dev, dtype=torch.int8)  # -128: torchao's range
        layer.pack(codes, s, zeros=None, bias=bias)
        w = codes.double() * s64
    elif case.kind == "uint8-128":  # fp16: an integer zero; bf16: a zeros tensor (HQQ's form)
        codes = torch.randint(0, 256, (N, K), device=dev, dtype=torch.uint8)
        zeros = 128 if dt == torch.float16 else torch.full((N, 1), 128.0, device=dev, dtype=dt)
        layer.pack(codes, s, zeros, bias=bias, packing_bitwidth=case.packing)
        w = (codes.double() - 128) * s64
    else:
        codes = torch.randint(0, top + 1, (N, K), device=dev, dtype=torch.uint8)
        z = (torch.rand(N, groups, device=dev) * top).to(dt)  # fractional zeros, as HQQ's
        layer.pack(codes, s, z, bias=bias, fma_mode=case.kind == "fma", packing_bitwidth=case.packing)
        if case.kind == "fma":  # what gemlite stores and computes: q * s + z', z' = -z * s in dt
            check(int(layer.W_group_mode) == 4, "%s: gemlite chose W_group_mode 4" % case)
            w = codes.double() * s64 + layer.zeros.t().double().repeat_interleave(case.group, 1)
        else:
            w = (codes.double() - z.double().repeat_interleave(case.group, 1)) * s64
    return layer, w, bias.double()


def relative_error(y, ref):
    return ((y.double() - ref).norm() / ref.norm().clamp_min(1e-30)).item()


GEMLITE_WRONG = []


def run_case(case):
    try:
        layer, w, bias = build(case)
        q = uintx.from_gemlite(layer)
        f = q.format
        check((f.bit_width, f.packing_bitwidth) == (case.bits, case.packing),
              "%s: uintx format %r keeps the bits and the word size" % (case, f))
        linear = uintx.Linear(q)
    except Exception as e:  # noqa: BLE001
        check(False, "%s: building or converting failed: %s: %s" % (case, type(e).__name__, e))
        traceback.print_exc()
        return
    for m in MS:
        try:
            x = torch.randn(m, K, device=DEVICE, dtype=case.dtype)
            y_gemlite = layer(x)
            y_uintx = linear(x)
            ref = x.double() @ w.t() + bias
            e_g, e_u, e_ug = relative_error(y_gemlite, ref), relative_error(y_uintx, ref), relative_error(
                y_uintx, y_gemlite.double())
            shapes_ok = y_uintx.shape == y_gemlite.shape == (m, N) and y_uintx.dtype == case.dtype
            # gemlite itself wrong against the reference on the codes, uintx right: gemlite's
            # defect, reported (GEMLITE_WRONG) but not counted against uintx.
            gemlite_wrong = e_g > TOL and e_u <= TOL
            ok = shapes_ok and e_u <= TOL and (gemlite_wrong or max(e_g, e_ug) <= TOL)
            check(ok, "%s M=%d: errors %.2e %.2e %.2e > %g (or shape/dtype)" % (case, m, e_g, e_u, e_ug, TOL))
            if ok and gemlite_wrong:
                GEMLITE_WRONG.append("%s M=%d" % (case, m))
            print("%s %s M=%2d: gemlite %.2e  uintx %.2e  uintx vs gemlite %.2e" % (
                ("GEMLITE_WRONG" if gemlite_wrong else "ok  ") if ok else "FAIL", case, m, e_g, e_u, e_ug))
        except Exception as e:  # noqa: BLE001
            check(False, "%s M=%d: %s: %s" % (case, m, type(e).__name__, e))
            traceback.print_exc()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 and 8 bits, fp16 only")
    parser.add_argument("--full", action="store_true", help="both zero forms for both group sizes")
    parser.add_argument("--autotune", default="default", choices=("default", "fast", "max"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("gemlite_roundtrip_test: no CUDA device", file=sys.stderr)
        return 1
    try:
        import gemlite

        print_versions()
        gemlite.set_autotune(args.autotune)
    except Exception as e:  # noqa: BLE001
        print("gemlite_roundtrip_test: gemlite is not importable: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        traceback.print_exc()
        return 1
    uintx.set_cache_settings(config_cache_path="")
    torch.manual_seed(0)
    print("N = %d, K = %d; relative errors against float64 on the codes, tolerance %g" % (N, K, TOL))
    print_skips()
    start = time.time()
    for case in cases(args.quick, args.full):
        run_case(case)
    print("%.0f s" % (time.time() - start))
    if GEMLITE_WRONG:
        print("gemlite wrong against the reference (uintx right) in %d cells: %s" % (
            len(GEMLITE_WRONG), "; ".join(GEMLITE_WRONG)))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
