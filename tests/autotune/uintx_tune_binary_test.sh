#!/bin/sh
# Runs the built uintx-tune: exit codes and messages for bad arguments, no GPU, --list, --help.
set -u
BIN="$1"
TMP="${TEST_TMPDIR:-/tmp}/uintx_tune_binary_test.$$"
mkdir -p "$TMP"
fail=0

# expect CODE NEEDLE ARGS...: runs the binary, checks the exit code and that stdout+stderr
# contain NEEDLE.
expect() {
  code="$1"; needle="$2"; shift 2
  "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
  got=$?
  if [ "$got" -ne "$code" ]; then
    echo "FAIL: uintx-tune $*: exit $got, expected $code"; cat "$TMP/err"; fail=1; return
  fi
  if ! cat "$TMP/out" "$TMP/err" | grep -qF -- "$needle"; then
    echo "FAIL: uintx-tune $*: output lacks '$needle'"; cat "$TMP/out" "$TMP/err"; fail=1
  fi
}

expect 2 "'4096x'" --shapes 4096x --bits 4 --group-size 128
expect 2 "'--nonsense'" --shapes 4096x4096 --bits 4 --group-size 128 --nonsense
expect 2 "--bits 9" --shapes 4096x4096 --bits 9 --group-size 128
expect 0 "Exit codes" --help
# Force the no-driver path regardless of the machine.
UINTX_CUDA_DRIVER_LIB=libuintx-no-such-driver.so.1 \
  expect 3 "libuintx-no-such-driver.so.1" --shapes 4096x4096 --bits 4 --group-size 128 --cache "$TMP/c.json"
expect 5 "does not exist" --list "$TMP/missing.json"
cat >"$TMP/cfg.json" <<'JSON'
{"schema_version": 1, "gpu": {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"},
 "entries": {"family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=1":
   {"config": {"BLOCK_N": 64, "num_warps": 4}, "time_us": 7.25, "tuned_at": "2026-11-24T10:00:00Z"}}}
JSON
expect 0 "family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=4096;K=4096;M=1  7.25 us" --list "$TMP/cfg.json"
expect 0 "BLOCK_N=64 num_warps=4" --list "$TMP/cfg.json"
printf '{"schema_version": 1, "gpu": {"na' >"$TMP/trunc.json"
expect 5 "not valid JSON" --list "$TMP/trunc.json"

rm -rf "$TMP"
[ "$fail" -eq 0 ] && echo "PASS"
exit "$fail"
