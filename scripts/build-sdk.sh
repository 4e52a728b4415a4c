#!/usr/bin/env bash
# Builds the clickstamp browser SDK into www/sdk/ (gitignored build output):
#   clickstamp_sdk_bg.wasm (+ .gz), clickstamp_sdk.js (ES module glue), clickstamp_sdk.d.ts,
#   clickstamp.js (the <script> loader), and prints the download size.
# Needs: the wasm32-unknown-unknown target, wasm-bindgen-cli at the version in Cargo.lock,
# `npm ci` at the repo root (binaryen's wasm-opt, terser). Safe to run again; run from anywhere.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="www/sdk"
target_wasm="target/wasm32-unknown-unknown/wasm-release/clickstamp_sdk.wasm"

# strip=false here: wasm-bindgen reads the target_features section, and the size report below
# reads the function names; wasm-opt strips both from the shipped file.
CARGO_PROFILE_WASM_RELEASE_STRIP=false \
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

terser="$root/node_modules/.bin/terser"
if [ ! -x "$terser" ]; then
  echo "build-sdk: $terser missing: run 'npm ci' at the repo root (terser is a devDependency)" >&2
  exit 1
fi

rm -rf "$out"
mkdir -p "$out"
wasm-bindgen --target web --keep-debug --out-dir "$out" --out-name clickstamp_sdk "$target_wasm"
wasm="$out/clickstamp_sdk_bg.wasm"
named="$(mktemp)"
names="$(mktemp)"
trap 'rm -f "$named" "$names"' EXIT
cp "$wasm" "$named"
features="--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue"
# First the import, export and module names shortened (wasm-bindgen's are long and hashed), in
# a run of its own (--converge would repeat it and print several mappings; minifying before
# optimising shrinks more than after). The mapping is applied to the glue and the .d.ts below,
# and the build fails if the glue does not match it.
# shellcheck disable=SC2086 # $features is a list of flags
"$wasm_opt" --minify-imports-and-exports-and-modules $features "$wasm" -o "$wasm.min" >"$names"
# --zero-filled-memory: the memory is the module's own (not imported), so it starts zeroed;
# --low-memory-unused: the first 1 KB is never addressed (data sits at 1 MiB, the stack grows
# down from there and would need ~1 MiB of depth to reach it); --converge: -Oz until it stops
# shrinking; --reorder-functions: the most-called functions first (smaller call indices, ~60 B
# gz). Together ~220 B gz off the wasm. Not -tnh: it turns traps into undefined behaviour.
# shellcheck disable=SC2086
"$wasm_opt" -Oz --converge --reorder-functions --zero-filled-memory --low-memory-unused \
  --strip-debug --strip-producers \
  --strip-target-features $features "$wasm.min" -o "$wasm"
rm "$wasm.min"
node sdk-wasm/tools/minify-names.cjs "$names" "$out/clickstamp_sdk.js" "$out/clickstamp_sdk.d.ts"
cp sdk-wasm/js/loader.js "$out/clickstamp.js"
# The JS glue minified by terser (npm devDependency): comments out, local names shortened; the
# exported names and the (already short) wasm import names stay; the types live on in the .d.ts.
"$terser" "$out/clickstamp_sdk.js" --module -c passes=2 -m --comments '/@ts-self-types/' \
  -o "$out/clickstamp_sdk.min.js"
mv "$out/clickstamp_sdk.min.js" "$out/clickstamp_sdk.js"
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

# Where the bytes go (cheap enough for every build; see sdk-wasm/README.md for a twiggy run).
node sdk-wasm/tools/wasm-sizes.cjs "$wasm" 0
node sdk-wasm/tools/wasm-sizes.cjs "$named" 12
if [ "$total" -gt 30720 ]; then
  echo "build-sdk: $total B is over the 30 KB ceiling" >&2
  exit 1
fi
