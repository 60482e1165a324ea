#!/usr/bin/env python3
"""Summarises a zoo run of bench/linear_vs_cublas (--zoo ... --csv RUN.csv): per variant and M band,
the geometric mean speedup over cuBLAS bf16 and fraction of the roofline; optionally gemlite side by
side (../shared/bench/anchors.py JSON); and an SVG plot of speedup vs M, one panel per variant, one
line per layer kind.
Usage: zoo_report.py RUN.csv [--gemlite G.json] [--svg OUT.svg]"""
import csv, json, math, sys
from collections import defaultdict

BANDS = [("M 1-8", 1, 8), ("M 9-64", 9, 64), ("M 65-512", 65, 512), ("M 513+", 513, 1 << 40)]
GEMLITE_NAMES = {"A16W4": "w4", "A16W8ch": "w8", "A16W2": "w2", "A8W8i8": "w8a8", "A8W4i8": "w4a8"}


def geomean(values):
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def read_cells(path):
    """(variant, kind, N, K, M) -> {speedup, roof, us, cublas_us}"""
    cells = {}
    rows = list(csv.DictReader(open(path)))
    variants = sorted({c[: -len("_speedup")] for c in rows[0] if c.endswith("_speedup")}) if rows else []
    for r in rows:
        n, k = (int(v) for v in r["shape"].split("x"))
        for v in variants:
            s = r.get(v + "_speedup", "-")
            if s in ("-", "", None):
                continue
            cells[(v, r.get("kind", "-"), n, k, int(r["M"]))] = {
                "speedup": float(s.rstrip("x")), "roof": float(r[v + "_roof"]),
                "us": float(r[v + "_us"]), "cublas_us": float(r["cublas_us"]), "layers": r.get("layers", "-")}
    return cells


def read_gemlite(path):
    d = json.load(open(path))
    base = {(r["N"], r["K"], r["M"]): r["us"] for r in d["rows"] if r["variant"] == "bf16" and "us" in r}
    out = {}
    for r in d["rows"]:
        v = GEMLITE_NAMES.get(r["variant"])
        key = (r.get("N"), r.get("K"), r.get("M"))
        if v and "us" in r and key in base:
            out[(v,) + key] = base[key] / r["us"]
    return out


def band_table(cells, gemlite):
    variants = sorted({c[0] for c in cells})
    head = "| variant | band | cells | speedup (geomean) | roofline fraction (geomean) | min speedup |"
    lines = [head, "|---|---|---|---|---|---|"]
    if gemlite:
        lines[0] = head + " gemlite (same cells) | uintx / gemlite | cells below gemlite |"
        lines[1] += "---|---|---|"
    for v in variants:
        for name, lo, hi in BANDS:
            ks = [c for c in cells if c[0] == v and lo <= c[4] <= hi]
            if not ks:
                continue
            sp = [cells[c]["speedup"] for c in ks]
            line = f"| {v} | {name} | {len(ks)} | {geomean(sp):.2f}x | {geomean([cells[c]['roof'] for c in ks]):.2f} | {min(sp):.2f}x |"
            if gemlite:
                both = [c for c in ks if (v, c[2], c[3], c[4]) in gemlite]
                if both:
                    g = geomean([gemlite[(v, c[2], c[3], c[4])] for c in both])
                    u = geomean([cells[c]["speedup"] for c in both])
                    below = sum(cells[c]["speedup"] < gemlite[(v, c[2], c[3], c[4])] for c in both)
                    line += f" {g:.2f}x | {u / g:.2f} | {below}/{len(both)} |"
                else:
                    line += " - | - | - |"
            lines.append(line)
    return "\n".join(lines)


def svg_plot(cells, path):
    variants = sorted({c[0] for c in cells})
    kinds = sorted({c[1] for c in cells})
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    pw, ph, pad = 420, 300, 50
    width = pw * len(variants)
    height = ph + 40 + 18 * ((len(kinds) + 3) // 4)
    ms = sorted({c[4] for c in cells})
    lx = lambda m: math.log2(m)
    x0, x1 = lx(ms[0]), max(lx(ms[-1]), lx(ms[0]) + 1)
    top = max(4.0, max(cells[c]["speedup"] for c in cells) * 1.05)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for i, v in enumerate(variants):
        ox = i * pw
        X = lambda m: ox + pad + (lx(m) - x0) / (x1 - x0) * (pw - pad - 15)
        Y = lambda s: 20 + (1 - s / top) * (ph - 60)
        out.append(f'<text x="{ox + pw / 2}" y="14" text-anchor="middle" font-weight="bold">{v}: speedup over cuBLAS bf16</text>')
        out.append(f'<line x1="{X(ms[0])}" y1="{Y(1)}" x2="{X(ms[-1])}" y2="{Y(1)}" stroke="#999" stroke-dasharray="4"/>')
        for t in range(0, int(top) + 1):
            out.append(f'<text x="{ox + pad - 6}" y="{Y(t) + 4}" text-anchor="end">{t}x</text>')
        for m in ms:
            out.append(f'<text x="{X(m)}" y="{ph - 22}" text-anchor="middle">{m}</text>')
        out.append(f'<text x="{ox + pw / 2}" y="{ph - 8}" text-anchor="middle">M (rows of x)</text>')
        for j, kind in enumerate(kinds):
            pts = defaultdict(list)
            for c in cells:
                if c[0] == v and c[1] == kind:
                    pts[c[4]].append(cells[c]["speedup"])
            if not pts:
                continue
            path_pts = " ".join(f"{X(m):.1f},{Y(geomean(s)):.1f}" for m, s in sorted(pts.items()))
            out.append(f'<polyline points="{path_pts}" fill="none" stroke="{colors[j % len(colors)]}" stroke-width="1.5"/>')
    for j, kind in enumerate(kinds):
        x, y = 10 + (j % 4) * 150, ph + 20 + 18 * (j // 4)
        out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="4" fill="{colors[j % len(colors)]}"/>')
        out.append(f'<text x="{x + 16}" y="{y - 4}">{kind} (geomean over layers)</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out))


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    cells = read_cells(args[0])
    gemlite = read_gemlite(args[args.index("--gemlite") + 1]) if "--gemlite" in args else {}
    print(band_table(cells, gemlite))
    if "--svg" in args:
        svg_plot(cells, args[args.index("--svg") + 1])


if __name__ == "__main__":
    main()
