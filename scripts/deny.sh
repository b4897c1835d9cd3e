#!/usr/bin/env bash
# cargo-deny, offline: licences, bans (banned crates, wildcards, a budget of
# duplicate versions), sources, and advisories from the RustSec snapshot in
# deploy/advisory-db/ (SNAPSHOT names its commit and date). The database is
# fetched from GitHub normally; here it cannot be, so the snapshot is put in
# place as the git checkout cargo-deny expects, dated by the snapshot's commit,
# and `maximum-db-staleness` in deny.toml makes the check fail once the
# snapshot is too old: refresh it with scripts/refresh-advisory-db.sh.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$VANGUARD_ROOT"
ensure_cargo_deny

# Duplicate versions are warnings (each comes from upstream crates); this
# budget makes a new one fail CI until it is looked at and the budget raised.
DUPLICATE_BUDGET=17

snapshot_date="$(sed -n 's/^date: //p' deploy/advisory-db/SNAPSHOT)"
# deny.toml: db-path = target/advisory-dbs; the name is cargo-deny's for the
# default RustSec URL.
db="target/advisory-dbs/advisory-db-3157b0e258782691"
if [ "$(cat "$db/.snapshot" 2>/dev/null)" != "$(cat deploy/advisory-db/SNAPSHOT)" ]; then
  log "putting the advisory database snapshot of $snapshot_date in place"
  rm -rf "$db"
  mkdir -p "$db"
  cp -r deploy/advisory-db/crates "$db/"
  git -C "$db" init -q
  git -C "$db" add crates
  GIT_AUTHOR_DATE="$snapshot_date" GIT_COMMITTER_DATE="$snapshot_date" \
    git -C "$db" -c user.name=snapshot -c user.email=snapshot@localhost commit -qm snapshot
  cp deploy/advisory-db/SNAPSHOT "$db/.snapshot"
fi
# cargo-deny takes the newer of the commit date and .git/HEAD's mtime as the
# fetch time: date HEAD too, or a fresh copy would always look fresh.
touch -d "$snapshot_date" "$db/.git/HEAD"

# cargo-deny reads the metadata of every platform's dependencies (Windows,
# Android, WASI ones too), which a build on this machine never downloads:
# fetch them first, or `--offline` fails on a new machine.
log "fetching every platform's crates for cargo-deny"
cargo fetch --locked --quiet

log "cargo deny (advisories from the snapshot of $snapshot_date; licences, bans, sources)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
cargo deny --offline --locked check advisories licenses bans sources 2>"$out" || status=$?
duplicates="$(grep -c '^warning\[duplicate\]' "$out" || true)"
grep -v '^warning\[duplicate\]' "$out" | grep -E '^(error|warning)\[' -A12 >&2 || true
tail -n 1 "$out" >&2
if [ "$status" != 0 ]; then
  echo "cargo deny failed (full report: cargo deny --offline check)" >&2
  exit 1
fi
log "$duplicates crates in two or more versions (budget $DUPLICATE_BUDGET)"
if [ "$duplicates" -gt "$DUPLICATE_BUDGET" ]; then
  grep '^warning\[duplicate\]' "$out" >&2
  echo "more duplicate versions than the budget: remove the new one or raise DUPLICATE_BUDGET in scripts/deny.sh" >&2
  exit 1
fi
