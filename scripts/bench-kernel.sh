#!/usr/bin/env bash
# bench-kernel.sh: iperf3 TCP, one stream, namespace A -> namespace B.
#
#   veth  a veth pair joins A and B directly: the kernel's own path, the
#         reference
#   sw    through offloadpmd (io engine, two vnet-hdr TAP ports), the
#         kernels offered checksum and TSO, offloadpmd doing TSO and the
#         checksums in software (--sw-tx): every super-frame segmented
#   gso   the same, the requests left to the egress kernel: super-frames
#         go from one kernel to the other as GSO frames
#   off   the same, nothing offered: the kernels segment and sum
#
# RUNS (default 3) runs of DUR seconds (default 10) each, in rotation
# (veth sw gso off, veth sw gso off, ...), so drift hits every mode alike.
# For each mode: the median receiver throughput, and the kernel's CPU
# seconds (user excluded: system, irq and softirq time of every CPU, from
# /proc/stat) per GB received. offloadpmd's own lcore busy-polls in user
# space; its readv/writev are kernel time and count. Bar: gso >= 0.5 x veth.
# Progress lines go to stderr; every run's two figures to
# $BENCH_RESULTS/bench-kernel.csv (default results/; case tcp-throughput in
# Gbit/s and tcp-kernel-cpu in kernel s/GB, program kernel-veth or
# offloadpmd-MODE), the medians and ratios to veth to
# bench-kernel-summary.csv, and cmd/benchplot's chart to bench-kernel.png
# (PLOT=0: none; see scripts/bench-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DUR=${DUR:-10}
MODES=${MODES:-veth sw gso off}
BIN=${OFFLOADPMD:-bin/offloadpmd}
NS_A=opmdk-a NS_B=opmdk-b ADDR_A=10.78.0.1 ADDR_B=10.78.0.2
LOGS=scripts/bench-logs/kernel
mkdir -p "$LOGS"
. scripts/bench-lib.sh

die() { echo "bench-kernel: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
for c in ip iperf3; do command -v $c >/dev/null || die "$c not found: scripts/install-deps.sh"; done
[ -x "$BIN" ] || die "$BIN not built: make build"

PMD_PID=
cleanup() {
	[ -n "$PMD_PID" ] && kill "$PMD_PID" 2>/dev/null && wait "$PMD_PID" 2>/dev/null
	PMD_PID=
	ip netns pids "$NS_B" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	rm -rf /var/run/dpdk/opmd_bk_*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# kernel_ticks: system + irq + softirq ticks of all CPUs.
kernel_ticks() { awk '/^cpu / {print $4 + $7 + $8}' /proc/stat; }

wait_if() {
	for _ in $(seq 100); do
		ip -n "$1" link show "$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "$2 did not appear in $1"
}

# setup MODE: namespaces, and the path between them.
setup() {
	cleanup
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	local a=ka b=kb
	if [ "$1" = veth ]; then
		ip link add "$a" netns "$NS_A" type veth peer name "$b" netns "$NS_B"
	else
		local offer=csum+tso4+tso6 sw=()
		[ "$1" = off ] && offer=none
		[ "$1" = sw ] && sw=(--sw-tx=tcp_tso,tcp_tso6,tcp_cksum,udp_cksum)
		"$BIN" -l 0-1 --no-huge -m 512 --no-pci --file-prefix=opmd_bk_$$ -- --forward-mode=io --total-num-mbufs=8192 \
			--busy-poll "--tap=$a,netns=$NS_A,offload=$offer" "--tap=$b,netns=$NS_B,offload=$offer" "${sw[@]}" \
			--run-time=$((DUR + 30)) >"$LOGS/offloadpmd.$1.log" 2>&1 &
		PMD_PID=$!
		wait_if "$NS_A" "$a"
		wait_if "$NS_B" "$b"
	fi
	ip -n "$NS_A" addr add "$ADDR_A/24" dev "$a"
	ip -n "$NS_B" addr add "$ADDR_B/24" dev "$b"
	for x in "$NS_A $a" "$NS_B $b"; do
		set -- $x
		ip -n "$1" link set lo up
		ip -n "$1" link set "$2" up
	done
	ip netns exec "$NS_B" iperf3 -s -D -B "$ADDR_B"
	sleep 1
}

# one MODE RUN: prints "Mbit/s kernel-seconds GB"
one() {
	setup "$1"
	local t0 t1 hz out mbps gb
	hz=$(getconf CLK_TCK)
	t0=$(kernel_ticks)
	out=$(ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -t "$DUR" -f m 2>&1) || { echo "$out" >"$LOGS/$1.run$2.err"; echo "0 0 0"; cleanup; return; }
	t1=$(kernel_ticks)
	echo "$out" >"$LOGS/$1.run$2.log"
	mbps=$(echo "$out" | awk '/receiver/ {print $(NF-2)}')
	gb=$(echo "$out" | awk '/receiver/ {v=$5; u=$6; if (u=="GBytes") print v*1.073741824; else if (u=="MBytes") print v*0.001048576; else print 0}')
	cleanup
	awk -v m="$mbps" -v k="$(((t1 - t0)))" -v hz="$hz" -v g="$gb" 'BEGIN {printf "%s %.3f %s\n", m, k/hz, g}'
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# program MODE: the results CSV's name for it
program() { if [ "$1" = veth ]; then echo kernel-veth; else echo "offloadpmd-$1"; fi; }

results_init bench-kernel "RUNS=$RUNS DUR=$DUR MODES=$MODES"
N=$((RUNS * $(echo "$MODES" | wc -w)))
k=0
for m in $MODES; do : >"$LOGS/$m.runs"; done
for ((i = 1; i <= RUNS; i++)); do
	for m in $MODES; do
		k=$((k + 1))
		progress "$k" "$N" "iperf3 $m run $i/$RUNS"
		r=$(one "$m" "$i")
		echo "$r" >>"$LOGS/$m.runs"
		echo "$r" | awk -v m="$m" -v p="$(program "$m")" -v i="$i" '{
			printf "kernel,tcp-throughput,%s,%s,%.4f,Gbit/s,iperf3 %s\n", p, i, $1 / 1000, m
			if ($3 > 0) printf "kernel,tcp-kernel-cpu,%s,%s,%.4f,kernel s/GB,iperf3 %s\n", p, i, $2 / $3, m
		}' >>"$RES_CSV"
		echo "  run $i $m: $r (Mbit/s, kernel CPU s, GB)" >&2
	done
done
echo
printf "%-5s %-58s %12s %14s %8s\n" mode what "Gbit/s med" "kernel s/GB" "vs veth"
ref=$(awk '{print $1}' "$LOGS/veth.runs" 2>/dev/null | median)
sref=$(awk '$3 > 0 {print $2/$3}' "$LOGS/veth.runs" 2>/dev/null | median)
# ratio A B: A / B for the summary, none for veth itself or without veth
ratio() { [ "$m" = veth ] || awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b}'; }
for m in $MODES; do
	case $m in
	veth) what="veth pair, the kernel's own path" ;;
	sw) what="offloadpmd, TSO and checksums in its software" ;;
	gso) what="offloadpmd, GSO super-frames passed between kernels" ;;
	off) what="offloadpmd, offloads off (the kernels segment)" ;;
	esac
	g=$(awk '{print $1}' "$LOGS/$m.runs" | median)
	s=$(awk '$3 > 0 {print $2/$3}' "$LOGS/$m.runs" | median)
	summary_row kernel tcp-throughput "$(program "$m")" "$RUNS" "$(awk -v g="$g" 'BEGIN {printf "%.4f", g / 1000}')" Gbit/s "$(ratio "$g" "$ref")" "iperf3 $m"
	summary_row kernel tcp-kernel-cpu "$(program "$m")" "$(awk '$3 > 0' "$LOGS/$m.runs" | wc -l)" "$(awk -v s="$s" 'BEGIN {printf "%.4f", s}')" "kernel s/GB" "$(ratio "$s" "$sref")" "iperf3 $m"
	awk -v m="$m" -v w="$what" -v g="$g" -v s="$s" -v r="$ref" \
		'BEGIN {printf "%-5s %-58s %12.2f %14.3f %8s\n", m, w, g/1000, s, (r > 0 ? sprintf("%.2f", g/r) : "-")}'
done
echo
echo "runs: $(for m in $MODES; do echo -n "$m [$(awk '{printf "%.2f ", $1/1000}' "$LOGS/$m.runs")] "; done)"
echo "bar: gso >= 0.5 x veth; logs: $LOGS/"
results_plot
