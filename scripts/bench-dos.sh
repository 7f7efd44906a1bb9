#!/usr/bin/env bash
# bench-dos.sh: the DoS filter's cost per packet, and the Mpps of the whole
# path (RX, DoS, TX) against dpdk-testpmd io.
#
# 1. The engine alone: `go test -bench BenchmarkJudge ./offload/dos/`
#    (offload/dos/bench_test.go: bursts of 32, ns per packet) on its
#    mixes: mix-defaults, mix-all-rules, tcp-established, and the two
#    flood paths spoofed-syn-flood and new-source-spray.
# 2. The whole path: io forwarding of 64-byte UDP frames from a net_pcap
#    infinite replay (1024 flows, each its own source 10.0.x.y) looped to
#    its own TX, one forwarding lcore, as bench-io.sh's pcap case. The
#    programs, run alternately:
#      testpmd                 dpdk-testpmd io (the reference)
#      offloadpmd              offloadpmd io, the DoS filter off
#      offloadpmd-dos          --rx-caps=dos_filter, the default rules
#                              (UDP unlimited: no per-source state)
#      offloadpmd-dos-buckets  --rx-caps=dos_filter with udp and total
#                              buckets per source (1e9/s: nothing
#                              dropped), so every packet looks up and
#                              charges its source's entry
#    The figure is port 0's Rx-pps over DUR seconds, as bench-io.sh reads
#    it. The DoS stage's cost on the whole path is then
#    1e9/Mpps(dos) - 1e9/Mpps(off), in ns per packet, from the medians.
#
# Environment: RUNS (default 5), DUR (seconds, default 10), BENCHTIME (go
# test -benchtime, default 1s), OFFLOADPMD (default bin/offloadpmd),
# BENCH_RESULTS (default results/), PLOT (default 1; 0: no chart).
# Progress lines go to stderr, raw logs to scripts/bench-logs/dos/, every
# run's figure to $BENCH_RESULTS/bench-dos.csv, medians and ratios to
# bench-dos-summary.csv and the chart to bench-dos.png (scripts/bench-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DUR=${DUR:-10}
BENCHTIME=${BENCHTIME:-1s}
OFFLOADPMD=${OFFLOADPMD:-bin/offloadpmd}
LOGS=scripts/bench-logs/dos
mkdir -p "$LOGS"
. scripts/bench-lib.sh

command -v dpdk-testpmd >/dev/null || { echo "bench-dos: dpdk-testpmd not found (scripts/install-deps.sh)" >&2; exit 1; }
[ -x "$OFFLOADPMD" ] || { echo "bench-dos: $OFFLOADPMD not built (make build)" >&2; exit 1; }
PCAP=$PWD/scripts/bench-logs/udp64.pcap
[ -f "$PCAP" ] || "$GO" run ./cmd/pcapgen -kind udp64 -flows 1024 -o "$PCAP"
BUCKETS=$PWD/$LOGS/buckets.yaml
cat >"$BUCKETS" <<'EOF'
# bench-dos.sh: per-source udp and total buckets that never run dry
dos:
  udp: {rate: 1000000000, burst: 1000000000}
  total: {rate: 1000000000, burst: 1000000000}
EOF

PROGS="testpmd offloadpmd offloadpmd-dos offloadpmd-dos-buckets"

# one PROG RUN -> prints port 0 Rx-pps of the last stats block
one() {
	local prog=$1 i=$2 bin=$OFFLOADPMD extra prefix log
	case $prog in
	testpmd) bin=dpdk-testpmd extra="" ;;
	offloadpmd) extra="--busy-poll" ;;
	offloadpmd-dos) extra="--busy-poll --rx-caps=dos_filter" ;;
	offloadpmd-dos-buckets) extra="--busy-poll --rx-caps=dos_filter --config $BUCKETS" ;;
	esac
	prefix="opmdbench_dos_${prog}_$$_$i"
	log="$LOGS/${prog}.run$i.log"
	# shellcheck disable=SC2086
	local more=()
	[ "$prog" = testpmd ] || more=("show offload stats")
	stats_session 2 "$DUR" "${more[@]}" | timeout $((DUR + 60)) $bin -l 0-1 --no-huge -m 1024 --no-pci --file-prefix="$prefix" \
		--vdev=net_pcap0,rx_pcap=$PCAP,infinite_rx=1 -- \
		-i --no-lsc-interrupt --total-num-mbufs=16384 --forward-mode=io --port-topology=loop $extra >"$log" 2>&1 || true
	rm -rf "/var/run/dpdk/$prefix"
	awk '/NIC statistics for port/ {p=$(NF-1)+0} /Rx-pps:/ && p==0 {r=$2} END {print r+0}' "$log"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

mpps() { awk -v v="$1" 'BEGIN {printf "%.4f", v / 1e6}'; }

results_init bench-dos "RUNS=$RUNS DUR=$DUR BENCHTIME=$BENCHTIME; pcap udp64 1024 flows, io, port-topology loop, 1 forwarding lcore"
N=$((RUNS * 4 + 1))
k=1
progress 1 "$N" "go test -bench BenchmarkJudge ./offload/dos/ (-benchtime=$BENCHTIME -count=$RUNS)"
"$GO" test -run '^$' -bench 'BenchmarkJudge' -benchtime="$BENCHTIME" -count="$RUNS" ./offload/dos/ >"$LOGS/engine.log" 2>&1 ||
	{ echo "bench-dos: go test -bench failed:" >&2; cat "$LOGS/engine.log" >&2; exit 1; }
# BenchmarkJudge/mix-defaults-2   123456   0 ns/op   12.34 ns/pkt   0 B/op ...
awk '/^BenchmarkJudge\// {
	name = $1; sub(/^BenchmarkJudge\//, "", name); sub(/-[0-9]+$/, "", name)
	for (i = 2; i < NF; i++) if ($(i+1) == "ns/pkt") print name, $i
}' "$LOGS/engine.log" >"$LOGS/engine.ns"
printf "%-22s %10s   (go test -bench, %s x %s, median)\n" "engine case" "ns/pkt" "$RUNS" "$BENCHTIME"
for c in $(awk '{print $1}' "$LOGS/engine.ns" | awk '!seen[$0]++'); do
	run=0
	for v in $(awk -v c="$c" '$1 == c {print $2}' "$LOGS/engine.ns"); do
		run=$((run + 1))
		csv_row dos "engine-$c" offloadpmd "$run" "$v" ns/pkt "go test -bench"
	done
	m=$(awk -v c="$c" '$1 == c {print $2}' "$LOGS/engine.ns" | median)
	summary_row dos "engine-$c" offloadpmd "$run" "$m" ns/pkt "" "go test -bench"
	printf "%-22s %10.2f\n" "$c" "$m"
done

for p in $PROGS; do : >"$LOGS/$p.pps"; done
for i in $(seq 1 "$RUNS"); do
	for p in $PROGS; do
		k=$((k + 1))
		progress "$k" "$N" "$p run $i/$RUNS"
		v=$(one "$p" "$i")
		echo "$v" >>"$LOGS/$p.pps"
		prog=$p tool="offloadpmd io"
		[ "$p" = testpmd ] && prog=c-reference tool="testpmd io"
		csv_row dos io-64 "$prog" "$i" "$(mpps "$v")" Mpps "$tool"
	done
done
echo
printf "%-24s %10s %8s %12s   (%s runs of %ss, median port 0 Rx Mpps)\n" program Mpps ratio "ns/pkt" "$RUNS" "$DUR"
ref=$(median <"$LOGS/testpmd.pps")
off=$(median <"$LOGS/offloadpmd.pps")
for p in $PROGS; do
	m=$(median <"$LOGS/$p.pps")
	if [ "$p" = testpmd ]; then
		summary_row dos io-64 c-reference "$RUNS" "$(mpps "$m")" Mpps "" "testpmd io"
	else
		summary_row dos io-64 "$p" "$RUNS" "$(mpps "$m")" Mpps "$(awk -v t="$ref" -v o="$m" 'BEGIN {if (t > 0) printf "%.3f", o / t}')" "offloadpmd io"
	fi
	ns=$(awk -v m="$m" 'BEGIN {if (m > 0) printf "%.2f", 1e9 / m}')
	awk -v p="$p" -v m="$m" -v t="$ref" -v ns="$ns" -v runs="$(tr '\n' ' ' <"$LOGS/$p.pps")" \
		'BEGIN {printf "%-24s %10.2f %8.3f %12s   [%s]\n", p, m/1e6, (t>0 ? m/t : 0), ns, runs}'
done
for p in offloadpmd-dos offloadpmd-dos-buckets; do
	m=$(median <"$LOGS/$p.pps")
	d=$(awk -v m="$m" -v o="$off" 'BEGIN {if (m > 0 && o > 0) printf "%.2f", 1e9 / m - 1e9 / o; else print 0}')
	summary_row dos "stage-${p#offloadpmd-}" offloadpmd "$RUNS" "$d" ns/pkt "" "1e9/Mpps($p) - 1e9/Mpps(offloadpmd)"
	echo "DoS stage on the whole path, ${p#offloadpmd-}: $d ns/packet (1e9/pps with it - 1e9/pps without, medians)"
done
results_plot
