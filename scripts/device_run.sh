#!/usr/bin/env bash
# Runs the GPU work on a machine with an NVIDIA GPU, from a folder of statically linked
# binaries built here with --config=static (compressed with xz). Logs go to $OUT (or ./out).
# Usage: bash scripts/device_run.sh <binaries dir> [suite] [bench ARGS...] [tune] [latency]
set -uo pipefail
dir="$1"; shift
out="${OUT:-./out}"; mkdir -p "$out"
for f in "$dir"/*.xz; do [[ -e "${f%.xz}" ]] || xz -d -k "$f"; chmod +x "${f%.xz}"; done
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader | tee "$out/gpu.txt"
while (($#)); do
  case "$1" in
    suite) "$dir/gpu_suite" 2>&1 | tail -25 | tee "$out/suite.txt"; shift ;;
    bench) shift; args=(); while (($#)) && [[ "$1" != suite && "$1" != tune && "$1" != latency ]]; do args+=("$1"); shift; done
           "$dir/linear_vs_cublas" "${args[@]}" 2>>"$out/bench.err" | tee -a "$out/bench.txt" ;;
    tune) shift; d=$(mktemp -d)
          "$dir/first_call_latency" --cache $d/cfg.json --kernels-dir $d/k --shape 4096x4096 --batch 1 \
              --launched-at-ns $(date +%s%N) 2>&1 | tee "$out/latency_cold.txt"
          "$dir/uintx-tune" --shapes 4096x4096,8192x8192 --bits 4 --group-size 128 --packing 32 --batch 1,16 \
              --cache $d/cfg.json --kernels-dir $d/k 2>&1 | tail -15 | tee "$out/tune.txt"
          cp $d/cfg.json "$out/tuned_cfg.json" 2>/dev/null
          "$dir/first_call_latency" --cache $d/cfg.json --kernels-dir $d/k --shape 4096x4096 --batch 1 \
              --launched-at-ns $(date +%s%N) 2>&1 | tee "$out/latency_warm.txt"
          export UINTX_CONFIG_CACHE=$d/cfg.json ;;
    *) echo "unknown step $1"; exit 2 ;;
  esac
done
