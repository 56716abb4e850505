#!/usr/bin/env bash
# Regenerates every fixture: the results committed under testdata/ for tests
# whose measurement is too slow to run inside a test. Each is a short real
# run of the kpar built here, marked as a fixture in its header (KPAR_FIXTURE:
# the mark, beside the header's command, kpar revision and machine).
#
#   scripts/fixtures.sh                 every fixture
#   scripts/fixtures.sh compare         only the named ones (compare, lab-producer, lab-soak)
#
# It starts its own broker on a free port with its own KPAR_HOME (never a
# developer's or `make test`'s), runs each command from the repository's root
# with a relative --out under .kpar/fixtures (so the recorded command holds no
# path of this machine, and compare finds the source it counts lines of),
# copies the data file into place only when the run succeeded, and stops what
# it started.
# Run it on a quiet machine: the fixtures' figures are real measurements.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# name | file under the repository | needs the local broker | command (kpar ...; --out is added)
fixtures=(
  "compare|internal/report/testdata/compare/compare.json|yes|compare consume --quick"
  "lab-producer|internal/report/testdata/lab-producer/lab-producer.json|no|lab producer --settings acks1-if5,all-idem --faults leader-kill --seed 21 --heap 384M"
  "lab-soak|internal/report/testdata/lab-soak/soak.json|no|lab soak --duration 60s --strategies lib-key,eos --seed 21"
)

want=("$@")
for w in "${want[@]}"; do
  known=""
  for f in "${fixtures[@]}"; do [[ "${f%%|*}" == "$w" ]] && known=1; done
  [[ -n "$known" ]] || { echo "scripts/fixtures.sh: no fixture named $w (known: compare, lab-producer, lab-soak)" >&2; exit 2; }
done
wanted() { [[ ${#want[@]} -eq 0 ]] && return 0; local w; for w in "${want[@]}"; do [[ "$w" == "$1" ]] && return 0; done; return 1; }

go build -ldflags "$(./scripts/ldflags.sh)" -o bin/kpar ./cmd/kpar
kpar="$root/bin/kpar"

work="$(mktemp -d -t kpar-fixtures.XXXXXX)"
export KPAR_HOME="$work/home"
export KPAR_FIXTURE=scripts/fixtures.sh
unset KPAR_BROKERS
started=""
out=.kpar/fixtures
cleanup() {
  [[ -n "$started" ]] && "$kpar" broker down >/dev/null || true
  rm -rf "$work" "$out"
}
trap cleanup EXIT

# free BASE: true when BASE..BASE+2 and their controller ports (+100) are free.
free() {
  local p
  for p in $1 $(($1 + 1)) $(($1 + 2)) $(($1 + 100)) $(($1 + 101)) $(($1 + 102)) $(($1 + 200)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then return 1; fi
  done
}
# pick: a free base port below Linux's ephemeral range (32768+), other than
# the fixed ones kpar's tests and labs use.
pick() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + (RANDOM % 100) * 100 + 10))
    if free "$p"; then echo "$p"; return; fi
  done
  echo "scripts/fixtures.sh: no free port found between 20000 and 30000" >&2
  exit 1
}

for f in "${fixtures[@]}"; do
  IFS='|' read -r name file broker cmd <<<"$f"
  wanted "$name" || continue
  args=($cmd)
  if [[ "$broker" == yes && -z "$started" ]]; then
    port="$(pick)"
    KPAR_BROKERS="$("$kpar" broker up --port "$port" -q)"
    export KPAR_BROKERS
    started=1
    echo "== fixtures' broker: $KPAR_BROKERS (KPAR_HOME=$KPAR_HOME)"
  fi
  if [[ "$broker" == no ]]; then
    args+=(--port "$(pick)")
  fi
  echo "== $name: kpar ${args[*]}"
  start=$SECONDS
  rm -rf "$out/$name"
  if [[ "$broker" == no ]]; then
    KPAR_BROKERS= bin/kpar "${args[@]}" --out "$out/$name"
  else
    bin/kpar "${args[@]}" --out "$out/$name"
  fi
  data="$out/$name/$(basename "$file")"
  [[ -s "$data" ]] || { echo "scripts/fixtures.sh: $name wrote no $(basename "$file")" >&2; exit 1; }
  mkdir -p "$(dirname "$file")"
  cp "$data" "$file.tmp" && mv "$file.tmp" "$file"
  echo "== $name: $file ($((SECONDS - start)) s)"
done
