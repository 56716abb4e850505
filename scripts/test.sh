#!/usr/bin/env bash
# The test command (`make test`, and what .ci/run calls): start a real local
# Kafka unless KPAR_BROKERS names one, run every test with the race detector,
# and stop what we started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

go build -ldflags "$(./scripts/ldflags.sh)" -o bin/kpar ./cmd/kpar
# Every Java dependency, once, before test packages run in parallel: two
# Maven runs filling one local repository at once can trip over each other.
./bin/kpar deps

started=""
if [[ -z "${KPAR_BROKERS:-}" ]]; then
  # A home and port of its own, so a developer's `kpar broker up` is untouched.
  export KPAR_HOME="$PWD/.kpar/test"
  port="${KPAR_TEST_PORT:-25092}"
  KPAR_BROKERS="$(./bin/kpar broker up --port "$port" -q)"
  export KPAR_BROKERS
  started=1
  trap './bin/kpar broker down || true' EXIT
  echo "test broker: $KPAR_BROKERS (KPAR_HOME=$KPAR_HOME)"
fi
# The integration tests must run, not skip, when a broker was provided.
export KPAR_REQUIRE_BROKER=1

go vet ./...
go build -o bin/testsummary ./internal/tools/testsummary
# -json feeds a summary that lists every skipped test with its reason and ends
# with "N passed, N failed, N skipped"; the exit code is go test's or the summary's.
set +e
go test -race -count=1 -timeout 25m -json "$@" ./... | ./bin/testsummary
codes=("${PIPESTATUS[@]}")
set -e
if (( codes[0] != 0 || codes[1] != 0 )); then exit 1; fi
