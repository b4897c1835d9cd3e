#!/usr/bin/env bash
# Builds Vanguard and runs it on the embedded SQLite default at
# http://127.0.0.1:3000 (data in ./data). Installs the build tools on first
# use. Any configuration from .env.example may be set in the environment.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$VANGUARD_ROOT"

ensure_build_tools
build_release
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export VANGUARD_LOG_FORMAT="${VANGUARD_LOG_FORMAT:-pretty}"
# First run: an administrator to sign in with (its password is printed once).
if [ $# -eq 0 ]; then
  "$(server_binary)" create-admin --email "${VANGUARD_FIRST_ADMIN_EMAIL:-admin@vanguard.local}" \
    --name "Administrator" --if-no-admin --generate-password
fi
exec "$(server_binary)" "$@"
