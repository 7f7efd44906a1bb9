#!/usr/bin/env bash
# bench-io.sh: dpdk-testpmd against offloadpmd, io and macswap forwarding.
#
# Both programs get the same EAL arguments, vdevs and application options,
# one forwarding lcore (lcore 1), no hugepages, and are driven through the
# same interactive commands the DPDK anchors use: start, wait, `show port
# stats all`, wait DUR seconds, `show port stats all`, stop, quit. The
# figure is port 0's "Rx-pps" from the last block, i.e. testpmd's own
# "Throughput (since last show)" over DUR seconds, parsed the same way for
# both. Runs alternate (testpmd, offloadpmd, testpmd, ...) so drift in this
# noisy VM hits both alike.
#
# Cases:
#   null     two net_null ports, paired (two streams on one lcore)
#   pcap     net_pcap rx_pcap=udp64,infinite_rx=1 looped to its own TX
#            (the PMD's tx_drop), 64-byte UDP, 1024 flows, as the anchors
#   macswap  the pcap case with --forward-mode=macswap
#
# Environment: RUNS (default 5), DUR (seconds, default 10), CASES (default
# "null pcap macswap"), OFFLOADPMD (default bin/offloadpmd), OFFLOADPMD_ARGS
# (extra offloadpmd options, e.g. --rx-bursts=1), BENCH_RESULTS (default
# results/), PLOT (default 1; 0: no chart).
# Prints per case the median Mpps of each program and the ratio; progress
# lines go to stderr, raw logs to scripts/bench-logs/, and every run's
# figure to $BENCH_RESULTS/bench-io.csv, the medians and ratios to
# bench-io-summary.csv and cmd/benchplot's chart to bench-io.png (see
# scripts/bench-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DUR=${DUR:-10}
CASES=${CASES:-"null pcap macswap"}
OFFLOADPMD=${OFFLOADPMD:-bin/offloadpmd}
LOGS=scripts/bench-logs
mkdir -p "$LOGS"
. scripts/bench-lib.sh

command -v dpdk-testpmd >/dev/null || { echo "bench-io: dpdk-testpmd not found (scripts/install-deps.sh)" >&2; exit 1; }
[ -x "$OFFLOADPMD" ] || { echo "bench-io: $OFFLOADPMD not built (make build)" >&2; exit 1; }
PCAP=$PWD/$LOGS/udp64.pcap
[ -f "$PCAP" ] || go run ./cmd/pcapgen -kind udp64 -flows 1024 -o "$PCAP"

# case_args CASE -> "EAL args | app args"
case_args() {
	case $1 in
	null) echo "--vdev=net_null0 --vdev=net_null1|--forward-mode=io" ;;
	pcap) echo "--vdev=net_pcap0,rx_pcap=$PCAP,infinite_rx=1|--forward-mode=io --port-topology=loop" ;;
	macswap) echo "--vdev=net_pcap0,rx_pcap=$PCAP,infinite_rx=1|--forward-mode=macswap --port-topology=loop" ;;
	*) echo "bench-io: unknown case $1" >&2; exit 2 ;;
	esac
}

# one PROG CASE RUN -> prints port 0 Rx-pps of the last stats block
one() {
	local prog=$1 c=$2 i=$3 spec eal app bin extra prefix log
	spec=$(case_args "$c")
	eal=${spec%%|*}
	app=${spec#*|}
	if [ "$prog" = testpmd ]; then bin=dpdk-testpmd; extra=""; else bin=$OFFLOADPMD; extra="--busy-poll ${OFFLOADPMD_ARGS:-}"; fi
	prefix="opmdbench_${prog}_${c}_$$_$i"
	log="$LOGS/${c}.${prog}.run$i.log"
	# shellcheck disable=SC2086
	stats_session 2 "$DUR" | timeout $((DUR + 60)) $bin -l 0-1 --no-huge -m 1024 --no-pci --file-prefix="$prefix" $eal -- \
		-i --no-lsc-interrupt --total-num-mbufs=16384 $app $extra >"$log" 2>&1 || true
	rm -rf "/var/run/dpdk/$prefix"
	awk '/NIC statistics for port/ {p=$(NF-1)+0} /Rx-pps:/ && p==0 {r=$2} END {print r+0}' "$log"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# mpps PPS -> Mpps, as the CSVs hold it
mpps() { awk -v v="$1" 'BEGIN {printf "%.4f", v / 1e6}'; }

results_init bench-io "RUNS=$RUNS DUR=$DUR CASES=$CASES"
N=$(($(echo "$CASES" | wc -w) * RUNS * 2))
k=0
printf "%-8s %14s %14s %8s   (%s runs of %ss, median, port 0 Rx Mpps)\n" case testpmd offloadpmd ratio "$RUNS" "$DUR"
for c in $CASES; do
	: >"$LOGS/$c.testpmd.pps"
	: >"$LOGS/$c.offloadpmd.pps"
	for i in $(seq 1 "$RUNS"); do
		for prog in testpmd offloadpmd; do
			k=$((k + 1))
			progress "$k" "$N" "$prog $c run $i/$RUNS"
			v=$(one "$prog" "$c" "$i")
			echo "$v" >>"$LOGS/$c.$prog.pps"
			csv_row io "$c" "$([ "$prog" = testpmd ] && echo c-reference || echo offloadpmd)" "$i" "$(mpps "$v")" Mpps "$prog"
		done
	done
	t=$(median <"$LOGS/$c.testpmd.pps")
	o=$(median <"$LOGS/$c.offloadpmd.pps")
	summary_row io "$c" c-reference "$RUNS" "$(mpps "$t")" Mpps "" testpmd
	summary_row io "$c" offloadpmd "$RUNS" "$(mpps "$o")" Mpps "$(awk -v t="$t" -v o="$o" 'BEGIN {if (t > 0) printf "%.3f", o / t}')" offloadpmd
	awk -v c="$c" -v t="$t" -v o="$o" -v tr="$(tr '\n' ' ' <"$LOGS/$c.testpmd.pps")" -v orr="$(tr '\n' ' ' <"$LOGS/$c.offloadpmd.pps")" \
		'BEGIN {printf "%-8s %14.2f %14.2f %8.3f   testpmd [%s] offloadpmd [%s]\n", c, t/1e6, o/1e6, (t>0 ? o/t : 0), tr, orr}'
done
results_plot
