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
  KPAR_BROKERS="$(./bin/kpar broker up --fresh --port "$port" -q)" # --fresh: never a crashed run's data
  export KPAR_BROKERS
  started=1
  trap './bin/kpar broker down || true' EXIT
  echo "test broker: $KPAR_BROKERS (KPAR_HOME=$KPAR_HOME)"
fi
# The integration tests must run, not skip, when a broker was provided.
export KPAR_REQUIRE_BROKER=1

# The repository holds four modules: the toolkit (.), the library
# (parallel), its Prometheus collector (parallel/kprom) and its
# OpenTelemetry observer (parallel/kotel). `go test ./...`
# enters only the module it runs in, so each is vetted and tested here, and
# the summary counts tests per module and fails when fewer ran in all than
# the suite had (a module left out). Extra arguments (e.g. -run) lift the floor.
modules=(. parallel parallel/kprom parallel/kotel)
module_paths="github.com/kpar/kpar github.com/kpar/kpar/parallel github.com/kpar/kpar/parallel/kprom github.com/kpar/kpar/parallel/kotel"
min_tests=700 # 713 tests ran when this was set; a module left out falls below it
if (( $# > 0 )); then min_tests=0; fi
for m in "${modules[@]}"; do go -C "$m" vet ./...; done
# staticcheck, the Go ecosystem's own checks, pinned and built from the
# module proxy into bin/ when missing; every module must stay clean.
staticcheck_version=v0.8.2 # the 2026.2.2 release
if ! ./bin/staticcheck -version 2>/dev/null | grep -q "(${staticcheck_version#v})"; then
  GOBIN="$PWD/bin" go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
for m in "${modules[@]}"; do (cd "$m" && "$OLDPWD/bin/staticcheck" ./...); done
go build -o bin/testsummary ./internal/tools/testsummary
# -json feeds a summary that lists every skipped test with its reason and ends
# with "N passed, N failed, N skipped"; the exit code is go test's or the summary's.
set +e
# The library's modules run beside the toolkit's (their tests wait on the
# broker far more than they use the CPU), each into a file of its own; the
# toolkit's JSON streams, the others follow it into one summary.
lib_out="$(mktemp -d)"
cleanup() {
  rm -rf "$lib_out"
  if [[ -n "$started" ]]; then ./bin/kpar broker down || true; fi
}
trap cleanup EXIT
{
  rc=0
  for m in "${modules[@]:1}"; do
    f="$lib_out/${m//\//_}"
    ( go -C "$m" test -race -count=1 -timeout 25m -json "$@" ./... > "$f.json"; echo $? > "$f.rc" ) &
  done
  go -C "${modules[0]}" test -race -count=1 -timeout 25m -json "$@" ./... || rc=1
  wait
  for m in "${modules[@]:1}"; do
    f="$lib_out/${m//\//_}"
    cat "$f.json"
    [[ "$(cat "$f.rc")" == 0 ]] || rc=1
  done
  exit "$rc"
} | ./bin/testsummary -modules "$module_paths" -min "$min_tests"
codes=("${PIPESTATUS[@]}")
set -e
if (( codes[0] != 0 || codes[1] != 0 )); then exit 1; fi
