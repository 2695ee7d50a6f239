#!/usr/bin/env bash
# The whole test suite: provisions Mosquitto, Kafka and InfluxDB (scripts/services.sh, cached after
# the first run), then type-checks and runs unit, end-to-end and integration tests against them.
# Extra arguments go to vitest. The services stay up for the next run: scripts/services.sh down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
npx tsc --noEmit
npx vitest run "$@"
