#!/usr/bin/env bash
# bench-classify.sh: offloadpmd's classifier against DPDK's librte_acl
# (dpdk-test-acl), and the whole forwarding path with 1,000 flow rules
# against dpdk-testpmd io.
#
# Part "lookup": classification Mpps with the ClassBench 5-tuple rule sets
# of the DPDK anchors (acl/gen_acl.py, seed 1: 100, 1,000 and 10,000 rules,
# a trace of 100,000 keys). Both sides classify the same files on one core
# (lcore/CPU 1) in bursts of 256 keys:
#   - dpdk-test-acl -l 1 ... --iter=ITER --alg=ALG for each ALG (scalar,
#     avx2, avx512x32; avx512x32 with --force-max-simd-bitwidth=512, which
#     it refuses without), as the anchors' acl_perf.sh runs it; the figure
#     is its pkt/sec.
#   - offloadpmd: the package benchmark BenchmarkClassBench of
#     offload/classify (compiled once with go test -c), run as
#     taskset -c 1 env GOMAXPROCS=1 cls.test -test.bench 'ClassBench/rules=N$'
#     -test.benchtime BENCHTIME; the figure is 1000 / its ns/key metric (Mpps).
#   Runs alternate: for run i, every ACL method then ours, or ours first on
#   even runs, so drift in this shared VM hits all alike.
# Part "path": 64-byte UDP frames (cmd/pcapgen udp64, 1,024 flows) from a
# net_pcap port (infinite_rx) looped to its own TX (the PMD's tx_drop), one
# forwarding lcore, io forwarding, driven as bench-io.sh drives it (start,
# show port stats all, DUR s, show port stats all: port 0's Rx-pps):
#   - testpmd io;
#   - offloadpmd io (no rules, no offloads): the path without classify;
#   - offloadpmd io with rx classify on the port and PATH_RULES ClassBench
#     rules of the lookup part turned into flow rules (ingress, action
#     count; where the protocol is any, flow patterns cannot name ports, so
#     those rules keep only their addresses) plus, last, a lower-priority
#     rule counting every frame of the traffic, so every packet matches and
#     is counted (the config file's rules section, --config).
#
# Environment: RUNS (default 5), SIZES ("100 1000 10000"), ALGS ("scalar
# avx2 avx512x32"), ITER (dpdk-test-acl iterations of the trace, default
# 200), BENCHTIME (default 100x: runs of the whole trace), PARTS ("lookup
# path"), DUR (path seconds, default 10), PATH_RULES (default 1000),
# OFFLOADPMD (default bin/offloadpmd), ANCHORS (default ../shared/anchors),
# BENCH_RESULTS (default results/), PLOT (default 1; 0: no chart).
# Prints the medians and the ratio of ours to the best ACL method (lookup)
# and to testpmd io (path); raw logs go to scripts/bench-logs/classify/,
# every run's figure to $BENCH_RESULTS/bench-classify.csv, the medians and
# ratios to bench-classify-summary.csv and cmd/benchplot's chart to
# bench-classify.png (see scripts/bench-lib.sh; the chart's reference is
# avx512x32 for the lookup cases and testpmd io for the path).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SIZES=${SIZES:-"100 1000 10000"}
ALGS=${ALGS:-"scalar avx2 avx512x32"}
ITER=${ITER:-200}
BENCHTIME=${BENCHTIME:-100x}
PARTS=${PARTS:-"lookup path"}
DUR=${DUR:-10}
PATH_RULES=${PATH_RULES:-1000}
OFFLOADPMD=${OFFLOADPMD:-bin/offloadpmd}
ANCHORS=${ANCHORS:-../shared/anchors}
LOGS=scripts/bench-logs/classify
ACL=$LOGS/acl
NT=100000
mkdir -p "$LOGS" "$ACL"
. scripts/bench-lib.sh

die() {
	echo "bench-classify: $*" >&2
	exit 1
}
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

command -v dpdk-test-acl >/dev/null || die "dpdk-test-acl not found (Debian's dpdk package; scripts/install-deps.sh)"
[ -f "$ANCHORS/acl/gen_acl.py" ] || die "$ANCHORS/acl/gen_acl.py not found (ANCHORS=...)"
TMP=$(mktemp -d /tmp/bench-classify.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# The ClassBench files, made once (the generator is seeded: the files are
# the ones dpdk-test-acl was measured on in the anchors).
for n in $SIZES $PATH_RULES; do
	[ -f "$ACL/trace_${n}_$NT.txt" ] || python3 "$ANCHORS/acl/gen_acl.py" "$n" "$NT" "$ACL" >/dev/null
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
med() { if [ -s "$1" ]; then median <"$1"; else echo 0; fi; }
mx() { sort -g "$1" 2>/dev/null | tail -1 | awk '{print $1 + 0} END {if (NR == 0) print 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b}'; }
runs_of() { tr '\n' ' ' <"$1" 2>/dev/null | sed 's/ $//'; }

# refname ALG: the program name of an ACL method in the CSVs; avx512x32,
# the anchors' headline method, is the chart's reference (c-reference).
refname() { if [ "$1" = avx512x32 ]; then echo c-reference; else echo "c-reference-$1"; fi; }

# acl N ALG RUN -> Mpps (0 if it failed)
acl() {
	local n=$1 alg=$2 i=$3 prefix=opmdbench_acl_$$_$1_$2_$3 log=$LOGS/acl.$1.$2.run$3.log simd=""
	[ "$alg" = avx512x32 ] && simd=--force-max-simd-bitwidth=512
	# shellcheck disable=SC2086
	timeout 300 dpdk-test-acl -l 1 $simd --no-huge -m 1024 --no-pci --file-prefix="$prefix" -- \
		--rulesf="$ACL/rules_$n.txt" --tracef="$ACL/trace_${n}_$NT.txt" --tracenum=$NT \
		--iter="$ITER" --alg="$alg" --verbose=1 >"$log" 2>&1 || true
	rm -rf "/var/run/dpdk/$prefix"
	grep -o '[0-9.]* pkt/sec' "$log" | tail -1 | awk '{printf "%.3f\n", $1 / 1e6} END {if (NR == 0) print 0}'
}

# ours N RUN -> Mpps (0 if it failed)
ours() {
	local n=$1 i=$2 log=$LOGS/ours.$1.run$2.log
	CLASSIFY_ACL_DIR=$PWD/$ACL taskset -c 1 env GOMAXPROCS=1 "$TMP/cls.test" -test.run XXX \
		-test.bench "ClassBench/rules=$n\$" -test.benchtime "$BENCHTIME" >"$log" 2>&1 || true
	# The benchmark reports ns per key; Mpps is 1000 / that.
	awk '/ns\/key/ {for (k = 1; k < NF; k++) if ($(k+1) == "ns/key") v = $k} END {printf "%.3f\n", (v > 0 ? 1000 / v : 0)}' "$log"
}

# path PROG RUN -> port 0 Rx-pps of the last stats block. PROG: testpmd,
# offloadpmd (io, no rules), classify (io with the rules).
path() {
	local prog=$1 i=$2 bin extra="" prefix=opmdbench_cls_$$_$1_$2 log=$LOGS/path.$1.run$2.log
	case $prog in
	testpmd) bin=dpdk-testpmd ;;
	offloadpmd) bin=$OFFLOADPMD extra="--busy-poll" ;;
	classify) bin=$OFFLOADPMD extra="--busy-poll --config $TMP/rules.yaml" ;;
	esac
	cpu_share "$prefix" 5 "$DUR" "$LOGS/path.$prog.run$i.share" &
	local w=$!
	# shellcheck disable=SC2086
	local more=()
	[ "$prog" = classify ] && more=("show offload stats")
	stats_session 3 "$DUR" "${more[@]}" | timeout $((DUR + 90)) $bin -l 0-1 --no-huge -m 1024 --no-pci --file-prefix="$prefix" \
		--vdev="net_pcap0,rx_pcap=$PCAP,infinite_rx=1" -- \
		-i --no-lsc-interrupt --total-num-mbufs=16384 --forward-mode=io --port-topology=loop $extra >"$log" 2>&1 || true
	wait "$w" || true
	rm -rf "/var/run/dpdk/$prefix"
	awk '/NIC statistics for port/ {p=$(NF-1)+0} /Rx-pps:/ && p==0 {r=$2} END {print r+0}' "$log"
}


# cpu_share PREFIX DELAY SECONDS OUT: after DELAY s, the share of one CPU
# the forwarding lcore's thread (worker-1) of the process run with
# --file-prefix=PREFIX had over the next SECONDS (perf stat task-clock),
# into OUT; 0 when it cannot tell (no perf, no such thread).
cpu_share() {
	local prefix=$1 out=$4 pid tid="" f
	echo 0 >"$out"
	[ -n "$PERF" ] || return 0
	sleep "$2"
	# Go threads started from the lcore's thread inherit its name: take
	# the busiest of the worker-1 threads.
	local t most=-1 used
	for pid in $(pgrep -f -- "--file-prefix=$prefix" || true); do
		for f in /proc/"$pid"/task/*/comm; do
			grep -q 'worker-1$' "$f" 2>/dev/null || continue
			t=${f%/comm}
			used=$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)
			if [ "$used" -gt "$most" ]; then most=$used tid=${t##*/}; fi
		done
	done
	[ -n "$tid" ] || return 0
	"$PERF" stat -x, -e task-clock -t "$tid" -- sleep "$3" 2>&1 >/dev/null |
		awk -F, -v d="$3" '$3 == "task-clock" {printf "%.3f\n", $1 / 1000 / d}' >"$out" || echo 0 >"$out"
}

# flow_rules N: the ClassBench rules of rules_N.txt as flow rules (see
# above), then the rule matching the traffic (10.0.0.0/16 to anywhere, UDP).
flow_rules() {
	awk '
	function pfx(field, s,   a) {
		split(s, a, "/")
		if (a[2] == 0) return ""
		if (a[2] == 32) return " " field " is " a[1]
		return " " field " spec " a[1] " " field " prefix " a[2]
	}
	function rng(field, lo, hi) {
		if (lo == 0 && hi == 65535) return ""
		if (lo == hi) return " " field " is " lo
		return " " field " spec " lo " " field " last " hi
	}
	{
		sub(/^@/, "")
		split($9, pm, "/")
		ip = "ipv4" pfx("src", $1) pfx("dst", $2)
		l4 = ""
		if (pm[1] == "0x06" && pm[2] == "0xff") l4 = " / tcp" rng("src", $3, $5) rng("dst", $6, $8)
		else if (pm[1] == "0x11" && pm[2] == "0xff") l4 = " / udp" rng("src", $3, $5) rng("dst", $6, $8)
		else if (pm[2] != "0x00") ip = ip " proto spec " pm[1] " proto mask " pm[2]
		printf "    - ingress pattern eth / %s%s / end actions count / end\n", ip, l4
	}' "$ACL/rules_$1.txt"
	echo "    - ingress priority 1 pattern eth / ipv4 src spec 10.0.0.0 src prefix 16 / udp / end actions count / end"
}

NLOOK=0
NPATH=0
has_part lookup && NLOOK=$(($(echo "$SIZES" | wc -w) * RUNS * ($(echo "$ALGS" | wc -w) + 1)))
has_part path && NPATH=$((RUNS * 3))
results_init bench-classify "RUNS=$RUNS SIZES=$SIZES ALGS=$ALGS ITER=$ITER BENCHTIME=$BENCHTIME PARTS=$PARTS DUR=$DUR PATH_RULES=$PATH_RULES; one core (CPU 1)"
k=0
N=$((NLOOK + NPATH))

if has_part lookup; then
	"$GO" test -c -o "$TMP/cls.test" ./offload/classify || die "cannot build the classify benchmark"
	for n in $SIZES; do
		for p in $ALGS ours; do : >"$LOGS/lookup.$n.$p.mpps"; done
		for i in $(seq 1 "$RUNS"); do
			order="$ALGS ours"
			[ $((i % 2)) = 0 ] && order="ours $ALGS"
			for p in $order; do
				k=$((k + 1))
				progress "$k" "$N" "$([ "$p" = ours ] && echo "offloadpmd classify" || echo "dpdk-test-acl $p") $n rules, run $i/$RUNS"
				if [ "$p" = ours ]; then
					v=$(ours "$n" "$i")
					csv_row classify "lookup-$n" offloadpmd "$i" "$v" Mpps BenchmarkClassBench
				else
					v=$(acl "$n" "$p" "$i")
					csv_row classify "lookup-$n" "$(refname "$p")" "$i" "$v" Mpps "dpdk-test-acl $p"
				fi
				echo "$v" >>"$LOGS/lookup.$n.$p.mpps"
			done
		done
	done
fi

if has_part path; then
	[ -x "$OFFLOADPMD" ] || die "$OFFLOADPMD not built (make build)"
	command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found"
	PCAP=$PWD/scripts/bench-logs/udp64.pcap
	[ -f "$PCAP" ] || "$GO" run ./cmd/pcapgen -kind udp64 -flows 1024 -o "$PCAP"
	{
		echo "offloads: {rx: [classify]}"
		echo "rules:"
		echo "  0:"
		flow_rules "$PATH_RULES"
	} >"$TMP/rules.yaml"
	cp "$TMP/rules.yaml" "$LOGS/path-rules.yaml"
	for p in testpmd offloadpmd classify; do : >"$LOGS/path.$p.pps"; : >"$LOGS/path.$p.cpu"; : >"$LOGS/path.$p.shares"; done
	for i in $(seq 1 "$RUNS"); do
		order="testpmd offloadpmd classify"
		[ $((i % 2)) = 0 ] && order="classify offloadpmd testpmd"
		for p in $order; do
			k=$((k + 1))
			progress "$k" "$N" "path: $p run $i/$RUNS"
			v=$(path "$p" "$i")
			echo "$v" >>"$LOGS/path.$p.pps"
			sh=$(cat "$LOGS/path.$p.run$i.share" 2>/dev/null || echo 0)
			awk -v v="$v" -v s="$sh" 'BEGIN {if (s > 0) print v / s}' >>"$LOGS/path.$p.cpu" # none when perf could not tell
			echo "$sh" >>"$LOGS/path.$p.shares"
			case $p in
			testpmd) prog=c-reference tool="testpmd io" ;;
			offloadpmd) prog=offloadpmd-io tool="offloadpmd io" ;;
			classify) prog=offloadpmd tool="offloadpmd io + classify $PATH_RULES rules" ;;
			esac
			csv_row classify path-64B "$prog" "$i" "$(awk -v v="$v" 'BEGIN {printf "%.4f", v / 1e6}')" Mpps "$tool"
		done
	done
fi

if has_part lookup; then
	printf "\nClassification, ClassBench 5-tuple rules, trace of %d keys, one core; median Mpps of %d runs\n" "$NT" "$RUNS"
	printf "%-7s" rules
	for a in $ALGS; do printf " %10s" "$a"; done
	printf " %10s %8s %8s\n" offloadpmd best ratio
	for n in $SIZES; do
		best=0 bestalg=""
		printf "%-7s" "$n"
		for a in $ALGS; do
			m=$(med "$LOGS/lookup.$n.$a.mpps")
			summary_row classify "lookup-$n" "$(refname "$a")" "$RUNS" "$m" Mpps "" "dpdk-test-acl $a"
			printf " %10.2f" "$m"
			if awk -v m="$m" -v b="$best" 'BEGIN {exit !(m > b)}'; then best=$m bestalg=$a; fi
		done
		o=$(med "$LOGS/lookup.$n.ours.mpps")
		summary_row classify "lookup-$n" offloadpmd "$RUNS" "$o" Mpps "$(ratio "$o" "$best")" "BenchmarkClassBench (ratio to $bestalg)"
		printf " %10.2f %8s %8s\n" "$o" "$bestalg" "$(ratio "$o" "$best")"
	done
	printf "best run of each (the least disturbed in this shared VM):\n"
	for n in $SIZES; do
		best=0
		printf "%-7s" "$n"
		for a in $ALGS; do
			m=$(mx "$LOGS/lookup.$n.$a.mpps")
			printf " %10.2f" "$m"
			best=$(awk -v m="$m" -v b="$best" 'BEGIN {print (m > b ? m : b)}')
		done
		o=$(mx "$LOGS/lookup.$n.ours.mpps")
		printf " %10.2f %8s %8s\n" "$o" "" "$(ratio "$o" "$best")"
	done
	for n in $SIZES; do
		printf "  %s rules runs:" "$n"
		for p in $ALGS ours; do printf " %s [%s]" "$p" "$(runs_of "$LOGS/lookup.$n.$p.mpps")"; done
		printf "\n"
	done
fi

if has_part path; then
	t=$(med "$LOGS/path.testpmd.pps")
	o=$(med "$LOGS/path.offloadpmd.pps")
	c=$(med "$LOGS/path.classify.pps")
	summary_row classify path-64B c-reference "$RUNS" "$(awk -v v="$t" 'BEGIN {printf "%.4f", v / 1e6}')" Mpps "" "testpmd io"
	summary_row classify path-64B offloadpmd-io "$RUNS" "$(awk -v v="$o" 'BEGIN {printf "%.4f", v / 1e6}')" Mpps "$(ratio "$o" "$t")" "offloadpmd io"
	summary_row classify path-64B offloadpmd "$RUNS" "$(awk -v v="$c" 'BEGIN {printf "%.4f", v / 1e6}')" Mpps "$(ratio "$c" "$t")" "offloadpmd io + classify $PATH_RULES rules"
	printf "\nWhole path, 64-byte UDP, net_pcap loop, one forwarding lcore; median port 0 Rx Mpps of %d runs of %ss\n" "$RUNS" "$DUR"
	printf "  testpmd io %.2f, offloadpmd io %.2f (ratio %s), offloadpmd io + classify %d rules %.2f (ratio %s; %.1f ns a packet over io)\n" \
		"$(awk -v v="$t" 'BEGIN {print v / 1e6}')" "$(awk -v v="$o" 'BEGIN {print v / 1e6}')" "$(ratio "$o" "$t")" "$PATH_RULES" \
		"$(awk -v v="$c" 'BEGIN {print v / 1e6}')" "$(ratio "$c" "$t")" "$(awk -v o="$o" -v c="$c" 'BEGIN {if (o > 0 && c > 0) print 1e9 / c - 1e9 / o; else print 0}')"
	printf "  runs: testpmd [%s] offloadpmd [%s] classify [%s]\n" "$(runs_of "$LOGS/path.testpmd.pps")" "$(runs_of "$LOGS/path.offloadpmd.pps")" "$(runs_of "$LOGS/path.classify.pps")"
	tc=$(med "$LOGS/path.testpmd.cpu")
	oc=$(med "$LOGS/path.offloadpmd.cpu")
	cc=$(med "$LOGS/path.classify.cpu")
	printf "  on-CPU (each run divided by its lcore thread's CPU share over the window, perf stat): testpmd io %.2f, offloadpmd io %.2f (ratio %s), + classify %.2f (ratio %s; %.1f ns a packet over io)\n" \
		"$(awk -v v="$tc" 'BEGIN {print v / 1e6}')" "$(awk -v v="$oc" 'BEGIN {print v / 1e6}')" "$(ratio "$oc" "$tc")" \
		"$(awk -v v="$cc" 'BEGIN {print v / 1e6}')" "$(ratio "$cc" "$tc")" "$(awk -v o="$oc" -v c="$cc" 'BEGIN {if (o > 0 && c > 0) print 1e9 / c - 1e9 / o; else print 0}')"
	printf "  CPU shares: testpmd [%s] offloadpmd [%s] classify [%s]\n" "$(runs_of "$LOGS/path.testpmd.shares")" "$(runs_of "$LOGS/path.offloadpmd.shares")" "$(runs_of "$LOGS/path.classify.shares")"
fi
results_plot -ref c-reference
