#!/usr/bin/env bash
# The main job: JIT-compiles the DSL example kernels, prints what each stage produced, and
# runs them on the GPU when there is one (on the CPU interpreter otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT
bazel run //examples:demo -- "$@"
