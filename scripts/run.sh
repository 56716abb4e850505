#!/usr/bin/env bash
# The main job (`make run`): start a local Kafka unless KPAR_BROKERS names a
# cluster, then run the producer sweep (with Java's ProducerPerformance and kcat
# as anchors) and the partition/record-size ceiling sweep, Trogdor's agents beside in-process clients, the parallel consumer bench, the comparison with Confluent's
# Parallel Consumer and share groups, the correctness lab, PC and share groups
# in that lab, the consumer-group lab, producers under broker faults (on a
# 3-node cluster the lab starts itself), a short chaos soak, and one HTML report of all of it.
# Results go to results/ (JSON, CSV, Markdown, charts). Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
KPAR=./bin/kpar
OUT="${KPAR_RESULTS:-results}"
ROWS="${KPAR_ROWS:-1000000}"
mkdir -p "$OUT"

PIN=() # the ceiling sweep pins only a broker this script started (its pids are ours)
BROKER_OURS= TROGDOR_UP=
cleanup() {
  if [[ -n "$TROGDOR_UP" ]]; then $KPAR trogdor down >/dev/null || true; fi
  if [[ -n "$BROKER_OURS" ]]; then $KPAR broker down || true; fi
}
trap cleanup EXIT
if [[ -z "${KPAR_BROKERS:-}" ]]; then
  if [[ "$(nproc)" -ge 2 ]]; then PIN=(--pin broker=0,bench=1); fi
  KPAR_BROKERS="$($KPAR broker up -q)"
  BROKER_OURS=1
  export KPAR_BROKERS
fi
echo "== broker: $KPAR_BROKERS"

# step N "what" SECONDS command...: runs one step, saying what it is and how
# long it took on a quiet 2-core machine, then how long it took here.
run_start=$SECONDS
step() {
  local n="$1" what="$2" expect="$3"
  shift 3
  printf '== %s/9 %s (about %s)\n' "$n" "$what" "$(dur "$expect")"
  local t0=$SECONDS
  "$@"
  printf '   step %s took %s (total so far %s)\n' "$n" "$(dur $((SECONDS - t0)))" "$(dur $((SECONDS - run_start)))"
}
dur() { if (($1 >= 60)); then printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); else printf '%ds' "$1"; fi; }

# KPAR_FULL=1 (make run-full) runs the full matrices; the default sizes keep
# the main job near ten minutes on a quiet 2-core machine and still fill
# every section of the report. Short windows are stated in each result.
FULL="${KPAR_FULL:-}"
pick() { if [[ -n "$FULL" ]]; then echo "$2"; else echo "$1"; fi; }

dataset() { [[ -s "$OUT/events.csv" ]] || $KPAR gen csv --rows "$ROWS" --out "$OUT/events.csv"; }
produce() {
  $KPAR bench produce --input "$OUT/events.csv" --producers 1,2,4,8 --repeat "$(pick 2 3)" --vs-java --vs-kcat --out "$OUT/produce"
}
ceiling() {
  # shellcheck disable=SC2046
  $KPAR bench produce --input "$OUT/events.csv" $(pick "--records 200000 --partitions 1,12,48 --record-size 0,1000 --producers 1,2,4" \
    "--records 300000 --partitions 1,3,12,48 --record-size 0,1000,10000 --producers 1,2,4,8") \
    --size-budget 100000000 "${PIN[@]}" --topic kpar-produce-ceiling --out "$OUT/produce-ceiling"
}
trogdor() {
  # Apache Kafka's own distributed harness: a coordinator and 2 agents on this host (the result says they
  # share it), each step's agents beside as many kpar clients in one process, on the same broker.
  TROGDOR_UP=1
  $KPAR trogdor up --agents 2
  local rc=0
  # shellcheck disable=SC2046
  $KPAR bench produce --trogdor --steps $(pick "1,2 --records 200000" "1,2 --records 1000000") --out "$OUT/trogdor" || rc=$?
  $KPAR trogdor down >/dev/null
  TROGDOR_UP=
  return $rc
}
consume() {
  # shellcheck disable=SC2046
  $KPAR bench consume $(pick "--records 400000 --repeat 2 --min-window 1500ms --rss-records 1000000" "") --out "$OUT/consume"
}
# --quick: the small matrix with its stated 0.25 s minimum window. One record count is shared by every
# contender, and a 10 s window for the fastest plain loop would keep PC's no-op run going for an hour;
# the full matrix is `kpar compare consume` (minutes to hours, see --help).
compare() {
  # shellcheck disable=SC2046
  # One record count is shared by every contender: 2M records give the fastest plain loop (4M records/s here, 10M
  # on a faster machine) a 0.2-0.5 s window, over the stated 0.15 s minimum, and PC's no-op run about 30 s.
  # The dead-letter part at 30,000 records a run: the broker's queue ran at about 7,000 records/s here.
  # No PC heap search (make run-full has it): at -Xmx87m to -Xmx100m its capped runs here neither finished
  # nor failed within 20-30 s bounds, a timeout that says little, at about 25 s of the main job.
  $KPAR compare consume --quick --noop-records 2000000 --min-window 150ms $(pick "--pc-heap-steps 0 --dlq-records 30000" "") --out "$OUT/compare"
}
lab() {
  # shellcheck disable=SC2046
  $KPAR lab consumer $(pick "--strategies commit-before,auto-commit,commit-after-batch,eos,lib-key,lib-unordered --scenarios ooo+kill,ooo+rebalance,ooo+failures --records 1500 --crashes 2" "") \
    --out "$OUT/lab"
}
lab_pc() {
  # shellcheck disable=SC2046
  $KPAR lab consumer $(pick "--strategies lib-key,pc-key --scenarios ooo+kill,ooo+failures --records 1000 --crashes 2 --stall-timeout 10s" \
    "--strategies lib-key,pc-key,pc-partition,pc-unordered --records 1500 --stall-timeout 20s") --out "$OUT/lab-pc"
}
lab_share() {
  # shellcheck disable=SC2046
  $KPAR lab consumer $(pick "--strategies lib-key,kpar-share --scenarios ooo+kill --records 1000" \
    "--strategies lib-key,share,kpar-share --scenarios ooo+failures,ooo+kill --records 1500") --crashes 1 --out "$OUT/lab-share"
}
lab_group() {
  # shellcheck disable=SC2046
  $KPAR lab group --events join,kill $(pick "--assignors range --duration 6s --event-at 3s --session-timeout 6s --settings-records 1000" \
    "--assignors range,cooperative-sticky,kip848-uniform") --parallel cooperative-sticky \
    --out "$OUT/lab-group" --settings-out "$OUT/lab-group-settings"
}
lab_producer() {
  # shellcheck disable=SC2046
  KPAR_BROKERS= $KPAR lab producer --seed 7 $(pick "--settings acks1-if5,all-idem --faults freeze" "") --out "$OUT/lab-producer"
}
lab_soak() {
  # shellcheck disable=SC2046
  KPAR_BROKERS= $KPAR lab soak --seed 7 $(pick "--duration 30s --strategies lib-key,eos,kpar-share" "--duration 10m") --out "$OUT/lab-soak"
}

# Expected durations: a quiet 2-core machine, the default sizes (KPAR_FULL=1's in the second figure).
step 1 "dataset: $ROWS rows" 5 dataset
step 2a "producer scaling sweep 1,2,4,8 (+ Java ProducerPerformance and kcat anchors)" "$(pick 20 60)" produce
step 2b "where the ceiling is: partitions x record sizes, broker and bench pinned when ours" "$(pick 12 240)" ceiling
step 2c "load from Trogdor agents beside in-process kpar clients (2 agents sharing this host)" "$(pick 15 90)" trogdor
step 3 "parallel consumer bench (io-bound, cpu-light vs plain poll loops, memory under backlog)" "$(pick 55 300)" consume
step 4 "kpar vs Confluent's Parallel Consumer vs share groups vs a plain franz-go loop (--quick: a smoke-sized matrix, 0.15 s minimum window)" "$(pick 130 270)" compare
step 5 "correctness lab: commit strategies under kills, rebalances and failures" "$(pick 45 300)" lab
step 6a "Confluent's Parallel Consumer in the correctness lab, beside lib-key (PC retries forever: its failures cells end at the stall timeout)" "$(pick 50 120)" lab_pc
step 6b "share groups in the correctness lab beside lib-key (a kill costs a share group its session and lock, 15 s each here)" "$(pick 35 120)" lab_share
step 7 "consumer-group lab: join and kill, then the settings experiments" "$(pick 80 200)" lab_group
step 8 "producers under broker faults on the lab's own 3-node cluster (ports 28092-28094)" "$(pick 75 200)" lab_producer
step 8b "chaos soak: producers and consumers under mixed broker, consumer and network faults on the soak's own 3-node cluster (ports 29092-29494)" "$(pick 60 720)" lab_soak
step 9 "report: every result above in one page" 2 $KPAR report --in "$OUT" --out "$OUT/index.html"
echo "== done in $(dur $((SECONDS - run_start))): $OUT/index.html"
