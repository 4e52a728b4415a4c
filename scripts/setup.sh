#!/usr/bin/env bash
# Installs everything clickstamp needs to build, test and run its demo on Debian 12.
# Idempotent: every step checks first and says whether it did something or skipped.
#
#   - Chromium + chromedriver (Debian packages)         for the browser tests
#   - Node.js + npm (Debian packages, only if missing)   for the browser test runner and wasm-opt
#   - the wasm32-unknown-unknown Rust target             for the SDK
#   - wasm-bindgen-cli at exactly the version in Cargo.lock
#   - npm devDependencies (binaryen's wasm-opt, playwright-core)
#
# No prebuilt browser downloads: Playwright drives the Debian Chromium at /usr/bin/chromium.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
# rustup's default location; a login shell would add it, a CI shell may not.
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi

APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    die "apt-get not found; install these packages by hand: $*"
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" </dev/null
}

# --- Chromium and chromedriver -------------------------------------------------------------
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  say "chromium + chromedriver present: skip apt"
else
  apt_install chromium chromium-driver
fi
[ -x /usr/bin/chromium ] || die "/usr/bin/chromium still missing after apt-get install"
[ -x /usr/bin/chromedriver ] || die "/usr/bin/chromedriver still missing after apt-get install"

# --- Node.js and npm -----------------------------------------------------------------------
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  say "node $(node --version) + npm $(npm --version) present"
else
  apt_install nodejs npm
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 18 ] || die "node >= 18 is needed for node --test (found $(node --version))"

# --- C linker (rustc links with cc) -------------------------------------------------------
if command -v cc >/dev/null 2>&1; then
  say "C linker present"
else
  apt_install gcc libc6-dev
fi

# --- Rust: wasm32 target -------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup first"
command -v rustup >/dev/null 2>&1 || die "rustup not found: it is needed to add the wasm32 target"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rust target wasm32-unknown-unknown present"
else
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# --- wasm-bindgen-cli, same version as the wasm-bindgen crate ------------------------------
# The CLI must match the library exactly. Cargo.lock is the truth; before the first build
# there is no lock file yet, so fall back to the `=x.y.z` pin in sdk-wasm/Cargo.toml.
WB_VERSION=""
if [ -f Cargo.lock ]; then
  WB_VERSION=$(awk '
    /^\[\[package\]\]/ { inpkg = 0 }
    /^name = "wasm-bindgen"$/ { inpkg = 1; next }
    inpkg && /^version = / { gsub(/"/, "", $3); print $3; exit }
  ' Cargo.lock)
  [ -n "$WB_VERSION" ] && say "wasm-bindgen $WB_VERSION in Cargo.lock"
fi
if [ -z "$WB_VERSION" ] && [ -f sdk-wasm/Cargo.toml ]; then
  WB_VERSION=$(sed -n 's/^wasm-bindgen *= *{\{0,1\}.*"=\([0-9][0-9.]*\)".*/\1/p' sdk-wasm/Cargo.toml | head -n1)
  [ -n "$WB_VERSION" ] && say "wasm-bindgen $WB_VERSION pinned in sdk-wasm/Cargo.toml (no Cargo.lock yet)"
fi
[ -n "$WB_VERSION" ] || die "cannot tell the wasm-bindgen version (no Cargo.lock entry, no =pin in sdk-wasm/Cargo.toml)"

HAVE_WB=""
if command -v wasm-bindgen >/dev/null 2>&1; then
  HAVE_WB=$(wasm-bindgen --version | awk '{print $2}')
fi
if [ "$HAVE_WB" = "$WB_VERSION" ] && command -v wasm-bindgen-test-runner >/dev/null 2>&1; then
  say "wasm-bindgen-cli $HAVE_WB present"
else
  say "cargo install wasm-bindgen-cli --version $WB_VERSION (found '${HAVE_WB:-none}'; takes a few minutes)"
  # No --locked: the CLI's own lock file pins crates that no longer build with current Rust.
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
  hash -r
  [ "$(wasm-bindgen --version | awk '{print $2}')" = "$WB_VERSION" ] \
    || die "wasm-bindgen on PATH is not $WB_VERSION after install (is ~/.cargo/bin first on PATH?)"
fi

# --- npm devDependencies -------------------------------------------------------------------
# Re-install when node_modules is missing or was installed from a different package.json /
# package-lock.json (a stamp of both files' checksums is kept inside node_modules).
STAMP=node_modules/.clickstamp-setup-stamp
if [ -f package-lock.json ]; then
  WANT=$(cat package.json package-lock.json | sha256sum | awk '{print $1}')
else
  WANT=$(sha256sum package.json | awk '{print $1}')
fi
if [ -d node_modules ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  say "node_modules up to date"
else
  if [ -f package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund </dev/null
  else
    say "npm install (no package-lock.json yet: commit the one it writes)"
    npm install --no-audit --no-fund </dev/null
    WANT=$(cat package.json package-lock.json | sha256sum | awk '{print $1}')
  fi
  echo "$WANT" >"$STAMP"
fi
[ -x node_modules/.bin/wasm-opt ] || die "node_modules/.bin/wasm-opt missing (npm binaryen devDependency)"
[ -d node_modules/playwright-core ] || die "node_modules/playwright-core missing (npm devDependency)"

say "done: $ROOT is ready"
