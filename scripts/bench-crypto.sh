#!/usr/bin/env bash
# bench-crypto.sh: dpdk-test-crypto-perf against offloadpmd's cryptodev
# engine (package pmd's CryptoBurst, driven by cmd/cryptobench).
#
# The reference is the DPDK anchors' crypto_perf.sh, unchanged, run from a
# copy in a temporary directory (its logs go there, not into the shared
# anchors' logs/): dpdk-test-crypto-perf --ptest throughput, one worker
# lcore (lcore 1), burst 32, AES-128-GCM encrypt (AAD 16, tag 16) or
# AES-128-CBC encrypt + HMAC-SHA-256 generate (key 32, digest 16), buffers
# of 64, 512 and 1500 bytes (CBC: 1504). cryptobench runs the same work
# through pmd.CryptoBurst on lcore 1: per burst it fills 32 jobs (packet,
# session, a fresh IV) and makes one Run, which allocates the ops in bulk,
# copies IV and AAD into them, enqueues, dequeues and frees them. Runs
# alternate (crypto-perf, cryptobench, then cryptobench, crypto-perf, ...)
# so drift in this noisy, shared VM hits both alike.
#
# This is the engine alone: no ESP headers, sequence numbers, padding or
# trailer, no RX or TX. It is an upper bound for the full ESP path that
# issue 7's bar (>= 0.8 of crypto_aesni_gcm at 1500 B) is about;
# scripts/bench-esp.sh measures that whole path against the same reference.
#
# Cases (CASES, PMD:ALG words): crypto_aesni_gcm:gcm crypto_aesni_mb:gcm
# crypto_aesni_mb:cbc crypto_openssl:gcm crypto_openssl:cbc.
# Environment: RUNS (default 5), TOTAL_OPS (ops per buffer size and run,
# default 4000000; crypto_openssl cases use OPENSSL_OPS, default 1000000),
# ANCHORS (default ../shared/anchors), BENCH_RESULTS (default results/),
# PLOT (default 1; 0: no chart).
# Prints per case and size the median Gbps of each program and the ratio,
# by the wall clock (what both programs report) and "on-CPU": each run's
# figure divided by its worker thread's share of the CPU while it ran
# (crypto-perf's worker measured with perf stat -t, cryptobench's with its
# thread CPU clock), which takes out most of what other processes on this
# shared 2-CPU VM cost, though not their cache pollution. Raw logs go to
# scripts/bench-logs/crypto/,
# every run's figure to $BENCH_RESULTS/bench-crypto.csv, the medians and
# ratios to bench-crypto-summary.csv and cmd/benchplot's chart to
# bench-crypto.png (see scripts/bench-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
TOTAL_OPS=${TOTAL_OPS:-4000000}
OPENSSL_OPS=${OPENSSL_OPS:-1000000}
CASES=${CASES:-"crypto_aesni_gcm:gcm crypto_aesni_mb:gcm crypto_aesni_mb:cbc crypto_openssl:gcm crypto_openssl:cbc"}
ANCHORS=${ANCHORS:-../shared/anchors}
LOGS=scripts/bench-logs/crypto
mkdir -p "$LOGS"
. scripts/bench-lib.sh

die() {
	echo "bench-crypto: $*" >&2
	exit 1
}
command -v dpdk-test-crypto-perf >/dev/null || die "dpdk-test-crypto-perf not found (Debian's dpdk package; scripts/install-deps.sh)"
[ -f "$ANCHORS/crypto_perf.sh" ] && [ -f "$ANCHORS/lib.sh" ] || die "$ANCHORS/crypto_perf.sh or lib.sh not found (ANCHORS=...)"
TMP=$(mktemp -d /tmp/bench-crypto.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cp "$ANCHORS/crypto_perf.sh" "$ANCHORS/lib.sh" "$TMP/"
CRYPTOBENCH=$TMP/cryptobench
"$GO" build -o "$CRYPTOBENCH" ./cmd/cryptobench || die "cannot build cmd/cryptobench"

ops_for() { case $1 in crypto_openssl) echo "$OPENSSL_OPS" ;; *) echo "$TOTAL_OPS" ;; esac; }


# reference PMD ALG RUN: one crypto_perf.sh run, with its worker thread's
# CPU time; prints "size gbps wall_s" lines, then "cpu cpu_s".
reference() {
	local pmd=$1 alg=$2 i=$3 t=crypto_${1}_$2 ops
	ops=$(ops_for "$pmd")
	worker_cpu "^dpdk-test-crypto-perf .*--file-prefix=anc_${t}_" "$TMP/ref.cpu" &
	local w=$!
	RUNS=1 TOTAL_OPS=$ops "$TMP/crypto_perf.sh" "$pmd" "$alg" >"$LOGS/$pmd.$alg.ref.run$i.out" 2>&1 || true
	wait "$w" || true
	cp "$TMP/logs/$t.run1.log" "$LOGS/$pmd.$alg.ref.run$i.log" 2>/dev/null || true
	# csv: lcore,bufsz,burst,enq,deq,failenq,faildeq,Mops,Gbps,cycles/buf
	[ -f "$TMP/logs/$t.csv" ] && awk -F, -v ops="$ops" '$8 > 0 {print $2+0, $9+0, ops / ($8 * 1e6)}' "$TMP/logs/$t.csv"
	echo "cpu $(awk '{print $1 / 1000}' "$TMP/ref.cpu")"
}

# ours PMD ALG RUN: one cryptobench run; prints "size gbps wall_s" lines,
# then "cpu cpu_s" (its lcore thread's CPU time in the timed loops).
ours() {
	local pmd=$1 alg=$2 i=$3 prefix=opmdbench_crypto_$$_$i log=$LOGS/$1.$2.cryptobench.run$i.log
	timeout 300 "$CRYPTOBENCH" -l 0-1 --no-huge -m 1024 --no-pci --file-prefix="$prefix" -- \
		--devtype "$pmd" --alg "$alg" --total-ops "$(ops_for "$pmd")" >"$log" 2>&1 || true
	rm -rf "/var/run/dpdk/$prefix"
	awk -F, '/^[0-9]+,/ {g[$2+0]=$9+0; o[++n]=$2+0}
		/^cryptobench: buf=/ {match($0, /buf=[0-9]+/); s=substr($0, RSTART+4, RLENGTH-4)+0
			match($0, /wall [0-9.]+/); w[s]=substr($0, RSTART+5, RLENGTH-5)+0
			match($0, /on-CPU [0-9.]+/); cpu+=substr($0, RSTART+7, RLENGTH-7)}
		END {for (k=1; k<=n; k++) print o[k], g[o[k]], w[o[k]]+0; print "cpu", cpu+0}' "$log"
}

# record PROGRAM PMD ALG RUN: reads a reference or ours output on stdin,
# writes each size's wall-clock Gbps to the CSV and the .fig files, and
# its on-CPU Gbps, the wall-clock figure scaled by the run's CPU share
# (worker CPU time over the timed loops' wall time, all sizes together:
# crypto-perf's per-size split is not known), to the .cpu files.
record() {
	local prog=$1 pmd=$2 alg=$3 i=$4 in tool name
	in=$(cat)
	if [ "$prog" = ref ]; then tool=dpdk-test-crypto-perf name=c-reference; else tool=cryptobench name=offloadpmd-engine; fi
	echo "$in" | awk -v pre="$LOGS/$pmd.$alg." -v prog="$prog" '
		$1 == "cpu" {cpu = $2; next}
		NF == 3 {sz[++n] = $1; g[n] = $2; wall += $3}
		END {
			share = (wall > 0 && cpu > 0) ? cpu / wall : 0
			for (k = 1; k <= n; k++) {
				print g[k] >> (pre sz[k] "." prog ".fig")
				print (share > 0 ? g[k] / share : 0) >> (pre sz[k] "." prog ".cpu")
			}
		}'
	echo "$in" | awk 'NF == 3 {print $1, $2}' | while read -r sz g; do
		csv_row crypto "$alg-${pmd#crypto_}-$sz" "$name" "$i" "$g" Gbps "$tool"
	done
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# med FILE: the median of FILE's numbers, 0 if it has none.
med() { if [ -f "$1" ]; then median <"$1"; else echo 0; fi; }

# ratio A B: A / B to 3 places, empty if B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b}'; }

results_init bench-crypto "RUNS=$RUNS TOTAL_OPS=$TOTAL_OPS OPENSSL_OPS=$OPENSSL_OPS burst 32, one worker lcore; cryptobench = the engine alone (no ESP framing)"
N=$(($(echo "$CASES" | wc -w) * RUNS * 2))
k=0
: >"$LOGS/summary.txt"
for c in $CASES; do
	pmd=${c%%:*}
	alg=${c#*:}
	rm -f "$LOGS/$pmd.$alg".*.fig "$LOGS/$pmd.$alg".*.cpu
	for i in $(seq 1 "$RUNS"); do
		order="ref ours"
		[ $((i % 2)) = 0 ] && order="ours ref"
		for prog in $order; do
			k=$((k + 1))
			progress "$k" "$N" "$([ $prog = ref ] && echo crypto_perf.sh || echo cryptobench) $pmd $alg run $i/$RUNS"
			if [ "$prog" = ref ]; then
				reference "$pmd" "$alg" "$i" | record ref "$pmd" "$alg" "$i"
			else
				ours "$pmd" "$alg" "$i" | record ours "$pmd" "$alg" "$i"
			fi
		done
	done
done

printf "\n%-22s %11s %11s %7s %11s %11s %7s\n" case crypto-perf engine ratio crypto-perf engine ratio
printf "%-22s %31s %31s\n" "" "wall clock, median Gbps" "on-CPU, median Gbps"
for c in $CASES; do
	pmd=${c%%:*}
	alg=${c#*:}
	for sz in $(ls "$LOGS/$pmd.$alg".*.ref.fig 2>/dev/null | sed 's/\.ref\.fig$//; s/.*\.//' | sort -n); do
		f=$LOGS/$pmd.$alg.$sz
		r=$(med "$f.ref.fig")
		o=$(med "$f.ours.fig")
		rc=$(med "$f.ref.cpu")
		oc=$(med "$f.ours.cpu")
		summary_row crypto "$alg-${pmd#crypto_}-$sz" c-reference "$RUNS" "$r" Gbps "" dpdk-test-crypto-perf
		summary_row crypto "$alg-${pmd#crypto_}-$sz" offloadpmd-engine "$RUNS" "$o" Gbps "$(ratio "$o" "$r")" cryptobench
		printf "%-22s %11.2f %11.2f %7s %11.2f %11.2f %7s\n" "$alg-${pmd#crypto_}-$sz" "$r" "$o" "$(ratio "$o" "$r")" "$rc" "$oc" "$(ratio "$oc" "$rc")"
		echo "$alg-${pmd#crypto_}-$sz runs: crypto-perf [$(tr '\n' ' ' <"$f.ref.fig" | sed 's/ $//')] engine [$(tr '\n' ' ' <"$f.ours.fig" 2>/dev/null | sed 's/ $//')]" >>"$LOGS/summary.txt"
	done
done
echo "(on-CPU: each run's wall-clock figure divided by its worker thread's share of the CPU during the timed loops; 0 where perf was missing; per-run figures in $LOGS/summary.txt and *.fig, *.cpu)"
results_plot
