#!/usr/bin/env bash
# actionlint (with ShellCheck on every `run:` script) over .github/workflows/.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$VANGUARD_ROOT"
ensure_deploy_tools
log "actionlint $("$DEPLOY_TOOLS/bin/actionlint" --version | head -n 1 | awk '{print $NF}') on .github/workflows/"
"$DEPLOY_TOOLS/bin/actionlint" -shellcheck "$(command -v shellcheck)"
