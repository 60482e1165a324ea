#!/usr/bin/env bash
# Installs the Debian 12 packages the build needs, only when something is missing.
# The CUDA toolkit (headers + ptxas) is expected at $UINTX_CUDA_PATH or /usr/local/cuda.
set -euo pipefail
packages=(llvm-22-dev libmlir-22-dev mlir-22-tools bazel-bootstrap nlohmann-json3-dev
          doctest-dev libzstd-dev zlib1g-dev xz-utils llvm-22-tools
          cmake pkg-config make python3)  # the last four: the install check
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
cuda="${UINTX_CUDA_PATH:-${CUDA_PATH:-/usr/local/cuda}}"
if [[ ! -f "$cuda/include/cuda.h" ]]; then
  echo "setup: no CUDA toolkit at $cuda (set UINTX_CUDA_PATH to the toolkit's root)" >&2
  exit 1
fi
