#!/usr/bin/env bash
# The whole test suite: provisions Mosquitto, Kafka and InfluxDB (scripts/services.sh, cached after
# the first run), then type-checks and runs unit, end-to-end and integration tests against them.
# Extra arguments go to vitest. The services stay up for the next run: scripts/services.sh down.
# The three-broker Kafka cluster (test/integration/kafka-cluster.test.ts) is started too, and stays up
# like the rest: scripts/services.sh cluster down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh up
bash scripts/services.sh cluster up
eval "$(bash scripts/services.sh env)"
eval "$(bash scripts/services.sh cluster env)"
npm run typecheck
npx vitest run "$@"
