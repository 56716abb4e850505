#!/bin/sh
# bench_ab.sh runs a consume benchmark of bench_test.go once per tracing
# configuration per repeat, interleaved (odd repeats in the order given,
# even ones reversed), and prints each run's rate, its ratio to the same
# repeat's tracing=off run, and per configuration the median, lowest and
# highest ratio and how many repeats kept at least 90% of the untraced rate.
# Each run's line also holds the process's CPU time per record, and a
# second table compares it as the rates are (off's over the traced run's).
#
#   ./bench_ab.sh REPEATS BENCH RECORDS TRACING...
#   ./bench_ab.sh 7 Noop/on=kfake 200000 off all 1% 1%+sampledonly
#   ./bench_ab.sh 5 Sleep5ms/on=kfake/workers=500 50000 off all 1%+sampledonly
#
# TRACING must include off. With KPAR_BROKERS set, use on=broker.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 REPEATS BENCH RECORDS TRACING... (with off)" >&2; exit 2; }
reps=$1 bench=$2 n=$3
shift 3
case " $* " in *" off "*) ;; *) echo "$0: TRACING must include off" >&2; exit 2 ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/kotel.test" .
rev=""
for tr in "$@"; do rev="$tr $rev"; done
rep=1
while [ "$rep" -le "$reps" ]; do
	order="$*"
	[ $((rep % 2)) -eq 0 ] && order=$rev
	for tr in $order; do
		re=$(printf '%s' "$tr" | sed 's/[+.]/\\&/g')
		"$dir/kotel.test" -test.run '^$' -test.bench "^Benchmark$bench/tracing=$re\$" \
			-test.benchtime "${n}x" -test.count 1 >"$dir/out" 2>&1 || true
		got=$(awk '/rec\/s/ { for (i = 2; i <= NF; i++) { if ($i == "rec/s") r = $(i-1); if ($i == "cpu-ns/rec") c = $(i-1) }; print r, c }' "$dir/out")
		if [ -z "$got" ]; then
			echo "$0: no rate from $bench/tracing=$tr in repeat $rep; its output ends:" >&2
			tail -n 20 "$dir/out" >&2
			echo "failed"
			exit 1
		fi
		echo "$rep $tr $got"
	done
	rep=$((rep + 1))
done | awk '
	$1 == "failed" { failed = 1; exit 1 }
	{ rate[$1, $2] = $3; cpu[$1, $2] = $4; if (!($2 in seen)) { seen[$2] = 1; names[++nn] = $2 }; if ($1 > reps) reps = $1
	  print "repeat " $1 ": tracing=" $2 " " $3 " rec/s " $4 " cpu-ns/rec"; fflush() }
	# table prints, per configuration but off, the ratio of each repeat
	# (the rate, or off'"'"'s CPU per record over the configuration'"'"'s), its
	# median and range, and how many repeats reached 0.90.
	function table(what, cpus,    i, t, line, k, ok, r, x, a, b, y, med) {
		print ""
		printf "%-20s %s\n", "tracing", what " per repeat; median [lowest, highest]; repeats >= 0.90"
		for (i = 1; i <= nn; i++) {
			t = names[i]; if (t == "off") continue
			line = ""; k = 0; ok = 0
			for (r = 1; r <= reps; r++) {
				x = cpus ? cpu[r, "off"] / cpu[r, t] : rate[r, t] / rate[r, "off"]
				v[++k] = x; line = line sprintf(" %.3f", x); if (x >= 0.9) ok++
			}
			for (a = 2; a <= k; a++) { y = v[a]; for (b = a - 1; b >= 1 && v[b] > y; b--) v[b + 1] = v[b]; v[b + 1] = y }
			med = (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
			printf "%-20s%s; %.3f [%.3f, %.3f]; %d of %d\n", t, line, med, v[1], v[k], ok, k
		}
	}
	END {
		if (failed) { print "a run failed: no tables"; exit 1 }
		table("traced/off rate", 0)
		# Less at the mercy of other processes than the rate: the process'"'"'s
		# CPU time per record, off'"'"'s over the traced run'"'"'s.
		table("off/traced CPU per record", 1)
	}'
