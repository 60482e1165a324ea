#!/usr/bin/env bash
# Runs the GPU work on a machine with an NVIDIA GPU, from a folder of statically linked
# binaries built here with --config=static (compressed with xz). Logs go to $OUT (or ./out).
# Usage: bash scripts/device_run.sh <binaries dir> [suite] [bench ARGS...] [tune] [tma] [sass]
#                                   [gemlite SHAPES MS] [int8cliff]
# (the folder as scripts/prepare_carry.sh assembles it)
# `tma`: the checks the TMA copies owe (docs/PERFORMANCE.md, run 26): the tensor-block GPU
# case (also under memcheck and racecheck), W8A8 and W4A16 through linear() with and without
# TMA copies, the warp-specialized int8 GEMM's suite cases, and the transposed W4A16 tile with
# x by TMA (a config-cache entry per key).
# `sass`: each PTX file of <dir>/ptx assembled for sm_90a and disassembled (sass-NAME.txt).
# `gemlite SHAPES MS` (e.g. 11008x4096,4096x11008 1,16,300): W4A16 and W8A8 through
# linear_vs_cublas --graph and gemlite (../shared/bench/anchors.py, <dir>/gemlite) on the same
# cells, then compare.py side by side (compare.txt).
# `int8cliff`: W8A8 from 64 to 256 rows with the default tiles, then with 256-row tiles (weights
# read once from 129 to 256 rows) and transposed tiles from config-cache entries of buckets 128
# and 256 (bench/predicted_defaults shows where the models predict steps; docs/PERFORMANCE.md,
# run 28).
set -uo pipefail
dir="$1"; shift
out="${OUT:-./out}"; mkdir -p "$out"
for f in "$dir"/*.xz; do [[ -e "${f%.xz}" ]] || xz -d -k "$f"; chmod +x "${f%.xz}"; done
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv,noheader | tee "$out/gpu.txt"
while (($#)); do
  case "$1" in
    suite) "$dir/gpu_suite" 2>&1 | tail -25 | tee "$out/suite.txt"; shift ;;
    bench) shift; args=(); while (($#)) && [[ ! "$1" =~ ^(suite|tune|tma|sass|gemlite|int8cliff)$ ]]; do args+=("$1"); shift; done
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
    tma) shift
         "$dir/gpu_suite" '-tc=*tensor blocks*' > "$out/tma_suite.txt" 2>&1
         UINTX_TMA_COPIES=2 "$dir/gpu_suite" '-tc=*int8 dynamic*' > "$out/tma_suite_int8_ws.txt" 2>&1
         for tool in memcheck racecheck; do
           compute-sanitizer --tool $tool "$dir/gpu_suite" '-tc=*tensor blocks*' > "$out/tma_$tool.txt" 2>&1
         done
         a=(--graph --large-m --variants w8a8,w4 --shapes 8192x8192,28672x8192 --batch 256,4096)
         for t in 0 1 2; do UINTX_TMA_COPIES=$t "$dir/linear_vs_cublas" "${a[@]}" > "$out/tma_linear_$t.txt" 2>&1; done
         name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
         cfg='{"BLOCK_N": 256, "BLOCK_M": 128, "BLOCK_K": 64, "num_warps": 8, "num_stages": 4, "split_k": 1, "weights_as_a": 1, "tma_copies": 1}'
         d=$(mktemp -d); entries=""
         for nk in 8192:8192 28672:8192; do for m in 256 4096; do
           entries+="${entries:+,}\"family=gemm;bits=4;group=128;pack=32;act=bf16;out=bf16;N=${nk%:*};K=${nk#*:};M=$m\": {\"config\": $cfg, \"time_us\": 1.0, \"tuned_at\": \"2026-12-07T00:00:00Z\"}"
         done; done
         echo "{\"schema_version\": 1, \"gpu\": {\"name\": \"$name\", \"compute_capability\": \"9.0\"}, \"entries\": {$entries}}" > $d/wa.json
         UINTX_CONFIG_CACHE=$d/wa.json "$dir/linear_vs_cublas" --graph --large-m --variants w4 --shapes 8192x8192,28672x8192 \
             --batch 256,4096 > "$out/tma_weights_as_a.txt" 2>&1
         tail -n 3 "$out"/tma_*.txt ;;
    sass) shift
          for p in "$dir"/ptx/*.ptx; do
            n=$(basename "$p" .ptx); c=$(mktemp --suffix=.cubin)
            ptxas -arch=sm_90a -O3 "$p" -o "$c" && cuobjdump -sass "$c" > "$out/sass-$n.txt"
          done
          grep -c UTMALDG "$out"/sass-*.txt ;;
    gemlite) shapes="$2"; ms="$3"; shift 3
             "$dir/linear_vs_cublas" --graph --large-m --variants w4,w8a8 --shapes "$shapes" --batch "$ms" \
                 --csv "$out/uintx.csv" > "$out/uintx.txt" 2>&1
             SHAPES_NK="$shapes" MS="$ms" VARIANTS=bf16,A16W4,A8W8i8 PYTHONPATH="$dir" \
                 python3 "$dir/anchors.py" "$out/gemlite.json" > "$out/gemlite.txt" 2>&1
             python3 "$dir/compare.py" "$out/uintx.csv" "$out/gemlite.json" | tee "$out/compare.txt" ;;
    int8cliff) shift
         name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
         shapes="8192x8192,28672x8192,13824x5120,4096x14336,14336x4096"
         cfg() { echo "{\"BLOCK_M\": $1, \"BLOCK_N\": $2, \"BLOCK_K\": $3, \"num_warps\": $4, \"num_stages\": $5, \"split_k\": 1, \"weights_as_a\": $6}"; }
         write() {  # FILE CONFIG_OF_BUCKET_256 [CONFIG_OF_BUCKET_128]
           local e="" n k b c
           for nk in ${shapes//,/ }; do n=${nk%x*}; k=${nk#*x}
             for b in 256 128; do c=$2; [[ $b == 128 ]] && c=${3:-}; [[ -z "$c" ]] && continue
               e+="${e:+,}\"family=gemm_int8;bits=8;group=$k;pack=32;act=bf16;out=bf16;N=$n;K=$k;M=$b\": {\"config\": $c, \"time_us\": 1.0, \"tuned_at\": \"2026-12-08T00:00:00Z\"}"
             done; done
           echo "{\"schema_version\": 1, \"gpu\": {\"name\": \"$name\", \"compute_capability\": \"9.0\"}, \"entries\": {$e}}" > "$1"
         }
         write "$out/cliff_X.json" "$(cfg 256 128 128 8 4 0)" "$(cfg 128 128 128 4 6 1)"
         write "$out/cliff_Y.json" "$(cfg 256 128 128 8 4 1)" "$(cfg 128 64 256 4 4 1)"
         write "$out/cliff_Z.json" "$(cfg 256 64 128 4 4 1)"
         a=(--graph --variants w8a8 --shapes "$shapes" --batch 64,65,96,128,129,160,200,256,512,513,1024,1025)
         "$dir/linear_vs_cublas" "${a[@]}" --csv "$out/cliff_default.csv" > "$out/cliff_default.txt" 2>&1
         for v in X Y Z; do
           UINTX_CONFIG_CACHE="$out/cliff_$v.json" "$dir/linear_vs_cublas" "${a[@]}" --csv "$out/cliff_$v.csv" > "$out/cliff_$v.txt" 2>&1
         done
         tail -n 5 "$out"/cliff_*.txt ;;
    *) echo "unknown step $1"; exit 2 ;;
  esac
done
