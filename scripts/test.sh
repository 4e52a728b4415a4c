#!/usr/bin/env bash
# The README's test command: installs what is missing, then runs every test clickstamp has,
# stopping at the first failure.
#
#   1. scripts/setup.sh                    toolchain, Chromium, npm devDependencies
#   2. scripts/build-sdk.sh                the wasm SDK into www/sdk/
#   3. cargo test --workspace              host unit tests + collector HTTP tests
#   4. SDK browser tests                   wasm-bindgen-test in headless Chromium (when present)
#   5. cargo build -p clickstamp-collector the debug collector (+ example programs)
#   6. node --test                         end-to-end: real collector, real Chromium (tests/e2e)
#   7. crash_test                          SIGKILL under load; nothing acknowledged is lost
#   8. disk_full                           a full disk answers 503 and loses nothing acknowledged
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
ROOT=$(pwd)

SUMMARY=()
T0=$SECONDS

say() { printf '\n[test] ==== %s\n' "$*"; }

summary() {
  printf '\n[test] ---- summary (%ss) ----\n' "$((SECONDS - T0))"
  local line
  for line in "${SUMMARY[@]}"; do printf '[test]   %s\n' "$line"; done
}

# run_step NAME COMMAND...: runs COMMAND, records the outcome, stops everything on failure.
run_step() {
  local name=$1; shift
  local t=$SECONDS rc=0
  say "$name: $*"
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    SUMMARY+=("FAILED  $name (exit $rc, $((SECONDS - t))s): $*")
    summary
    printf '\n[test] FAILED at step "%s" (exit %s). Output above shows why.\n' "$name" "$rc" >&2
    exit "$rc"
  fi
  SUMMARY+=("ok      $name ($((SECONDS - t))s)")
}

skip_step() {
  say "$1: skipped ($2)"
  SUMMARY+=("skipped $1: $2")
}

missing() {
  printf '[test] ERROR: %s\n' "$*" >&2
  return 1
}

# --- 1. setup ------------------------------------------------------------------------------
run_step setup bash scripts/setup.sh
# wasm-opt must be npm binaryen's (never Debian's): put node_modules/.bin first.
export PATH="$ROOT/node_modules/.bin:$PATH"

# --- 2. SDK build --------------------------------------------------------------------------
if [ -f scripts/build-sdk.sh ]; then
  run_step build-sdk bash scripts/build-sdk.sh
else
  run_step build-sdk missing "scripts/build-sdk.sh does not exist: the SDK cannot be built"
fi

# --- 3. host tests -------------------------------------------------------------------------
run_step cargo-test cargo test --workspace

# --- 4. SDK browser tests (wasm-bindgen-test in headless Chromium) -------------------------
# Run only when the SDK crate has wasm-bindgen tests; otherwise say so in the summary.
if grep -rqs --include='*.rs' 'wasm_bindgen_test' sdk-wasm/tests sdk-wasm/src; then
  # The runner (wasm-bindgen-test-runner) is set in .cargo/config.toml; Chromium options are
  # in sdk-wasm/webdriver.json.
  export CHROMEDRIVER=/usr/bin/chromedriver
  export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
  run_step sdk-browser-tests cargo test -p clickstamp-sdk --target wasm32-unknown-unknown
else
  skip_step sdk-browser-tests "no wasm_bindgen_test in sdk-wasm/src or sdk-wasm/tests"
fi

# --- 5. collector (debug) for the end-to-end tests and the crash test ------------------------
# Binary and example programs in one build, so they share one version of the record layout.
run_step collector-build cargo build -p clickstamp-collector --bins --examples

# --- 6. browser end-to-end tests -----------------------------------------------------------
mapfile -t E2E < <(find tests -type f \( -name '*.test.mjs' -o -name '*.test.js' \) -not -path '*/node_modules/*' | sort)
if [ "${#E2E[@]}" -eq 0 ]; then
  run_step e2e missing "no *.test.mjs files under tests/"
fi
export CLICKSTAMP_BIN="${CLICKSTAMP_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/clickstamp}"
run_step e2e node --test "${E2E[@]}"

# --- 7. crash test: SIGKILL under load, every acknowledged record must survive ---------------
run_step crash-test "${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/crash_test" --kills 8 --connections 16

# --- 8. disk full: 503 storage_unavailable, nothing acknowledged lost (needs root to mount) ----
DISK_FULL="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/disk_full"
rc=0; "$DISK_FULL" || rc=$?
if [ "$rc" -eq 77 ]; then
  skip_step disk-full "cannot mount a tmpfs here (needs root)"
else
  run_step disk-full test "$rc" -eq 0
fi

summary
printf '\n[test] all steps passed\n'
