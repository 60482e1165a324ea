#!/usr/bin/env bash
# Assembles the folder a device call carries (default .carry, git-ignored; at most 64 MiB):
# the GPU binaries built here with --config=static and xz-compressed, the PTX of the TMA
# kernels for the `sass` step, and, where available, gemlite and the anchors' scripts for the
# `gemlite` step of scripts/device_run.sh (docs/PERFORMANCE.md, "Running the GPU binaries").
# Usage: bash scripts/prepare_carry.sh [DIR] [BINARIES...]   (default: gpu_suite linear_vs_cublas)
# gemlite comes from a local clone of dropbox/gemlite ($GEMLITE_REPO, a git directory) with its
# h100.json configs copied as h200.json, as ../shared/ANCHORS.md describes.
set -euo pipefail
dir="${1:-.carry}"; shift || true
bins=("$@"); ((${#bins[@]})) || bins=(gpu_suite linear_vs_cublas)
declare -A target=([gpu_suite]=//tests/gpu:gpu_suite [linear_vs_cublas]=//bench:linear_vs_cublas
                   [uintx-tune]=//autotune:uintx-tune [first_call_latency]=//bench:first_call_latency)
targets=(); for b in "${bins[@]}"; do targets+=("${target[$b]:?unknown binary $b}"); done
bazel build --config=static "${targets[@]}"
rm -rf "$dir/ptx"; mkdir -p "$dir/ptx"
for b in "${bins[@]}"; do
  t="${target[$b]#//}"; xz -T4 -6 -c "bazel-bin/${t%%:*}/${t#*:}" > "$dir/$b.xz"
done
# The PTX of the GEMMs with TMA copies (W8A8, W4A16), as kernel_ptx_test compiles them.
dump=$(mktemp -d)
bazel build //tests/kernels:kernel_ptx_test
(UINTX_DUMP_IR="$dump" ./bazel-bin/tests/kernels/kernel_ptx_test -tc='*TMA copies*' > /dev/null) || true
for p in "$dump"/*.4-ptx; do cp "$p" "$dir/ptx/$(basename "${p%.4-ptx}").ptx"; done
rm -rf "$dump"
shared="$(dirname "$0")/../../shared/bench"
[[ -d "$shared" ]] && cp "$shared"/anchors.py "$shared"/compare.py "$dir/"
if [[ -n "${GEMLITE_REPO:-}" ]]; then
  rm -rf "$dir/gemlite"; git -C "$GEMLITE_REPO" archive HEAD gemlite | tar -x -C "$dir"
  cp "$dir/gemlite/configs/h100.json" "$dir/gemlite/configs/h200.json"
fi
du -sh "$dir"
