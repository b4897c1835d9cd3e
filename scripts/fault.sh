#!/usr/bin/env bash
# Fault drill against the release server on the local PostgreSQL (loopback
# only, bounded to about a minute, leaves PostgreSQL running):
#
#   1. under a steady load of claim submissions, stop PostgreSQL for two
#      seconds and start it again:
#      readiness must go 503 and come back without restarting Vanguard,
#      and every claim answered 202 must exist afterwards;
#   2. send SIGTERM with requests in flight, with the default drain delay:
#      every request that reached the server must complete (only those that
#      connect after the listener closed may be refused), and the process
#      must exit 0;
#   3. full disk: Vanguard on SQLite on a small tmpfs, under load, the
#      volume filled to the last byte: claims must answer 507 or 503 (with
#      Retry-After), never 500, and readiness 503; once the filler is
#      deleted, readiness and claims must recover without a restart, and
#      every claim answered 202 must exist.
#
# Usage: bash scripts/fault.sh   (after `cargo leptos build --release`)
# Needs: the local PostgreSQL (trust auth), pg_ctlcluster, curl, python3,
# sqlite3; root for `mount -t tmpfs` (the full-disk case is skipped without).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

server="$(server_binary)"
[[ -x "$server" ]] || { echo "build the release server first: cargo leptos build --release" >&2; exit 2; }
cluster_version="$(ls /etc/postgresql | head -1)"
# Stopped for two seconds, so the outage is longer than a probe interval.
restart_postgres() {
  pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main stop -m fast
  sleep 2
  pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start
}

work="$(mktemp -d)"
port=3917
db="vanguard_fault_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" >/dev/null
cleanup() {
  [[ -n "${pid:-}" ]] && kill "$pid" 2>/dev/null || true
  [[ -n "${load_pid:-}" ]] && kill "$load_pid" 2>/dev/null || true
  # PostgreSQL must be up whatever happened (CI uses it next).
  pg_isready -h 127.0.0.1 -q || pg_ctlcluster --skip-systemctl-redirect "$cluster_version" main start
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  mountpoint -q "$work/full" 2>/dev/null && umount -l "$work/full"
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
export VANGUARD_DATA_DIR="$work" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$VANGUARD_ROOT/target/site"
# The default drain delay (0 outside production): requests that reached the
# server before SIGTERM must be answered without one.
export VANGUARD_API_RATE_PER_MINUTE=1000000 VANGUARD_DB_ACQUIRE_TIMEOUT_MS=1000
base="http://127.0.0.1:$port"

start_server() {
  "$server" >>"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    "$server" healthcheck 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server did not become ready" >&2; exit 1
}

"$server" seed-demo >/dev/null
secret_lines="$("$server" create-api-client --name fault-drill --internal)"
client_id="$(sed -n 's/^client_id=//p' <<<"$secret_lines")"
client_secret="$(sed -n 's/^client_secret=//p' <<<"$secret_lines")"
start_server
token="$(curl -fsS "$base/api/v1/auth/token" -H 'content-type: application/json' \
  -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"$client_id\",\"client_secret\":\"$client_secret\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
policy="$(curl -fsS "$base/api/v1/policies?status=active&per_page=1" -H "authorization: Bearer $token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["policy_number"])')"
yesterday="$(date -u -d yesterday +%F)"

# Steady load: one claim every 20 ms, each answer logged as "key status".
load() {
  local i=0
  while :; do
    i=$((i + 1))
    status="$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$base/api/v1/claims" \
      -H "authorization: Bearer $token" -H 'content-type: application/json' -H "idempotency-key: fault-$i" \
      -d "{\"policy_number\":\"$policy\",\"incident_date\":\"$yesterday\",\"description\":\"Fault drill $i\",\"lines\":[{\"code\":\"LOSS\",\"amount\":{\"amount\":1000,\"currency\":\"USD\"}}]}" || true)"
    echo "$i $status" >>"$work/load.log"
    sleep 0.02
  done
}
load & load_pid=$!
sleep 2

log "restarting PostgreSQL under load"
restart_started=$(date +%s.%N)
restart_postgres & restart_pid=$!
saw_503=""; recovered=""
for _ in $(seq 600); do
  code="$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$base/health/ready" || true)"
  now=$(date +%s.%N)
  echo "$now $code" >>"$work/ready.log"
  if [[ "$code" == 503 && -z "$saw_503" ]]; then saw_503=$now; fi
  if [[ -n "$saw_503" && "$code" == 200 ]]; then recovered=$now; break; fi
  sleep 0.05
done
wait "$restart_pid" || { echo "FAIL: PostgreSQL did not restart" >&2; exit 1; }
sleep 2
kill "$load_pid"; wait "$load_pid" 2>/dev/null || true; load_pid=""
[[ -n "$saw_503" && -n "$recovered" ]] || {
  echo "FAIL: readiness did not go 503 and come back; it answered:" >&2
  awk '{print $2}' "$work/ready.log" | uniq -c >&2
  tail -5 "$work/server.log" >&2
  exit 1
}
kill -0 "$pid" || { echo "FAIL: the server died with the database" >&2; exit 1; }
accepted=$(awk '$2 == 202' "$work/load.log" | wc -l)
refused=$(awk '$2 != 202' "$work/load.log" | wc -l)
stored=$(psql -h 127.0.0.1 -U postgres -d "$db" -tAc "SELECT COUNT(*) FROM claims WHERE description LIKE 'Fault drill %'")
[[ "$stored" -ge "$accepted" ]] || { echo "FAIL: $accepted claims acknowledged but $stored stored" >&2; exit 1; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
echo "postgres restart: readiness 503 after $(seconds "$saw_503" "$restart_started") s, back to 200 after $(seconds "$recovered" "$saw_503") s more (no Vanguard restart)"
echo "load during the restart: $accepted claims acknowledged (all $stored stored), $refused refused while the database was away (retryable)"

log "SIGTERM with requests in flight"
: >"$work/inflight.log"
# Each line: curl's exit code and the status. Exit 7 (connection refused)
# means the request arrived after the listener closed; a reset (52, 56) or a
# timeout (28) would be a request the server dropped.
for i in $(seq 40); do
  { rc=0; code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$base/" 2>/dev/null)" || rc=$?
    echo "$rc $code" >>"$work/inflight.log"; } &
done
sleep 0.05
kill -TERM "$pid"
wait_started=$(date +%s.%N)
set +e; wait "$pid"; exit_code=$?; set -e; pid=""
stopped=$(date +%s.%N)
wait
completed=$(grep -c '^0 [23]0[0-9]$' "$work/inflight.log" || true)
late=$(grep -c '^7 ' "$work/inflight.log" || true)
others=$((40 - completed - late))
echo "sigterm: exit $exit_code after $(seconds "$stopped" "$wait_started") s; $completed of 40 requests completed, $late connected after the listener closed (refused), $others dropped"
[[ "$exit_code" == 0 ]] || { echo "FAIL: exit $exit_code after SIGTERM" >&2; exit 1; }
[[ "$others" == 0 ]] || { echo "FAIL: $others requests that reached the server were not answered:" >&2; sort "$work/inflight.log" | uniq -c >&2; exit 1; }
[[ "$completed" -gt 0 ]] || { echo "FAIL: no request was in flight at SIGTERM" >&2; exit 1; }

full_disk_drill() {
  local full="$work/full" size_mb=24
  mkdir -p "$full"
  if ! mount -t tmpfs -o "size=${size_mb}m" vanguard-full "$full" 2>/dev/null; then
    echo "full disk: skipped (mount -t tmpfs needs root)"
    return 0
  fi
  log "full disk: SQLite on a ${size_mb} MiB tmpfs, filled under load"
  export DATABASE_URL="sqlite://$full/vanguard.db" VANGUARD_DATA_DIR="$full"
  "$server" seed-demo >/dev/null
  secret_lines="$("$server" create-api-client --name full-disk-drill --internal)"
  client_id="$(sed -n 's/^client_id=//p' <<<"$secret_lines")"
  client_secret="$(sed -n 's/^client_secret=//p' <<<"$secret_lines")"
  start_server
  token="$(curl -fsS "$base/api/v1/auth/token" -H 'content-type: application/json' \
    -d "{\"grant_type\":\"client_credentials\",\"client_id\":\"$client_id\",\"client_secret\":\"$client_secret\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  policy="$(curl -fsS "$base/api/v1/policies?status=active&per_page=1" -H "authorization: Bearer $token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["policy_number"])')"

  # Each answer logged as "key status retry-after|- phase". A line code of
  # its own per claim: claims alike (same policy, day and item) are linked
  # pairwise as possible duplicates, which would fill the freed space.
  # Renamed into place, so the load never reads a half-written phase.
  phase() { echo "$1" >"$work/phase.new" && mv "$work/phase.new" "$work/phase"; }
  : >"$work/full-load.log"; phase filling
  full_load() {
    local i=0 answer
    while :; do
      i=$((i + 1))
      answer="$(curl -s -o /dev/null -D - -w 'STATUS %{http_code}\n' -m 5 "$base/api/v1/claims" \
        -H "authorization: Bearer $token" -H 'content-type: application/json' -H "idempotency-key: full-$i" \
        -d "{\"policy_number\":\"$policy\",\"incident_date\":\"$yesterday\",\"description\":\"Full disk $i\",\"lines\":[{\"code\":\"LOSS$i\",\"amount\":{\"amount\":1000,\"currency\":\"USD\"}}]}" || true)"
      echo "$i $(sed -n 's/^STATUS //p' <<<"$answer") $(tr -d '\r' <<<"$answer" | sed -n 's/^retry-after: //Ip' | head -1 | grep . || echo -) $(cat "$work/phase")" >>"$work/full-load.log"
      sleep 0.02
    done
  }
  full_load & load_pid=$!
  sleep 1

  # Fill the volume to the last byte (dd stops at ENOSPC).
  dd if=/dev/zero of="$full/filler" bs=64k 2>/dev/null || true
  phase full
  local saw_full="" ready_503="" code
  for _ in $(seq 300); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 3 "$base/health/ready" || true)"
    [[ "$code" == 503 ]] && ready_503=1
    if awk '$4 == "full" && ($2 == 507 || $2 == 503)' "$work/full-load.log" | grep -q .; then saw_full=1; fi
    [[ -n "$saw_full" && -n "$ready_503" ]] && break
    sleep 0.1
  done
  sleep 1
  local full_answers
  full_answers="$(awk '$4 == "full" {print $2}' "$work/full-load.log" | sort | uniq -c | xargs)"

  # Space returns: no restart, the server must find it by itself.
  rm -f "$full/filler"
  phase freed
  local freed_at recovered="" accepted_after=""
  freed_at=$(date +%s.%N)
  for _ in $(seq 300); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 3 "$base/health/ready" || true)"
    [[ "$code" == 200 ]] && recovered=$(date +%s.%N)
    if awk '$4 == "freed" && $2 == 202' "$work/full-load.log" | grep -q .; then accepted_after=1; fi
    [[ -n "$recovered" && -n "$accepted_after" ]] && break
    sleep 0.1
  done
  sleep 1
  kill "$load_pid"; wait "$load_pid" 2>/dev/null || true; load_pid=""
  kill -0 "$pid" || { echo "FAIL: the server died on the full disk" >&2; exit 1; }

  [[ -n "$saw_full" ]] || { echo "FAIL: no 507/503 while the disk was full (answers: $full_answers)" >&2; tail -5 "$work/server.log" >&2; exit 1; }
  [[ -n "$ready_503" ]] || { echo "FAIL: readiness stayed 200 on the full disk" >&2; exit 1; }
  local errors missing_retry
  errors=$(awk '$2 == 500' "$work/full-load.log" | wc -l)
  missing_retry=$(awk '($2 == 507 || $2 == 503) && $3 == "-"' "$work/full-load.log" | wc -l)
  [[ "$errors" == 0 ]] || { echo "FAIL: $errors claims answered 500 (answers while full: $full_answers)" >&2; grep -m3 'internal error' "$work/server.log" >&2; exit 1; }
  [[ "$missing_retry" == 0 ]] || { echo "FAIL: $missing_retry refusals without Retry-After" >&2; exit 1; }
  [[ -n "$recovered" && -n "$accepted_after" ]] || { echo "FAIL: no recovery after space returned" >&2; tail -5 "$work/server.log" >&2; exit 1; }
  local accepted stored
  accepted=$(awk '$2 == 202' "$work/full-load.log" | wc -l)
  stored=$(sqlite3 "$full/vanguard.db" "SELECT COUNT(*) FROM claims WHERE description LIKE 'Full disk %'")
  [[ "$stored" -ge "$accepted" ]] || { echo "FAIL: $accepted claims acknowledged but $stored stored" >&2; exit 1; }
  echo "full disk: claims answered after the fill (count status): $full_answers; every refusal with Retry-After, no 500; readiness 503"
  echo "full disk: space freed, readiness 200 after $(seconds "$recovered" "$freed_at") s and claims accepted again (no restart); $accepted acknowledged, all $stored stored"
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  umount "$full"
}
full_disk_drill

echo "fault drill passed"
