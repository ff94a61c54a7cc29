#!/usr/bin/env bash
# Stop the detached local services started by up.sh (only those recorded in .local/run/*.pid).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec npx --no-install tsx scripts/services/cli.ts down "$@"
