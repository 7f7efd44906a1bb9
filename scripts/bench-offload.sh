#!/usr/bin/env bash
# bench-offload.sh: the software offloads, C reference against offloadpmd.
#
# Each row runs a C reference and offloadpmd alternately (C first in odd
# rounds, offloadpmd first in even ones, so drift in this noisy VM hits both
# alike), RUNS times each, on the same net_pcap infinite_rx source and the
# same pcap, one forwarding lcore (lcore 1), no hugepages, and prints each
# program's median, the ratio offloadpmd/C and whether it meets the bar.
#
# The C references:
#   testpmd   dpdk-testpmd, driven exactly as the DPDK anchors
#             (/work/shared/anchors/tp_*.sh) drive it: --disable-device-start,
#             the `csum set ...` lines, `port start all`, the GSO lines,
#             then start, 2 s, `show port stats all`, DUR s, `show port stats
#             all`, stop, quit. The figure is port 0's Rx-pps or Tx-pps from
#             the last block ("Throughput (since last show)" over DUR s).
#   gro_bench the anchors' librte_gro harness (anchors/gro/gro_bench.c),
#             compiled at run time into a temporary directory (never into
#             the repository), run for DUR s on lcore 1; the figure is its
#             in_Mpps. testpmd's GRO does nothing on net_pcap (the PMD sets
#             no packet_type), which is why the anchors measured librte_gro
#             through this harness.
# The harness rows (gro-harness, gro-noverify-harness) replace offloadpmd by
# grobench (cmd/grobench), gro_bench's Go twin: the same per-burst work
# (bulk alloc of 32 mbufs, copy from the pcap in memory, header parse,
# optional software checksum checks, GRO with everything flushed at the end
# of the burst, bulk free) with offloadpmd's GRO engine in place of
# librte_gro, the same command line and output line; built with go build
# into the temporary directory at the start, like gro_bench. Both get -l 1
# --no-huge -m 2048 --no-pci and a file prefix of their own.
# offloadpmd gets the same EAL arguments, vdev, application options and
# interactive commands, except --disable-device-start and `port start all`:
# offloadpmd has no `port start|stop` command, and needs neither, since its
# software offload settings apply to a started port. It runs --busy-poll,
# as in bench-io.sh. The figure is parsed from its `show port stats all`
# the same way as testpmd's.
#
# Rows (C figure measured by the anchors on this VM; bar on offloadpmd/C):
#   csum-tcp1514  csum engine, sw IPv4+TCP checksums, 1514-byte TCP, Rx Mpps
#                 testpmd csum, 4.03 Mpps; bar >= 1.5
#   csum-udp64    csum engine, sw IPv4+UDP checksums, 64-byte UDP, Rx Mpps
#                 testpmd csum, 29.1 Mpps; bar >= 1.0
#   tso32k        32 KiB TCP/IPv4 -> 1448-byte segments, Tx M seg/s
#                 testpmd csum + GSO segsz 1502, 2.36 M seg/s; bar >= 2.0
#                 (testpmd's segments carry wrong TCP checksums, see VERIFY)
#   gro           TCP/IPv4 GRO, 64 flows x 64 in-order 1448-byte segments in
#                 runs of 32, checksums verified, input Mpps
#                 gro_bench grocsum, 3.94 Mpps; bar >= 2.0
#                 offloadpmd: io engine, `set gro flush 1` (testpmd's
#                 default and the anchors' tp_gro.sh setting: 10 us of
#                 holding here, against gro_bench's flush per burst) and
#                 `set port 0 gro on`
#   gro-noverify  the same without verification: gro_bench gro, 16.8 Mpps;
#                 bar >= 1.0; offloadpmd adds --gro-no-verify
#   gro-harness   the GRO engines alone: gro_bench grocsum against grobench
#                 grocsum, same pcap, input Mpps; 3.94 Mpps; bar >= 2.0
#   gro-noverify-harness
#                 the same unverified: gro_bench gro against grobench gro
#                 (GRO trusts every segment, as --gro-no-verify); 16.8 Mpps;
#                 bar >= 1.0
#   floor         plain io forwarding of the GRO pcap through net_pcap,
#                 testpmd io against offloadpmd io (no GRO), Rx Mpps; no bar
#   Why the harness rows: the gro and gro-noverify rows compare offloadpmd
#   on a net_pcap port with gro_bench, which uses no ethdev at all. net_pcap
#   infinite_rx costs more per packet than gro_bench's loop (testpmd's io
#   forwarding of this pcap tops out near 10.8 Mpps, below gro_bench's
#   16.8 Mpps with GRO), so offloadpmd's vdev figure sits on an I/O floor
#   (the floor row) that the C figure does not pay, and those rows cannot
#   compare the two GRO engines like for like. The harness rows can: both
#   programs do the same work per burst, in one process, on one lcore.
# offloadpmd only (testpmd 22.11 cannot):
#   tso6-32k      32 KiB TCP/IPv6 -> 1440-byte segments (set gso segsz 1514:
#                 1448 would make 1508-byte IPv6 packets, over the 1500 MTU)
#   uso32k        32 KiB UDP/IPv4 -> 1472-byte UDP datagrams (uso set 1472 0)
#   udpgro        UDP/IPv4 GRO, 64 flows x 64 1472-byte datagrams, runs of 32
#
# VERIFY=1 (default) also checks, once, what the segmenting and merging rows
# emit: the row's program reads its pcap once (no infinite_rx, --no-flush-rx)
# and writes to tx_pcap, and tshark counts good and bad IPv4/TCP/UDP
# checksums (offloadpmd for every such row, testpmd for tso32k).
# PROFILE=1 adds one more run of each program per row with `perf record -C 1
# -e cpu-clock` over the measured window and keeps `perf report` (the top
# symbols) in the logs.
#
# Environment: RUNS (default 5; 0: only VERIFY and PROFILE), DUR (seconds,
# default 10), ROWS (default all, in the order above), OFFLOADPMD (default
# bin/offloadpmd), OFFLOADPMD_ARGS (extra offloadpmd options), ANCHORS
# (default /work/shared/anchors), VERIFY, PROFILE, BENCH_RESULTS (default
# results/), PLOT (default 1; 0: no chart).
# Pcaps (cmd/pcapgen) and raw logs go to scripts/bench-logs/offload/.
# Progress lines go to stderr. Every run's figure (the row's column, in
# the unit R_WHAT ends with) goes to $BENCH_RESULTS/bench-offload.csv as
# program c-reference or offloadpmd (grobench on the harness rows: the
# tool column says which), the medians and ratios of the table to
# bench-offload-summary.csv, and cmd/benchplot's chart to bench-offload.png
# (see scripts/bench-lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DUR=${DUR:-10}
ALL_ROWS="csum-tcp1514 csum-udp64 tso32k gro gro-noverify gro-harness gro-noverify-harness floor tso6-32k uso32k udpgro"
ROWS=${ROWS:-$ALL_ROWS}
OFFLOADPMD=${OFFLOADPMD:-bin/offloadpmd}
ANCHORS=${ANCHORS:-/work/shared/anchors}
VERIFY=${VERIFY:-1}
PROFILE=${PROFILE:-0}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
LOGS=scripts/bench-logs/offload
PFX=opmdoff_$$ # every EAL file prefix of this run starts with it
mkdir -p "$LOGS"
. scripts/bench-lib.sh

die() { echo "bench-offload: $*" >&2; exit 1; }
command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found (scripts/install-deps.sh)"
[ -x "$OFFLOADPMD" ] || die "$OFFLOADPMD not built (make build)"
[ -f "$ANCHORS/gro/gro_bench.c" ] || die "$ANCHORS/gro/gro_bench.c not found (ANCHORS=...)"
[ "$VERIFY" = 0 ] || command -v tshark >/dev/null || die "tshark not found (VERIFY=0 to skip the checks)"
[ "$PROFILE" = 0 ] || command -v perf >/dev/null || die "perf not found (PROFILE=0)"
case $RUNS in '' | *[!0-9]*) die "RUNS must be a number (0: only VERIFY and PROFILE)" ;; esac
case $DUR in '' | *[!0-9]* | 0) die "DUR must be a positive integer" ;; esac
for r in $ROWS; do
	case " $ALL_ROWS " in *" $r "*) ;; *) die "unknown row $r (rows: $ALL_ROWS)" ;; esac
done

TMP=$(mktemp -d /tmp/bench-offload.XXXXXX)
cleanup() {
	kill $(jobs -p) 2>/dev/null || true
	rm -rf "$TMP"
	rm -rf /var/run/dpdk/"$PFX"_* 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "bench-offload: interrupted" >&2; exit 130' INT TERM

# The C GRO harness, built outside the repository for this run only.
GRO_BENCH=$TMP/gro_bench
# shellcheck disable=SC2046
gcc -O2 -DALLOW_EXPERIMENTAL_API -o "$GRO_BENCH" "$ANCHORS/gro/gro_bench.c" \
	$(pkg-config --cflags libdpdk) $(pkg-config --libs libdpdk) ||
	die "cannot build $ANCHORS/gro/gro_bench.c"
# Its Go twin, on offloadpmd's GRO engine, likewise.
GROBENCH=$TMP/grobench
"$GO" build -o "$GROBENCH" ./cmd/grobench || die "cannot build cmd/grobench"

# pcap NAME PCAPGEN-ARGS...: generate once into the logs directory.
pcap() {
	local f=$PWD/$LOGS/$1.pcap
	shift
	[ -s "$f" ] || "$GO" run ./cmd/pcapgen "$@" -o "$f" >&2 || die "pcapgen $* failed"
	echo "$f"
}
P_TCP1514=$(pcap tcp1514 -kind tcp1514 -flows 1024)
P_UDP64=$(pcap udp64 -kind udp64 -flows 1024)
P_TSO32K=$(pcap tso32k -kind tcp -payload 32768 -flows 64)
P_TSO6=$(pcap tso6_32k -kind tcp -6 -payload 32768 -flows 64)
P_UDP32K=$(pcap udp32k -kind udp -payload 32768 -flows 64)
P_GRO=$(pcap gro_run32 -kind gro -flows 64 -segs 64 -run 32)
P_UDPGRO=$(pcap udpgro_run32 -kind udpgro -flows 64 -segs 64 -run 32)

CSUM_SW="csum set ip sw 0;csum set udp sw 0;csum set tcp sw 0"
SMALL="--total-num-mbufs=16384"
LARGE="--total-num-mbufs=8192 --mbuf-size=34000"

# Row table. For each row:
#   R_C      testpmd | gro_bench:MODE | none
#   R_GO     offloadpmd | grobench:MODE: the program compared with R_C
#   R_PCAP   input
#   R_MEM    -m for EAL
#   R_MODE   --forward-mode
#   R_OPTS   application options for both programs
#   R_SETUP  commands both get before start (testpmd also gets `port start all`
#            after them, with --disable-device-start)
#   R_POST   commands after that (testpmd: after `port start all`)
#   R_OPMD   extra offloadpmd options
#   R_COL    figure: rx (port 0 Rx-pps) or tx (port 0 Tx-pps)
#   R_FIG    the anchors' C figure, R_BAR the bar, R_WHAT a description
row() {
	R_C=none R_GO=offloadpmd R_MEM=1024 R_MODE=csum R_OPTS=$SMALL R_SETUP="" R_POST="" R_OPMD="" R_COL=rx R_FIG=- R_BAR=- R_VERIFY=0
	case $1 in
	csum-tcp1514)
		R_C=testpmd R_PCAP=$P_TCP1514 R_SETUP="$CSUM_SW;csum show 0" R_FIG=4.03 R_BAR=1.5
		R_WHAT="csum sw IPv4+TCP, 1514 B TCP, Rx Mpps" ;;
	csum-udp64)
		R_C=testpmd R_PCAP=$P_UDP64 R_SETUP="$CSUM_SW;csum show 0" R_FIG=29.1 R_BAR=1.0
		R_WHAT="csum sw IPv4+UDP, 64 B UDP, Rx Mpps" ;;
	tso32k)
		R_C=testpmd R_PCAP=$P_TSO32K R_MEM=2048 R_OPTS=$LARGE R_SETUP=$CSUM_SW
		R_POST="set port 0 gso on;set gso segsz 1502;show port 0 gso" R_COL=tx R_FIG=2.36 R_BAR=2.0 R_VERIFY=1
		R_WHAT="TSO 32 KiB TCP/IPv4 -> 1448 B, Tx Mseg/s" ;;
	gro)
		R_C=gro_bench:grocsum R_PCAP=$P_GRO R_MODE=io R_POST="set gro flush 1;set port 0 gro on;show port 0 gro" R_FIG=3.94 R_BAR=2.0 R_VERIFY=1
		R_WHAT="TCP GRO, verified, 64 flows run32, in Mpps" ;;
	gro-noverify)
		R_C=gro_bench:gro R_PCAP=$P_GRO R_MODE=io R_POST="set gro flush 1;set port 0 gro on;show port 0 gro" R_OPMD=--gro-no-verify R_FIG=16.8 R_BAR=1.0
		R_WHAT="TCP GRO, unverified, 64 flows run32, in Mpps" ;;
	gro-harness)
		R_C=gro_bench:grocsum R_GO=grobench:grocsum R_PCAP=$P_GRO R_FIG=3.94 R_BAR=2.0
		R_WHAT="GRO engines, verified, run32, in Mpps" ;;
	gro-noverify-harness)
		R_C=gro_bench:gro R_GO=grobench:gro R_PCAP=$P_GRO R_FIG=16.8 R_BAR=1.0
		R_WHAT="GRO engines, unverified, run32, in Mpps" ;;
	floor)
		R_C=testpmd R_PCAP=$P_GRO R_MODE=io
		R_WHAT="io fwd of the GRO pcap via net_pcap, Rx Mpps" ;;
	tso6-32k)
		R_PCAP=$P_TSO6 R_MEM=2048 R_OPTS=$LARGE R_SETUP=$CSUM_SW R_POST="set port 0 gso on;set gso segsz 1514;show port 0 gso" R_COL=tx R_VERIFY=1
		R_WHAT="TSO 32 KiB TCP/IPv6 -> 1440 B, Tx Mseg/s" ;;
	uso32k)
		R_PCAP=$P_UDP32K R_MEM=2048 R_OPTS=$LARGE R_SETUP=$CSUM_SW R_POST="uso set 1472 0" R_COL=tx R_VERIFY=1
		R_WHAT="USO 32 KiB UDP/IPv4 -> 1472 B, Tx Mdgram/s" ;;
	udpgro)
		R_PCAP=$P_UDPGRO R_MODE=io R_POST="set gro flush 1;set port 0 gro on;show port 0 gro" R_VERIFY=1
		R_WHAT="UDP GRO, verified, 64 flows run32, in Mpps" ;;
	esac
}

# commands TESTPMD(0|1): the row's interactive setup, one per line.
commands() {
	local line c
	line=$R_SETUP
	[ "$1" = 1 ] && line="$line;port start all"
	line="$line;$R_POST"
	IFS=';' read -ra c <<<"$line"
	for x in "${c[@]}"; do [ -n "$x" ] && echo "$x"; done
	return 0
}

# feed TESTPMD(0|1) PERFOUT: stdin for one measured run.
feed() {
	sleep 2
	commands "$1"
	echo start
	sleep 2
	echo "show port stats all"
	if [ -n "$2" ]; then
		perf record -C 1 -e cpu-clock -o "$2" -- sleep "$DUR" >/dev/null 2>&1 || true
	else
		sleep "$DUR"
	fi
	echo "show port stats all"
	echo "show offload stats"
	echo stop
	sleep 1
	echo quit
}

# port0 LOG: "rx_pps tx_pps" of port 0 in the last stats block, or "0 0".
port0() {
	awk '/NIC statistics for port/ {p=$(NF-1)+0} /Rx-pps:/ && p==0 {r=$2} /Tx-pps:/ && p==0 {t=$2} END {print r+0, t+0}' "$1"
}

# harness BIN MODE PREFIX LOG [PERFOUT]: one run of gro_bench or grobench
# (same command line, same output line); prints "in_pps out_pps" (0 0 if it
# failed).
harness() {
	local bin=$1 mode=$2 prefix=$3 log=$4 perfout=${5:-}
	if [ -n "$perfout" ]; then
		(sleep 2 && perf record -C 1 -e cpu-clock -o "$perfout" -- sleep $((DUR - 3 > 1 ? DUR - 3 : 1)) >/dev/null 2>&1) &
	fi
	timeout -k 5 $((DUR + 60)) "$bin" -l 1 --no-huge -m 2048 --no-pci --file-prefix="$prefix" -- \
		"$mode" "$R_PCAP" "$DUR" 32 0 >"$log" 2>&1 || true
	wait
	rm -rf "/var/run/dpdk/$prefix"
	# input and output Mpps, as pps
	sed -n 's/.* in_Mpps=\([0-9.]*\).* out_Mpps=\([0-9.]*\).*/\1 \2/p' "$log" |
		awk '{printf "%.0f %.0f\n", $1*1e6, $2*1e6} END {if (NR==0) print "0 0"}'
}

# one PROG ROW RUN [PERFOUT]: one run; prints "rx_pps tx_pps" (0 0 if it failed).
# PROG c is the row's R_C, opmd its R_GO (offloadpmd or grobench).
one() {
	local prog=$1 r=$2 i=$3 perfout=${4:-} prefix log
	prefix="${PFX}_${r}_${prog}_$i"
	log="$LOGS/$r.$prog.run$i.log"
	case $prog in
	c)
		case $R_C in
		testpmd)
			# shellcheck disable=SC2086
			feed 1 "$perfout" | timeout -k 5 $((DUR + 60)) dpdk-testpmd -l 0-1 --no-huge -m "$R_MEM" --no-pci \
				--file-prefix="$prefix" --vdev="net_pcap0,rx_pcap=$R_PCAP,infinite_rx=1" -- \
				-i --port-topology=loop --forward-mode="$R_MODE" --no-lsc-interrupt $R_OPTS --disable-device-start \
				>"$log" 2>&1 || true
			rm -rf "/var/run/dpdk/$prefix"
			port0 "$log" ;;
		gro_bench:*)
			harness "$GRO_BENCH" "${R_C#gro_bench:}" "$prefix" "$log" "$perfout" ;;
		esac ;;
	opmd)
		if [ "$R_GO" != offloadpmd ]; then
			harness "$GROBENCH" "${R_GO#grobench:}" "$prefix" "$log" "$perfout"
			return
		fi
		# shellcheck disable=SC2086
		feed 0 "$perfout" | timeout -k 5 $((DUR + 60)) "$OFFLOADPMD" -l 0-1 --no-huge -m "$R_MEM" --no-pci \
			--file-prefix="$prefix" --vdev="net_pcap0,rx_pcap=$R_PCAP,infinite_rx=1" -- \
			-i --port-topology=loop --forward-mode="$R_MODE" --no-lsc-interrupt $R_OPTS --busy-poll $R_OPMD ${OFFLOADPMD_ARGS:-} \
			>"$log" 2>&1 || true
		rm -rf "/var/run/dpdk/$prefix"
		port0 "$log" ;;
	esac
}

# tool c|opmd: what runs as the row's C reference or Go program.
tool() {
	case $1 in
	c) if [ "$R_C" = testpmd ]; then echo "testpmd $R_MODE"; else echo "${R_C/:/ }"; fi ;;
	opmd) echo "${R_GO/:/ }" ;;
	esac
}

# record ROW c|opmd RUN: the run's figure into the results CSV, if it
# gave one (the table leaves out runs without one, too).
record() {
	local v
	v=$(figures <(tail -n1 "$LOGS/$1.$2.pps"))
	if [ -z "$v" ]; then
		echo "  $1 run $3: $(tool "$2") gave no figure" >&2
		return 0
	fi
	csv_row offload "$1" "$([ "$2" = c ] && echo c-reference || echo offloadpmd)" "$3" "$v" "${R_WHAT##* }" "$(tool "$2")"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# figure FILE [other]: the row's column (or the other one) of every run
# that produced a figure, in Mpps.
figures() {
	local c=1
	[ "$R_COL" = tx ] && c=2
	[ "${2:-}" = other ] && c=$((3 - c))
	awk -v c="$c" '$c > 0 {printf "%.3f\n", $c/1e6}' "$1"
}

# verify PROG ROW: read the pcap once, write tx_pcap, count checksum verdicts.
verify() {
	local prog=$1 r=$2 prefix out log bin extra=() res
	prefix="${PFX}_${r}_verify_$prog"
	out=$PWD/$LOGS/$r.$prog.out.pcap
	log=$LOGS/$r.$prog.verify.log
	rm -f "$out"
	if [ "$prog" = testpmd ]; then bin=dpdk-testpmd extra=(--disable-device-start); else bin=$OFFLOADPMD; fi
	# shellcheck disable=SC2086
	{
		sleep 2
		commands "$([ "$prog" = testpmd ] && echo 1 || echo 0)"
		echo start
		sleep 3
		echo "show offload stats"
		echo stop
		sleep 1
		echo quit
	} | timeout -k 5 60 "$bin" -l 0-1 --no-huge -m "$R_MEM" --no-pci --file-prefix="$prefix" \
		--vdev="net_pcap0,rx_pcap=$R_PCAP,tx_pcap=$out" -- \
		-i --port-topology=loop --forward-mode="$R_MODE" --no-lsc-interrupt --no-flush-rx $R_OPTS "${extra[@]}" \
		$([ "$prog" = opmd ] && echo "$R_OPMD") >"$log" 2>&1 || true
	rm -rf "/var/run/dpdk/$prefix"
	if [ ! -s "$out" ]; then
		echo "$prog: no output"
		return
	fi
	# Fields are tab-separated and empty where a frame has no such header.
	# net_pcap's tx_pcap writes at most 16128 bytes of a multi-segment
	# mbuf (RTE_ETH_PCAP_SNAPLEN), so a merged GRO packet's L4 checksum
	# cannot be checked here: such frames are counted as truncated.
	res=$(tshark -r "$out" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-T fields -e frame.len -e frame.cap_len -e ip.checksum.status -e tcp.checksum.status -e udp.checksum.status 2>/dev/null |
		awk -F'\t' '{n++; len[$1]++; if ($2 < $1) tr++; if ($3 != "") ip[$3]++; if ($4 != "") l4[$4]++; if ($5 != "") l4[$5]++}
		END {m=0; for (k in len) if (len[k] > m) {m=len[k]; ml=k}
			printf "%d frames (most common length %s x%d, truncated %d), IPv4 csum good %d bad %d, L4 csum good %d bad %d",
				n, ml, m, tr+0, ip[1]+0, ip[0]+0, l4[1]+0, l4[0]+0}')
	echo "$prog: in $(tshark -r "$R_PCAP" 2>/dev/null | wc -l) frames read once -> $res"
}

NROWS=$(echo "$ROWS" | wc -w)
echo "bench-offload: rows: $ROWS; $RUNS alternating runs of ${DUR}s per program; about $((NROWS * RUNS * 2 * (DUR + 8) / 60 + 1)) min" >&2
[ "$VERIFY" = 0 ] || : >"$LOGS/verify.txt"
[ "$PROFILE" = 0 ] || : >"$LOGS/profile.txt"
SETTINGS="ROWS=$ROWS RUNS=$RUNS DUR=$DUR"
if [ "$RUNS" != 0 ]; then
	results_init bench-offload "$SETTINGS"
else
	RES_T0=$SECONDS # only the clock: RUNS=0 keeps the last results
fi
N=0 # measured runs in all, for the progress lines
for r in $ROWS; do
	row "$r"
	N=$((N + RUNS * ($([ "$R_C" = none ] && echo 1 || echo 2))))
done
k=0
for r in $ROWS; do
	row "$r"
	if [ "$RUNS" != 0 ]; then
		: >"$LOGS/$r.c.pps"
		: >"$LOGS/$r.opmd.pps"
	fi
	for ((i = 1; i <= RUNS; i++)); do
		# C first in odd rounds, offloadpmd first in even ones
		order="c opmd"
		[ "$R_C" = none ] && order=opmd
		[ "$R_C" != none ] && [ $((i % 2)) = 0 ] && order="opmd c"
		for prog in $order; do
			k=$((k + 1))
			progress "$k" "$N" "$(tool "$prog") $r run $i/$RUNS"
			one "$prog" "$r" "$i" >>"$LOGS/$r.$prog.pps"
			record "$r" "$prog" "$i"
		done
		echo "  $r run $i: C [$(tail -n1 "$LOGS/$r.c.pps" 2>/dev/null)] $R_GO [$(tail -n1 "$LOGS/$r.opmd.pps")] (rx_pps tx_pps)" >&2
	done
	if [ "$VERIFY" != 0 ] && [ "$R_VERIFY" = 1 ]; then
		echo "  $r: checking the checksums of what it emits (elapsed $(mmss $((SECONDS - RES_T0))))" >&2
		{
			[ "$R_C" = testpmd ] && echo "$r $(verify testpmd "$r")"
			echo "$r $(verify opmd "$r")"
		} | tee -a "$LOGS/verify.txt" >&2
	fi
	if [ "$PROFILE" != 0 ]; then
		for prog in c opmd; do
			[ "$prog" = c ] && [ "$R_C" = none ] && continue
			echo "  $r: profiling $(tool "$prog") (elapsed $(mmss $((SECONDS - RES_T0))))" >&2
			pd=$LOGS/$r.$prog.perf.data
			rm -f "$pd"
			one "$prog" "$r" prof "$pd" >/dev/null
			{
				echo "== $r $prog ($([ "$prog" = c ] && echo "$R_C" || echo "$R_GO")): perf record -C 1 -e cpu-clock, ${DUR}s ($pd)"
				# (head closes the pipe early: no pipefail verdict here)
				perf report -i "$pd" --stdio --no-children --sort dso 2>/dev/null >"$TMP/dso.txt" || true
				perf report -i "$pd" --stdio --no-children --sort dso,symbol 2>/dev/null >"$TMP/sym.txt" || true
				echo "-- by DSO"
				grep -v -e '^#' -e '^$' "$TMP/dso.txt" | head -n 8 || true
				echo "-- by symbol"
				grep -v -e '^#' -e '^$' "$TMP/sym.txt" | head -n 30 || true
			} | tee -a "$LOGS/profile.txt" >&2
		done
	fi
done

if [ "$RUNS" = 0 ]; then
	echo "logs: $LOGS/ (RUNS=0: no measurement)"
	exit 0
fi
echo
printf "%-20s %-44s %-18s %8s %8s %10s %7s %6s %s\n" row what "C reference" "C fig" "C med" "Go med" ratio bar met
for r in $ROWS; do
	row "$r"
	c=$(figures "$LOGS/$r.c.pps" | median)
	o=$(figures "$LOGS/$r.opmd.pps" | median)
	cn=$(figures "$LOGS/$r.c.pps" | wc -l)
	on=$(figures "$LOGS/$r.opmd.pps" | wc -l)
	cref=$R_C
	[ "$R_C" = testpmd ] && cref="testpmd $R_MODE"
	if [ "$R_C" != none ]; then
		summary_row offload "$r" c-reference "$cn" "$c" "${R_WHAT##* }" "" "$(tool c)"
	fi
	summary_row offload "$r" offloadpmd "$on" "$o" "${R_WHAT##* }" \
		"$(awk -v c="$c" -v o="$o" -v n="$R_C" 'BEGIN {if (n != "none" && c > 0) printf "%.3f", o / c}')" "$(tool opmd)"
	awk -v r="$r" -v w="$R_WHAT" -v cref="$cref" -v fig="$R_FIG" -v c="$c" -v o="$o" -v bar="$R_BAR" -v cn="$cn" -v on="$on" -v runs="$RUNS" \
		'BEGIN {
			if (cref == "none") { printf "%-20s %-44s %-18s %8s %8s %10.3f %7s %6s %s\n", r, w, "- (offloadpmd only)", "-", "-", o, "-", "-", (on < runs ? "(" on "/" runs " runs)" : ""); exit }
			ratio = c > 0 ? o / c : 0
			met = (bar == "-") ? "-" : (ratio >= bar ? "yes" : "no")
			note = (cn < runs || on < runs) ? sprintf(" (runs with a figure: C %d/%d, Go %d/%d)", cn, runs, on, runs) : ""
			printf "%-20s %-44s %-18s %8s %8.3f %10.3f %7.3f %6s %s%s\n", r, w, cref, fig, c, o, ratio, (bar == "-" ? "-" : ">=" bar), met, note
		}'
done
echo "(Go med: offloadpmd, or grobench on the -harness rows, where rx is the harness's in_Mpps and tx its out_Mpps)"
echo
echo "runs (Mpps, the row's figure; C then Go), and the median of the other direction (rx: port 0 Rx, tx: Tx):"
for r in $ROWS; do
	row "$r"
	other=rx
	[ "$R_COL" = rx ] && other=tx
	echo "  $r: C [$(figures "$LOGS/$r.c.pps" | tr '\n' ' ')] $R_GO [$(figures "$LOGS/$r.opmd.pps" | tr '\n' ' ')];" \
		"$other: C $(figures "$LOGS/$r.c.pps" other | median) $R_GO $(figures "$LOGS/$r.opmd.pps" other | median)"
done
if [ "$VERIFY" != 0 ] && [ -s "$LOGS/verify.txt" ]; then
	echo
	echo "checksums of what the rows emit (tshark; pcap read once):"
	sed 's/^/  /' "$LOGS/verify.txt"
fi
[ "$PROFILE" != 0 ] && [ -s "$LOGS/profile.txt" ] && echo && echo "profiles: $LOGS/profile.txt"
echo "logs: $LOGS/ (RUNS=$RUNS DUR=$DUR)"
results_plot
