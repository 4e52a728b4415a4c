#!/usr/bin/env bash
# The README's run command: installs what is missing, builds the SDK and the collector
# (release), then runs ONE process that serves both
#   - the collector (tracking domain)      http://$CLICKSTAMP_ADDR       (default 127.0.0.1:8080)
#   - the demo advertiser shop (www/demo/)  http://$CLICKSTAMP_DEMO_SITE  (default 127.0.0.1:8081)
# Data is kept in $CLICKSTAMP_DATA (default ./demo-data). Stop with Ctrl-C.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

ADDR=${CLICKSTAMP_ADDR:-127.0.0.1:8080}
SITE=${CLICKSTAMP_DEMO_SITE:-127.0.0.1:8081}
DATA=${CLICKSTAMP_DATA:-demo-data}

say() { printf '[demo] %s\n' "$*"; }

say "setup"
bash scripts/setup.sh
# wasm-opt must be npm binaryen's (never Debian's): put node_modules/.bin first.
export PATH="$PWD/node_modules/.bin:$PATH"

[ -f scripts/build-sdk.sh ] || { echo "[demo] ERROR: scripts/build-sdk.sh is missing (the SDK build)" >&2; exit 1; }
say "bash scripts/build-sdk.sh"
bash scripts/build-sdk.sh

say "cargo build --release -p clickstamp-collector"
cargo build --release -p clickstamp-collector

say "serving collector on http://$ADDR and the demo shop on http://$SITE (data: $DATA)"
say "open http://$SITE/index.html?oid=1&affid=1&sub1=spring or the tracking link http://$ADDR/clk?oid=1&affid=1&sub1=spring"
exec "${CARGO_TARGET_DIR:-target}/release/clickstamp" serve --data "$DATA" --addr "$ADDR" --demo --demo-traffic --demo-site "$SITE"
