#!/usr/bin/env bash
# Copies the headers a user gets (include/uintx, packing/*.h) into an empty folder and compiles
# a file that includes uintx/uintx.h against that folder and cuda.h alone: any include of a
# header outside the facade fails the compile.
set -euo pipefail
cuda_h="${UINTX_CUDA_PATH:-/usr/local/cuda}/include/cuda.h"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/uintx" "$root/packing" "$root/cuda"
cp include/uintx/*.h "$root/uintx/"
cp packing/*.h "$root/packing/"
cp "$cuda_h" "$root/cuda/"
printf '#include "uintx/uintx.h"\nint main() { return uintx::ScalarType::bf16 == uintx::ScalarType::f16; }\n' > "$root/use.cc"
if ! g++ -std=c++20 -fsyntax-only -I"$root" -I"$root/cuda" "$root/use.cc" 2> "$root/err"; then
  echo "FAIL: uintx/uintx.h needs headers outside the public facade:" >&2
  cat "$root/err" >&2
  exit 1
fi
# And the check itself can fail: a header that includes the compiler is caught.
echo '#include "codegen/jit_kernel.h"' >> "$root/packing/scalar_type.h"
if g++ -std=c++20 -fsyntax-only -I"$root" -I"$root/cuda" "$root/use.cc" 2>/dev/null; then
  echo "FAIL: the closure check did not catch an include of codegen/" >&2
  exit 1
fi
echo "PASS: uintx/uintx.h compiles from the facade and packing/ headers alone"
