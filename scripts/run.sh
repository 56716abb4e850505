#!/usr/bin/env bash
# The main job (`make run`): start a local Kafka unless KPAR_BROKERS names a
# cluster, then run the producer sweep (with Java's ProducerPerformance and kcat
# as anchors) and the partition/record-size ceiling sweep, the parallel consumer bench, the comparison with Confluent's
# Parallel Consumer and share groups, the correctness lab, PC and share groups
# in that lab, the consumer-group lab, producers under broker faults (on a
# 3-node cluster the lab starts itself), and one HTML report of all of it.
# Results go to results/ (JSON, CSV, Markdown, charts). Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
KPAR=./bin/kpar
OUT="${KPAR_RESULTS:-results}"
ROWS="${KPAR_ROWS:-1000000}"
mkdir -p "$OUT"

PIN=() # the ceiling sweep pins only a broker this script started (its pids are ours)
if [[ -z "${KPAR_BROKERS:-}" ]]; then
  if [[ "$(nproc)" -ge 2 ]]; then PIN=(--pin broker=0,bench=1); fi
  KPAR_BROKERS="$($KPAR broker up -q)"
  export KPAR_BROKERS
  trap '$KPAR broker down || true' EXIT
fi
echo "== broker: $KPAR_BROKERS"

echo "== 1/9 dataset: $ROWS rows"
[[ -s "$OUT/events.csv" ]] || $KPAR gen csv --rows "$ROWS" --out "$OUT/events.csv"

echo "== 2/9 producer scaling sweep 1,2,4,8 (+ Java ProducerPerformance and kcat anchors), then where the ceiling is: partitions 1,3,12,48 x record sizes (rows, 1 KB, 10 KB), broker and bench pinned"
$KPAR bench produce --input "$OUT/events.csv" --producers 1,2,4,8 --repeat 3 --vs-java --vs-kcat --out "$OUT/produce"
$KPAR bench produce --input "$OUT/events.csv" --records 300000 --partitions 1,3,12,48 --record-size 0,1000,10000 \
  --size-budget 100000000 --producers 1,2,4,8 "${PIN[@]}" --topic kpar-produce-ceiling --out "$OUT/produce-ceiling"

echo "== 3/9 parallel consumer bench (io-bound, cpu-light vs plain poll loop, memory under backlog)"
$KPAR bench consume --out "$OUT/consume"

# --quick: the small matrix with its stated 0.25 s minimum window. One record count is shared by every
# contender, and a 10 s window for the fastest plain loop would keep PC's no-op run going for an hour;
# the full matrix is `kpar compare consume` (minutes to hours, see --help).
echo "== 4/9 kpar vs Confluent's Parallel Consumer vs share groups vs a plain franz-go loop (--quick: a smoke-sized matrix, 0.25 s minimum window)"
$KPAR compare consume --quick --out "$OUT/compare"

echo "== 5/9 correctness lab"
$KPAR lab consumer --out "$OUT/lab"

echo "== 6/9 Confluent's Parallel Consumer in the correctness lab, beside lib-key (PC retries forever: its failures cells end at the stall timeout)"
$KPAR lab consumer --strategies lib-key,pc-key,pc-partition,pc-unordered --records 1500 --stall-timeout 20s --out "$OUT/lab-pc"

echo "== 7/9 share groups in the correctness lab: a bare share consumer and kpar's share mode beside lib-key (a kill costs a share group its 45 s session)"
$KPAR lab consumer --strategies lib-key,share,kpar-share --scenarios ooo+failures,ooo+kill --crashes 1 --records 1500 --out "$OUT/lab-share"

echo "== 8/9 consumer-group lab: join and kill under eager range, cooperative-sticky and KIP-848; then the settings experiments"
$KPAR lab group --events join,kill --assignors range,cooperative-sticky,kip848-uniform --parallel cooperative-sticky \
  --out "$OUT/lab-group" --settings-out "$OUT/lab-group-settings"

echo "== 9/9 producers under broker faults: acks and idempotence on the lab's own 3-node cluster (ports 28092-28094), leader kill and a frozen broker"
KPAR_BROKERS= $KPAR lab producer --seed 7 --out "$OUT/lab-producer"

echo "== done: see $OUT/produce/summary.md, $OUT/produce-ceiling/summary.md, $OUT/consume/consume.md, $OUT/compare/compare.md, $OUT/lab/, $OUT/lab-pc/, $OUT/lab-share/, $OUT/lab-group/, $OUT/lab-group-settings/, $OUT/lab-producer/"

echo "== report: every result above in one page"
$KPAR report --in "$OUT" --out "$OUT/index.html"
