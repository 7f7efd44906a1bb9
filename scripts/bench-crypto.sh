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
# issue 7's bar (>= 0.8 of crypto_aesni_gcm at 1500 B) is about.
#
# Cases (CASES, PMD:ALG words): crypto_aesni_gcm:gcm crypto_aesni_mb:gcm
# crypto_aesni_mb:cbc crypto_openssl:gcm crypto_openssl:cbc.
# Environment: RUNS (default 5), TOTAL_OPS (ops per buffer size and run,
# default 4000000; crypto_openssl cases use OPENSSL_OPS, default 1000000),
# ANCHORS (default ../shared/anchors), BENCH_RESULTS (default results/),
# PLOT (default 1; 0: no chart).
# Prints per case and size the median Gbps of each program and the ratio,
# and cryptobench's on-CPU Gbps (its lcore thread's CPU time: what it would
# do with the CPU to itself); raw logs go to scripts/bench-logs/crypto/,
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

# reference PMD ALG RUN: one crypto_perf.sh run; prints "size gbps" lines.
reference() {
	local pmd=$1 alg=$2 i=$3 t=crypto_${1}_$2
	RUNS=1 TOTAL_OPS=$(ops_for "$pmd") "$TMP/crypto_perf.sh" "$pmd" "$alg" >"$LOGS/$pmd.$alg.ref.run$i.out" 2>&1 || true
	cp "$TMP/logs/$t.run1.log" "$LOGS/$pmd.$alg.ref.run$i.log" 2>/dev/null || true
	[ -f "$TMP/logs/$t.csv" ] && awk -F, '{print $2+0, $9+0}' "$TMP/logs/$t.csv"
	return 0
}

# ours PMD ALG RUN: one cryptobench run; prints "size gbps cpu_gbps" lines.
ours() {
	local pmd=$1 alg=$2 i=$3 prefix=opmdbench_crypto_$$_$i log=$LOGS/$1.$2.cryptobench.run$i.log
	timeout 300 "$CRYPTOBENCH" -l 0-1 --no-huge -m 1024 --no-pci --file-prefix="$prefix" -- \
		--devtype "$pmd" --alg "$alg" --total-ops "$(ops_for "$pmd")" >"$log" 2>&1 || true
	rm -rf "/var/run/dpdk/$prefix"
	awk -F, '/^[0-9]+,/ {g[$2+0]=$9+0; o[++n]=$2+0}
		/^cryptobench: buf=/ {match($0, /buf=[0-9]+/); s=substr($0, RSTART+4, RLENGTH-4)+0
			x=$0; sub(/ Gbps by CPU time.*/, "", x); sub(/.*, /, "", x); c[s]=x+0}
		END {for (k=1; k<=n; k++) print o[k], g[o[k]], (o[k] in c ? c[o[k]] : 0)}' "$log"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# med FILE: the median of FILE's numbers, 0 if it has none.
med() { if [ -f "$1" ]; then median <"$1"; else echo 0; fi; }

results_init bench-crypto "RUNS=$RUNS TOTAL_OPS=$TOTAL_OPS OPENSSL_OPS=$OPENSSL_OPS burst 32, one worker lcore; cryptobench = the engine alone (no ESP framing)"
N=$(($(echo "$CASES" | wc -w) * RUNS * 2))
k=0
for c in $CASES; do
	pmd=${c%%:*}
	alg=${c#*:}
	rm -f "$LOGS/$pmd.$alg".*.fig
	for i in $(seq 1 "$RUNS"); do
		order="ref ours"
		[ $((i % 2)) = 0 ] && order="ours ref"
		for prog in $order; do
			k=$((k + 1))
			progress "$k" "$N" "$([ $prog = ref ] && echo crypto_perf.sh || echo cryptobench) $pmd $alg run $i/$RUNS"
			if [ "$prog" = ref ]; then
				reference "$pmd" "$alg" "$i" | while read -r sz g; do
					echo "$g" >>"$LOGS/$pmd.$alg.$sz.ref.fig"
					csv_row crypto "$alg-${pmd#crypto_}-$sz" c-reference "$i" "$g" Gbps dpdk-test-crypto-perf
				done
			else
				ours "$pmd" "$alg" "$i" | while read -r sz g cg; do
					echo "$g" >>"$LOGS/$pmd.$alg.$sz.ours.fig"
					echo "$cg" >>"$LOGS/$pmd.$alg.$sz.cpu.fig"
					csv_row crypto "$alg-${pmd#crypto_}-$sz" offloadpmd-engine "$i" "$g" Gbps cryptobench
				done
			fi
		done
	done
done

printf "\n%-28s %10s %10s %7s %12s   (%s runs, median Gbps; on-CPU = cryptobench by its thread's CPU time)\n" \
	case crypto-perf engine ratio engine-onCPU "$RUNS"
for c in $CASES; do
	pmd=${c%%:*}
	alg=${c#*:}
	for sz in $(ls "$LOGS/$pmd.$alg".*.ref.fig 2>/dev/null | sed 's/\.ref\.fig$//; s/.*\.//' | sort -n); do
		f=$LOGS/$pmd.$alg.$sz
		r=$(med "$f.ref.fig")
		o=$(med "$f.ours.fig")
		cpu=$(med "$f.cpu.fig")
		ratio=$(awk -v r="$r" -v o="$o" 'BEGIN {if (r > 0) printf "%.3f", o / r}')
		summary_row crypto "$alg-${pmd#crypto_}-$sz" c-reference "$RUNS" "$r" Gbps "" dpdk-test-crypto-perf
		summary_row crypto "$alg-${pmd#crypto_}-$sz" offloadpmd-engine "$RUNS" "$o" Gbps "$ratio" cryptobench
		printf "%-28s %10.2f %10.2f %7s %12.2f   crypto-perf [%s] engine [%s]\n" "$alg-${pmd#crypto_}-$sz" "$r" "$o" "$ratio" "$cpu" \
			"$(tr '\n' ' ' <"$f.ref.fig" | sed 's/ $//')" "$(tr '\n' ' ' <"$f.ours.fig" 2>/dev/null | sed 's/ $//')"
	done
done
results_plot
