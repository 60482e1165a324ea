#!/usr/bin/env bash
# The install check of scripts/test.sh: installs into a temporary prefix, checks that
# libuintx.so exports only uintx's symbols and needs no LLVM, MLIR or libcuda, then builds and
# runs two programs against the installed tree alone: a CMake project (find_package(uintx),
# C++ API) and a make + pkg-config program (C API). $UINTX_LIBCUDA names no file, so both
# run without a driver and must get the library's clear no-driver error. Then the Python
# package's tests that need no PyTorch, against the installed package and library.
# Usage: bash tests/install/install_and_consume.sh [bazel build options, e.g. --jobs=1]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
bash scripts/install.sh "$prefix" "$@"

lib="$prefix/lib/libuintx.so"
# Global symbols only (upper-case types): nm -D also lists a few local TLS entries of MLIR.
foreign=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/ {print $3}' | c++filt |
          grep -vE '^(uintx_|uintx::|(vtable|typeinfo|typeinfo name) for uintx::)' || true)
if [[ -n $foreign ]]; then
  echo "FAIL: libuintx.so exports symbols outside uintx:" >&2
  head -5 <<<"$foreign" >&2
  exit 1
fi
if ldd "$lib" | grep -E 'libLLVM|libMLIR|libcuda'; then
  echo "FAIL: libuintx.so needs the libraries above at load time" >&2
  exit 1
fi
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[A-Z]$/' | wc -l)
c_api=$(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^uintx_/' | wc -l)
declared=$(grep -cE '^(uintx_status|const char\*) uintx_[a-z_]+\(' include/uintx/uintx_c.h)
if ((c_api != declared)); then
  echo "FAIL: libuintx.so defines $c_api uintx_* functions, include/uintx/uintx_c.h declares $declared" >&2
  exit 1
fi
echo "install: libuintx.so $(du -m "$lib" | cut -f1) MB, exports $exported symbols ($c_api C functions)"

export UINTX_LIBCUDA=/nonexistent/libcuda.so.1
cmake -S tests/install/cmake_consumer -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release > "$work/cmake.log" || { cat "$work/cmake.log"; exit 1; }
cmake --build "$work/cmake" > "$work/cmake-build.log" || { cat "$work/cmake-build.log"; exit 1; }
"$work/cmake/cpp_consumer"

PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -s -C tests/install/make_consumer OUT="$work"
"$work/c_consumer"

# The Python package as installed (no PyTorch here: the ctypes layer and gemlite's layout).
PYTHONPATH="$prefix/lib/python" python3 python/tests/ctypes_test.py
PYTHONPATH="$prefix/lib/python" python3 python/tests/gemlite_layout_test.py
echo "install: PASS (CMake and pkg-config consumers of $prefix)"
