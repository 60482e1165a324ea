"""A Llama-style gated MLP block, down(silu(gate(x)) * up(x)), hidden 4096 -> 14336 -> 4096,
with 4-bit weights in groups of 128, four ways side by side:

  bf16      torch.nn.functional.linear on the float weights (cuBLAS): the float block, the baseline
  gemlite   GemLiteLinearTriton layers packed from codes computed here (min-max, fractional zero)
  uintx     uintx.Linear.from_linear of the float layers (uintx's own quantization)
  uintx(g)  uintx.Linear(uintx.from_gemlite(layer)) of the gemlite layers: the same codes

Prints the relative errors against the float block (float32) and of uintx(g) against gemlite,
then the time of one block call for M = 1, 16, 64, 256, each measured by CUDA-graph replay
(N calls captured in one graph, replayed R times, median per call). Exits 1 if uintx(g) and
gemlite differ by more than 1e-2, or if a part failed.

    PYTHONPATH=<prefix>/lib/python:<folder holding gemlite/> python3 python/examples/mlp_block.py [--quick]
"""
import argparse
import os
import statistics
import sys
import traceback

import torch
import torch.nn.functional as F

import uintx

MS = (1, 16, 64, 256)
problems = []  # what failed, for the exit status


def attempt(what, fn, *args):
    """fn(*args), or None with the exception printed and remembered."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        problems.append("%s: %s: %s" % (what, type(e).__name__, e))
        print("error: " + problems[-1])
        traceback.print_exc()
        return None


class MLP(torch.nn.Module):
    def __init__(self, gate, up, down):
        super().__init__()
        self.gate, self.up, self.down = gate, up, down

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


def gemlite_linear(linear, bits=4, group=128):
    """A gemlite layer packed from asymmetric codes: s = (max - min) / 15, z = -min / s per group."""
    from gemlite import DType, GemLiteLinearTriton

    w = linear.weight.detach()
    n, k = w.shape
    g = w.float().reshape(n, k // group, group)
    lo, hi, top = g.amin(-1), g.amax(-1), (1 << bits) - 1
    s = ((hi - lo) / top).clamp_min(1e-6).to(w.dtype)
    z = (-lo / s.float()).to(w.dtype)
    q = (g / s.float()[..., None] + z.float()[..., None]).round().clamp(0, top).to(torch.uint8).reshape(n, k)
    dt = DType.BF16 if w.dtype == torch.bfloat16 else DType.FP16
    layer = GemLiteLinearTriton(bits, group_size=group, in_features=k, out_features=n, input_dtype=dt, output_dtype=dt)
    layer.pack(q, s, z, bias=None)  # gemlite's defaults: 32-bit words, fma zeros z' = -z * s
    return layer


def relative_error(y, ref):
    return ((y.float() - ref).norm() / ref.norm()).item()


def graph_time_us(block, x, stream, calls, replays):
    """Median time of one call: `calls` calls captured in one CUDA graph on `stream` (after
    warm-up there: gemlite tunes and uintx sizes its per-stream workspace on a first call)."""
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            block(x)
    stream.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, stream=stream):
        for _ in range(calls):
            block(x)
    times = []
    for _ in range(replays):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / calls)
    del graph
    return statistics.median(times)


def print_versions():
    import triton

    print("torch %s (CUDA %s), triton %s, GPU %s" % (torch.__version__, torch.version.cuda, triton.__version__,
                                                    torch.cuda.get_device_name()))
    print("uintx %s (libuintx %s)" % (os.path.dirname(os.path.abspath(uintx.__file__)), uintx._capi.lib._name))
    try:
        import gemlite

        print("gemlite %s at %s" % (getattr(gemlite, "__version__", "?"),
                                    os.path.dirname(os.path.abspath(gemlite.__file__))))
    except Exception as e:  # noqa: BLE001
        print("gemlite not importable: %s: %s" % (type(e).__name__, e))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1024 -> 2816 -> 1024, fewer replays, gemlite untuned")
    parser.add_argument("--dtype", default="bf16", choices=("bf16", "fp16"))
    parser.add_argument("--autotune", default=None, choices=("default", "fast", "max"),
                        help="gemlite's tuning (default: fast, or its default configs with --quick)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("mlp_block: no CUDA device", file=sys.stderr)
        return 1
    print_versions()
    hidden, inter = (1024, 2816) if args.quick else (4096, 14336)
    calls, replays = (10, 5) if args.quick else (20, 10)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    autotune = args.autotune or ("default" if args.quick else "fast")
    print("MLP %d -> %d -> %d, %s, 4-bit g128; gemlite autotune %s; %d calls per graph, median of %d replays"
          % (hidden, inter, hidden, args.dtype, autotune, calls, replays))

    torch.manual_seed(0)
    linears = [torch.nn.Linear(i, o, bias=False, device="cuda", dtype=dtype)
               for i, o in ((hidden, inter), (hidden, inter), (inter, hidden))]
    blocks = {args.dtype: MLP(*linears)}
    try:
        import gemlite

        gemlite.set_autotune(autotune)
        gemlite_layers = attempt("gemlite pack", lambda: [gemlite_linear(l) for l in linears])
    except Exception as e:  # noqa: BLE001
        problems.append("gemlite: %s: %s" % (type(e).__name__, e))
        print("error: " + problems[-1])
        gemlite_layers = None
    if gemlite_layers:
        blocks["gemlite"] = MLP(*gemlite_layers)
    blocks["uintx"] = attempt("uintx.Linear.from_linear", lambda: MLP(
        *[uintx.Linear.from_linear(l, bits=4, group_size=128) for l in linears]))
    if gemlite_layers:
        blocks["uintx(g)"] = attempt("uintx.from_gemlite", lambda: MLP(
            *[uintx.Linear(uintx.from_gemlite(g)) for g in gemlite_layers]))
    blocks = {name: block for name, block in blocks.items() if block is not None}

    # Errors on one x (M = 64) against the float block in float32.
    x = torch.randn(64, hidden, device="cuda", dtype=dtype)
    with torch.no_grad():
        ref = MLP(*[lambda t, w=l.weight.float(): F.linear(t, w) for l in linears])(x.float())
        outputs = {name: attempt(name + " forward", block, x) for name, block in blocks.items()}
    for name, y in outputs.items():
        if y is not None:
            print("%-9s relative error vs the float block: %.4f" % (name, relative_error(y, ref)))
    if outputs.get("uintx(g)") is not None and outputs.get("gemlite") is not None:
        err = relative_error(outputs["uintx(g)"], outputs["gemlite"].float())
        print("uintx(g) vs gemlite (the same codes): %.2e (must be <= 1e-2)" % err)
        if not err <= 1e-2:
            problems.append("uintx(g) vs gemlite: relative error %.2e > 1e-2" % err)

    stream = torch.cuda.Stream()
    names = list(blocks)
    print("\nus per block call (CUDA-graph replay); in brackets: the float block's time / this one's")
    print("%5s" % "M" + "".join("%20s" % n for n in names))
    for m in MS:
        x = torch.randn(m, hidden, device="cuda", dtype=dtype)
        times = {}
        with torch.no_grad():
            for name in names:
                times[name] = attempt("%s M=%d timing" % (name, m), graph_time_us, blocks[name], x, stream,
                                      calls, replays)
        base = times[names[0]]
        cells = []
        for name in names:
            t = times[name]
            if t is None:
                cells.append("%20s" % "error")
            elif name == names[0] or base is None:
                cells.append("%20.1f" % t)
            else:
                cells.append("%20s" % ("%.1f (%.2fx)" % (t, base / t)))
        print("%5d" % m + "".join(cells))
    if problems:
        print("\n%d problem(s):\n  " % len(problems) + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
