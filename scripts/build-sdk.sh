#!/usr/bin/env bash
# Builds the clickstamp browser SDK into www/sdk/ (gitignored build output):
#   clickstamp_sdk_bg.wasm (+ .gz), clickstamp_sdk.js (ES module glue), clickstamp_sdk.d.ts,
#   clickstamp.js (the <script> loader), and prints the download size.
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli at the version in Cargo.lock,
# `npm install` at the repo root (binaryen's wasm-opt). Safe to run again; run from anywhere.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="www/sdk"
target_wasm="target/wasm32-unknown-unknown/wasm-release/clickstamp_sdk.wasm"

cargo build -p clickstamp-sdk --target wasm32-unknown-unknown --profile wasm-release --quiet

# wasm-bindgen's CLI must match the library exactly, or the glue and the wasm disagree.
locked="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if ! command -v wasm-bindgen >/dev/null; then
  echo "build-sdk: wasm-bindgen not found; install it: cargo install wasm-bindgen-cli --version $locked" >&2
  exit 1
fi
installed="$(wasm-bindgen --version | awk '{ print $2 }')"
if [ "$installed" != "$locked" ]; then
  echo "build-sdk: wasm-bindgen $installed installed but Cargo.lock has $locked:" \
    "cargo install wasm-bindgen-cli --version $locked --force" >&2
  exit 1
fi

wasm_opt="$root/node_modules/.bin/wasm-opt"
if [ ! -x "$wasm_opt" ]; then
  echo "build-sdk: $wasm_opt missing: run 'npm install' at the repo root (binaryen from npm, not Debian's)" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name clickstamp_sdk "$target_wasm"
wasm="$out/clickstamp_sdk_bg.wasm"
"$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$wasm" -o "$wasm.opt"
mv "$wasm.opt" "$wasm"
cp sdk-wasm/js/loader.js "$out/clickstamp.js"
gzip -9 -n -c "$wasm" >"$wasm.gz"

gz() { gzip -9 -n -c "$1" | wc -c; }
wasm_raw=$(wc -c <"$wasm")
wasm_gz=$(gz "$wasm")
glue_raw=$(wc -c <"$out/clickstamp_sdk.js")
glue_gz=$(gz "$out/clickstamp_sdk.js")
loader_gz=$(gz "$out/clickstamp.js")
total=$((wasm_gz + glue_gz))
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }
echo "clickstamp SDK download (gzip -9):"
printf '  %-26s %7d B raw  %6d B gz\n' "clickstamp_sdk_bg.wasm" "$wasm_raw" "$wasm_gz"
printf '  %-26s %7d B raw  %6d B gz\n' "clickstamp_sdk.js (glue)" "$glue_raw" "$glue_gz"
echo "  total wasm + glue: $total B ($(kb "$total")); the <script> loader adds $loader_gz B gz"

# Where the wasm bytes go: the largest functions (names from the pre-strip build are gone, so
# this is by size and section), cheap enough to print on every build.
echo "largest wasm sections (raw bytes):"
"$wasm_opt" --print-function-map "$wasm" -o /dev/null >/dev/null 2>&1 || true
node -e '
const b = require("fs").readFileSync(process.argv[1]);
const names = {0:"custom",1:"type",2:"import",3:"function",4:"table",5:"memory",6:"global",7:"export",8:"start",9:"element",10:"code",11:"data",12:"datacount"};
let p = 8; const rows = [];
const leb = () => { let r = 0, s = 0, x; do { x = b[p++]; r |= (x & 127) << s; s += 7; } while (x & 128); return r; };
while (p < b.length) { const id = b[p++]; const n = leb(); rows.push([names[id] || id, n]); p += n; }
rows.sort((a, c) => c[1] - a[1]).forEach(([s, n]) => console.log("  " + s.padEnd(10) + String(n).padStart(7)));
' "$wasm"
if [ "$total" -gt 30720 ]; then
  echo "build-sdk: $total B is over the 30 KB ceiling" >&2
  exit 1
fi
