#!/usr/bin/env bash
# Replaces deploy/advisory-db/ with the current RustSec advisory database.
# Needs access to GitHub (CI machines have none: run it where you have it,
# then commit the result). scripts/deny.sh fails once the snapshot is older
# than deny.toml's maximum-db-staleness.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git clone --quiet --depth 1 https://github.com/rustsec/advisory-db "$tmp/db"
rm -rf deploy/advisory-db
mkdir -p deploy/advisory-db
cp -r "$tmp/db/crates" "$tmp/db/LICENSE.txt" deploy/advisory-db/
{
  echo "commit: $(git -C "$tmp/db" rev-parse HEAD)"
  echo "date: $(git -C "$tmp/db" show -s --format=%cI HEAD)"
  echo "source: https://github.com/rustsec/advisory-db (crates/ and LICENSE.txt only, CC0-1.0)"
} > deploy/advisory-db/SNAPSHOT
echo "deploy/advisory-db/ now at $(sed -n 's/^date: //p' deploy/advisory-db/SNAPSHOT); commit it"
