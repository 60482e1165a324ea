#!/usr/bin/env bash
# Installs uintx under PREFIX:
#   lib/libuintx.so                  the library: C++ API + C API, MLIR/LLVM linked in statically
#   include/uintx/{uintx,packing}/   the public headers and the packing/ headers they include
#   bin/uintx-tune                   the cache pre-warmer (docs/CACHE.md)
#   lib/cmake/uintx/                 find_package(uintx) -> uintx::uintx
#   lib/pkgconfig/uintx.pc           pkg-config --cflags --libs uintx
#   lib/python/uintx/                the Python package (ctypes; PYTHONPATH=PREFIX/lib/python)
# Usage: bash scripts/install.sh PREFIX [bazel build options, e.g. --jobs=1]
set -euo pipefail
if (($# < 1)) || [[ $1 == -* ]]; then
  echo "usage: bash scripts/install.sh PREFIX [bazel build options]" >&2
  exit 2
fi
prefix=$1
shift
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bazel build --config=static "$@" //install:libuintx.so //autotune:uintx-tune
bin=$(bazel info --config=static bazel-bin 2>/dev/null)
cuda="${UINTX_CUDA_PATH:-${CUDA_PATH:-/usr/local/cuda}}"
version=$(cat install/VERSION)

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
mkdir -p "$prefix/lib/cmake/uintx" "$prefix/lib/pkgconfig" "$prefix/bin" "$prefix/lib/python/uintx" \
         "$prefix/include/uintx/uintx" "$prefix/include/uintx/packing"
install -m 755 "$bin/install/libuintx.so" "$prefix/lib/libuintx.so"
install -m 755 "$bin/autotune/uintx-tune" "$prefix/bin/uintx-tune"
install -m 644 python/uintx/*.py "$prefix/lib/python/uintx/"  # finds ../../libuintx.so

# The headers: include/uintx/*.h and every project header they include (found by the compiler,
# so that a new include in a public header is installed without editing this list).
install -m 644 include/uintx/*.h "$prefix/include/uintx/uintx/"
g++ -std=c++17 -MM -MT deps -Iinclude -I. -I"$cuda/include" include/uintx/*.h |
  tr ' \\' '\n\n' | grep -E '^packing/.+\.h$' | sort -u |
  while read -r header; do install -m 644 "$header" "$prefix/include/uintx/packing/"; done

cuda_include=$(cd "$cuda/include" 2>/dev/null && pwd || echo "$cuda/include")
substitute() {
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@VERSION_MAJOR@|${version%%.*}|g" \
      -e "s|@CUDA_INCLUDE_DIR@|$cuda_include|g" "$1" > "$2"
}
substitute install/uintxConfig.cmake.in "$prefix/lib/cmake/uintx/uintxConfig.cmake"
substitute install/uintxConfigVersion.cmake.in "$prefix/lib/cmake/uintx/uintxConfigVersion.cmake"
substitute install/uintx.pc.in "$prefix/lib/pkgconfig/uintx.pc"
echo "install: uintx $version under $prefix"
