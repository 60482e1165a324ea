#!/usr/bin/env bash
# The main job: JIT-compiles the DSL example kernels, prints what each stage produced, and
# runs them on the GPU when there is one (on the CPU interpreter otherwise); then quantizes a
# 4-bit layer and runs uintx::linear on it (checked against float64, timed against cuBLAS).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT
bazel run //examples:demo -- "$@"
bazel run //examples:quantized_linear
