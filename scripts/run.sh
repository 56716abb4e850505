#!/usr/bin/env bash
# The main job (`make run`): start a local Kafka unless KPAR_BROKERS names a
# cluster, then run the producer sweep (with Java's ProducerPerformance as the
# anchor), the parallel consumer bench, the comparison with Confluent's
# Parallel Consumer, the correctness lab, and PC in that lab. Results go to
# results/ (JSON, CSV, Markdown, charts). Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
KPAR=./bin/kpar
OUT="${KPAR_RESULTS:-results}"
ROWS="${KPAR_ROWS:-1000000}"
mkdir -p "$OUT"

if [[ -z "${KPAR_BROKERS:-}" ]]; then
  KPAR_BROKERS="$($KPAR broker up -q)"
  export KPAR_BROKERS
  trap '$KPAR broker down || true' EXIT
fi
echo "== broker: $KPAR_BROKERS"

echo "== 1/6 dataset: $ROWS rows"
[[ -s "$OUT/events.csv" ]] || $KPAR gen csv --rows "$ROWS" --out "$OUT/events.csv"

echo "== 2/6 producer scaling sweep 1,2,4,8 (+ Java ProducerPerformance anchor)"
$KPAR bench produce --input "$OUT/events.csv" --producers 1,2,4,8 --repeat 3 --vs-java --out "$OUT/produce"

echo "== 3/6 parallel consumer bench (io-bound, cpu-light vs plain poll loop, memory under backlog)"
$KPAR bench consume --out "$OUT/consume"

echo "== 4/6 kpar vs Confluent's Parallel Consumer vs a plain franz-go loop (smaller than the default matrix: about 2 minutes)"
$KPAR compare consume --io-records 20000 --noop-records 300000 --rss-records 500000 --out "$OUT/compare"

echo "== 5/6 correctness lab"
$KPAR lab consumer --out "$OUT/lab"

echo "== 6/6 Confluent's Parallel Consumer in the correctness lab, beside lib-key (PC retries forever: its failures cells end at the stall timeout)"
$KPAR lab consumer --strategies lib-key,pc-key,pc-partition,pc-unordered --records 1500 --stall-timeout 20s --out "$OUT/lab-pc"

echo "== done: see $OUT/produce/summary.md, $OUT/consume/consume.md, $OUT/compare/compare.md, $OUT/lab/, $OUT/lab-pc/"

echo "== report: every result above in one page"
$KPAR report --in "$OUT" --out "$OUT/index.html"
