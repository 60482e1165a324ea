#!/usr/bin/env bash
# The test command: every test that needs no GPU (DSL on the CPU interpreter, IR
# verification, PTX through ptxas, packing, caches, CLI), then the file loaders again under
# AddressSanitizer + UndefinedBehaviorSanitizer, with the seeded parser fuzz tests (tests/fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT
bazel test //...
bazel test --config=asan //tests/packing:all //tests/autotune:all //tests/fuzz:all
