#!/usr/bin/env bash
# The test command: every test that needs no GPU (DSL on the CPU interpreter, IR
# verification, PTX through ptxas, packing, caches, CLI), then the file loaders again under
# AddressSanitizer + UndefinedBehaviorSanitizer, with the seeded parser fuzz tests (tests/fuzz/).
# Between them, the install check: scripts/install.sh into a temporary prefix, then a CMake
# and a make + pkg-config program built against it (tests/install/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT
bazel test //...
bash tests/install/install_and_consume.sh
# The C API's tests too, linear_test included (it compiles kernels through Debian's non-ASan
# MLIR and launches them on the fake driver).
bazel test --config=asan //tests/packing:all //tests/autotune:all //tests/fuzz:all \
  //tests/capi:quantize_test //tests/capi:weight_io_test //tests/capi:no_driver_test \
  //tests/capi:cache_settings_test //tests/capi:linear_test
