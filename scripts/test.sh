#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   1. Rust unit and integration tests on SQLite (the default);
#   2. the same tests on PostgreSQL (TEST_DATABASE_URL, or a local server on
#      127.0.0.1:5432 if one answers; every test creates and drops its own
#      database);
#   3. the release build of site + server, and a smoke run of the benchmark
#      harness (bench/) against it;
#   4. Playwright (Debian Chromium) against the running release server on a
#      throwaway SQLite database, then SIGTERM and a check of a clean exit.
# Installs what it needs when missing. E2E_ONLY=1 skips steps 1-2 (for
# iterating on the browser tests; CI never sets it).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$VANGUARD_ROOT"

# The Rust tests need no cargo-leptos; the tools are ensured before the
# release build below (so .ci/run can install them meanwhile).
ensure_wasm_target

if [ -z "${E2E_ONLY:-}" ]; then
ensure_moto
log "Rust tests on SQLite"
env -u TEST_DATABASE_URL cargo test --locked

postgres_url="${TEST_DATABASE_URL:-}"
if [ -z "$postgres_url" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  postgres_url="postgres://postgres@127.0.0.1:5432/postgres"
fi
if [ -n "$postgres_url" ]; then
  log "Rust tests on PostgreSQL"
  # The PostgreSQL-only tests are #[ignore]d (a plain `cargo test` lists
  # them as ignored); this run includes them.
  TEST_DATABASE_URL="$postgres_url" cargo test --locked -- --include-ignored
  if command -v psql >/dev/null; then
    # Tests drop their databases; sweep any a crashed test left behind.
    for db in $(psql "$postgres_url" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'vanguard_test_%' OR datname LIKE 'vanguard_bench_%'" 2>/dev/null); do
      psql "$postgres_url" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
  fi
elif [ -n "${CI:-}" ]; then
  echo "CI needs PostgreSQL: set TEST_DATABASE_URL or run a server on 127.0.0.1:5432" >&2
  exit 1
else
  log "PostgreSQL not reachable: skipping the PostgreSQL run (set TEST_DATABASE_URL)"
fi
fi

ensure_build_tools
build_release

# The benchmark harness, in a tiny smoke run: it must start the release
# server on each engine and take every measurement (its figures are not
# looked at here; BENCHMARKS.md holds a full run's).
bench_engine=sqlite
if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null || [ -n "${TEST_DATABASE_URL:-}" ]; then
  bench_engine=both
  export BENCH_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
fi
log "benchmark smoke run ($bench_engine)"
cargo run --release --locked --quiet -p bench -- --smoke --engine "$bench_engine"
ensure_chromium
ensure_e2e_packages

port="${E2E_PORT:-3900}"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is in use; set E2E_PORT to a free port" >&2
  exit 1
fi
e2e_data="$(mktemp -d)"
export E2E_ADMIN_EMAIL="e2e-admin@example.com" E2E_ADMIN_PASSWORD="e2e admin passphrase"
log "creating the end-to-end administrator"
VANGUARD_DATA_DIR="$e2e_data" DATABASE_URL="" VANGUARD_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" \
  "$(server_binary)" create-admin --email "$E2E_ADMIN_EMAIL" --name "E2E Admin" >/dev/null
log "starting the release server on 127.0.0.1:$port (data in $e2e_data)"
# The browser tests sign in many times from one address: lift the per-IP
# sign-in limit (its behaviour is covered by the Rust tests). The banner is
# set so that every page is hydrated with it in place (shell.spec.ts).
LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$VANGUARD_ROOT/target/site" \
  VANGUARD_DATA_DIR="$e2e_data" DATABASE_URL="" VANGUARD_LOGIN_RATE_PER_MINUTE=1000 \
  VANGUARD_ENVIRONMENT_BANNER="End-to-end test server: throwaway data" \
  "$(server_binary)" >"$e2e_data/server.log" 2>&1 &
server_pid=$!
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  rm -rf "$e2e_data"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  if LEPTOS_SITE_ADDR="127.0.0.1:$port" VANGUARD_DATA_DIR="$e2e_data" "$(server_binary)" healthcheck 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$e2e_data/server.log" >&2
    echo "the server exited before it was ready" >&2
    exit 1
  fi
  sleep 0.5
done

log "browser tests"
if ! (cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test); then
  echo "--- server log ---" >&2
  tail -n 50 "$e2e_data/server.log" >&2
  exit 1
fi

log "stopping the server with SIGTERM"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
if [ "$status" != 0 ]; then
  tail -n 20 "$e2e_data/server.log" >&2
  echo "the server exited with $status after SIGTERM (expected 0)" >&2
  exit 1
fi
log "all tests passed"
