#!/usr/bin/env bash
# Runs the `// RUN:` lines of a .mlir test, as lit would: %s is the file, uintx-opt and
# FileCheck the tools Bazel built or found. Usage: run_filecheck.sh UINTX_OPT FILECHECK TEST.mlir
set -euo pipefail
opt="$PWD/$1" filecheck="$PWD/$2" test="$PWD/$3"
runs=$(sed -n 's|^// RUN: *||p' "$test")
[[ -n "$runs" ]] || { echo "$test: no RUN line" >&2; exit 1; }
while IFS= read -r run; do
  cmd=${run//%s/$test}
  cmd=${cmd//uintx-opt/$opt}
  cmd=${cmd//FileCheck/$filecheck}
  echo "RUN: $cmd"
  bash -o pipefail -c "$cmd"
done <<< "$runs"
