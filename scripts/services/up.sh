#!/usr/bin/env bash
# Start (or reuse) local Kafka, Mongo-wire and DynamoDB; prints their URLs. See scripts/services/services.ts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
exec npx --no-install tsx scripts/services/cli.ts up "$@"
