#!/usr/bin/env bash
# bench-esp.sh: ESP encryption through offloadpmd's whole path against
# dpdk-test-crypto-perf (issue 7's bar: >= 0.8 of crypto_aesni_gcm at
# 1500 B, with headers, sequence numbers and trailer).
#
# The reference is the DPDK anchors' crypto_perf.sh, unchanged, run from a
# copy in a temporary directory (as bench-crypto.sh does): one worker lcore,
# burst 32, AES-128-GCM encrypt (AAD 16, tag 16) on crypto_aesni_gcm, or
# AES-128-CBC encrypt + HMAC-SHA-256 generate on crypto_aesni_mb, buffers of
# 64, 512 and 1500 bytes (CBC: 1504, its multiple of 16). Those are the
# devices offloadpmd's ESP uses for each suite.
#
# offloadpmd runs what a user would: one net_pcap port replaying a pcap
# (infinite_rx, --port-topology=loop, io forwarding, --busy-poll, lcore 1),
# `port config 0 tx_offload esp_encrypt on`, an outbound tunnel SA (IPv4,
# 192.0.2.1 -> 192.0.2.2) and `sa policy 0 any sa 1`: every packet is
# received (net_pcap copies it into an mbuf), encapsulated (outer IPv4
# header, ESP header with its sequence number, IV, padding, trailer),
# encrypted with its ICV, and sent (net_pcap's TX drops and frees it). The
# pcaps hold 64 UDP/IPv4 flows whose IP packets, the tunnel's plaintext,
# are 64, 512 and 1500 bytes long (frames 14 bytes more). Gbps on both
# sides are plaintext bytes per second x 8: crypto-perf's buffer size x
# ops/s, our IP packet size x port 0's Tx-pps (the packets encrypted and
# sent, from `show port stats 0` over DUR seconds after a 2 s warm-up). In
# tunnel mode ESP encrypts the IP packet plus 2 trailer bytes and 0-3 (GCM)
# or 0-15 (CBC) bytes of padding: 1504 bytes for a 1500-byte packet with
# either suite, 80 and 528 with CBC at 64 and 512 (crypto-perf: 64, 512).
#
# A second source, with TXONLY=1 (the default), leaves net_pcap out:
# offloadpmd's txonly engine (--forward-mode=txonly, --txpkts=SIZE+14, as
# testpmd's) generates the UDP/IPv4 packets itself on one net_null port,
# whose TX frees them, under the same tunnel SA and `sa policy 0 any sa 1`
# (the TX stage's egress policy covers txonly streams as any other). Per
# packet that pays the mbuf allocation, the generator's write of the
# template (the whole frame: txonly's payload is zeros, not what an
# earlier packet left), the ESP path and net_null's free; no copy from a
# pcap, no RX. One flow (198.18.0.1:9 -> 198.18.0.2:9), which ESP does not
# look at.
#
# Programs (the CSV's program column):
#   c-reference     crypto_perf.sh (dpdk-test-crypto-perf)
#   offloadpmd      the whole path, crypto on the ipsec_mb cryptodev
#   offloadpmd-txonly
#                   the same ESP path and device, packets from txonly on
#                   net_null instead of net_pcap (TXONLY=1)
#   offloadpmd-go   the same with --esp-engine=go (Go's crypto/aes, cipher)
#   offloadpmd-baseline
#                   with BASELINE=PATH: offloadpmd's ESP with the cryptodev
#                   engine from another binary (e.g. built from an earlier
#                   commit), run right after offloadpmd's, for a before and
#                   after in the same conditions
#   offloadpmd-baseline-txonly
#                   BASELINE's binary with the txonly source (BASELINE and
#                   TXONLY=1), right after offloadpmd-txonly's run
#   offloadpmd-io   the same pcap and port without ESP: what the I/O path
#                   alone carries, the ceiling of the rows above; one run per
#                   size and round, shown in the text table under each
#                   suite's cases, in the CSVs and chart as cases io-SIZE
#   offloadpmd-io-txonly
#                   txonly on net_null without ESP (FLOOR and TXONLY=1):
#                   generation and free alone, the ceiling of the txonly
#                   rows; cases io-txonly-SIZE
# Runs alternate (reference first in odd rounds, offloadpmd first in even
# ones) so drift in this noisy, shared VM hits both alike.
#
# On-CPU figures: this 2-vCPU VM is shared, and other processes take the
# worker's CPU for a varying share of each run. Each run's figure is also
# divided by its worker thread's share of the CPU while it measured:
# offloadpmd's lcore thread from /proc/PID/task/TID/schedstat read at both
# ends of the window; crypto-perf's worker with perf stat -t (task-clock
# until it exits) over the sum of its sizes' run times, as bench-crypto.sh
# (0 without perf). That takes out most of what other processes cost, not
# their cache pollution.
#
# Reading the figures: per packet, offloadpmd pays the I/O path (the
# offloadpmd-io row: net_pcap's copy into an mbuf, TX, free), the ESP
# framing and the crypto; crypto-perf pays the crypto and its op handling
# only, on buffers it never copies. So even free framing would leave
# offloadpmd at 1 / (1/io + 1/reference) packets per second: at 1500 B on
# this VM (io ~19 Mpps, crypto-perf ~9-10 Mops) about 0.65 of the
# reference.
#
# Environment: RUNS (default 5), DUR (seconds, default 5), ALGS (default
# "gcm cbc"), SIZES (default "64 512 1500"), ENGINES (default "cryptodev
# go"), FLOOR (default 1; 0: no offloadpmd-io runs), TXONLY (default 1;
# 0: no txonly-source runs), TOTAL_OPS (crypto-perf
# ops per size, default 4000000), OFFLOADPMD (default: built from this tree
# into a temporary directory), BASELINE (no default), ANCHORS (default
# ../shared/anchors),
# BENCH_RESULTS (default results/), PLOT (default 1).
# Every run's Gbps goes to $BENCH_RESULTS/bench-esp.csv (wall clock as
# cases SUITE-SIZE, on-CPU as cpu:SUITE-SIZE, no ESP as io-SIZE and
# io-txonly-SIZE; the txonly source's rows are programs of their own), the
# medians and ratios to bench-esp-summary.csv, cmd/benchplot's chart to
# bench-esp.png (see scripts/bench-lib.sh); raw logs and per-run figures
# (Mpps, CPU share) to scripts/bench-logs/esp/.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
DUR=${DUR:-5}
ALGS=${ALGS:-"gcm cbc"}
SIZES=${SIZES:-"64 512 1500"}
ENGINES=${ENGINES:-"cryptodev go"}
FLOOR=${FLOOR:-1}
TXONLY=${TXONLY:-1}
TOTAL_OPS=${TOTAL_OPS:-4000000}
ANCHORS=${ANCHORS:-../shared/anchors}
LOGS=scripts/bench-logs/esp
PFX=opmdesp_$$ # every EAL file prefix of this run starts with it
mkdir -p "$LOGS"
. scripts/bench-lib.sh

die() {
	echo "bench-esp: $*" >&2
	exit 1
}
command -v dpdk-test-crypto-perf >/dev/null || die "dpdk-test-crypto-perf not found (Debian's dpdk package; scripts/install-deps.sh)"
[ -f "$ANCHORS/crypto_perf.sh" ] && [ -f "$ANCHORS/lib.sh" ] || die "$ANCHORS/crypto_perf.sh or lib.sh not found (ANCHORS=...)"
case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number" ;; esac
case $DUR in '' | *[!0-9]* | 0) die "DUR must be a positive number of seconds" ;; esac
for a in $ALGS; do case $a in gcm | cbc) ;; *) die "ALGS: unknown suite $a (gcm, cbc)" ;; esac; done
for s in $SIZES; do case $s in 64 | 512 | 1500) ;; *) die "SIZES: $s is not one of crypto_perf.sh's sizes (64 512 1500)" ;; esac; done
for e in $ENGINES; do case $e in cryptodev | go) ;; *) die "ENGINES: unknown engine $e (cryptodev, go)" ;; esac; done

TMP=$(mktemp -d /tmp/bench-esp.XXXXXX)
cleanup() {
	kill $(jobs -p) 2>/dev/null || true
	rm -rf "$TMP"
	rm -rf /var/run/dpdk/"$PFX"_* 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "bench-esp: interrupted" >&2; exit 130' INT TERM
cp "$ANCHORS/crypto_perf.sh" "$ANCHORS/lib.sh" "$TMP/"
if [ -z "${OFFLOADPMD:-}" ]; then
	OFFLOADPMD=$TMP/offloadpmd
	"$GO" build -o "$OFFLOADPMD" ./cmd/offloadpmd || die "cannot build cmd/offloadpmd"
fi
[ -x "$OFFLOADPMD" ] || die "$OFFLOADPMD is not an executable"
if [ -n "${BASELINE:-}" ]; then
	[ -x "$BASELINE" ] || die "BASELINE $BASELINE is not an executable"
	ENGINES="$ENGINES base"
fi
# The txonly source's runs: ours with the cryptodev engine, BASELINE's.
TXENGINES=""
if [ "$TXONLY" != 0 ]; then
	TXENGINES=txonly
	[ -n "${BASELINE:-}" ] && TXENGINES="$TXENGINES base-txonly"
fi

# pcap SIZE: UDP/IPv4 packets of SIZE bytes (IP header on), 64 flows.
pcap() {
	local f=$PWD/$LOGS/ip$1.pcap
	[ -s "$f" ] || "$GO" run ./cmd/pcapgen -kind udp -payload $(($1 - 28)) -flows 64 -o "$f" >&2 || die "pcapgen failed"
	echo "$f"
}

pmd_of() { if [ "$1" = gcm ]; then echo crypto_aesni_gcm; else echo crypto_aesni_mb; fi; }
# The reference's buffer size for our size (CBC needs multiples of 16).
refsize() { if [ "$1" = cbc ] && [ "$2" = 1500 ]; then echo 1504; else echo "$2"; fi; }

# Test keys: a benchmark's, in a file in $TMP only.
sa_line() {
	if [ "$1" = gcm ]; then
		echo "sa add 1 spi 4096 out tunnel aes128gcm16 enc 000102030405060708090a0b0c0d0e0f10111213 src 192.0.2.1 dst 192.0.2.2"
	else
		echo "sa add 1 spi 4096 out tunnel aes128-sha256 enc 000102030405060708090a0b0c0d0e0f auth 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f src 192.0.2.1 dst 192.0.2.2"
	fi
}

# worker_schedstat PREFIX: the on-CPU nanoseconds of the worker lcore
# thread of the EAL process with file prefix PREFIX (0 if not found).
worker_schedstat() {
	local pid f
	for pid in $(pgrep -f -- "--file-prefix=$1( |$)" || true); do
		for f in /proc/"$pid"/task/*/comm; do
			if grep -q 'worker-1$' "$f" 2>/dev/null; then
				cut -d' ' -f1 "${f%/comm}/schedstat" 2>/dev/null && return
			fi
		done
	done
	echo 0
}

# ours ALG SIZE ENGINE RUN: one offloadpmd run (ENGINE cryptodev, go, base
# for BASELINE's cryptodev, or io for no ESP, all from the pcap; txonly,
# base-txonly, io-txonly the same from txonly on net_null); prints
# "tx_pps share" (0 0 if it failed).
ours() {
	local alg=$1 size=$2 eng=$3 i=$4 prefix=${PFX}_$3_$1_$2_$4 log cmds win bin=$OFFLOADPMD
	local -a src extra=()
	log=$LOGS/$alg.$size.$eng.run$i.log
	cmds=$TMP/cmds.$eng.$alg
	win=$TMP/win.$prefix
	: >"$cmds"
	case $eng in io | io-txonly) ;; *)
		printf '%s\n' "port config 0 tx_offload esp_encrypt on" "$(sa_line "$alg")" "sa policy 0 any sa 1" >"$cmds"
		;;
	esac
	[ "$eng" = go ] && extra=(--esp-engine=go)
	case $eng in base | base-txonly) bin=$BASELINE ;; esac
	case $eng in
	*txonly) src=(--vdev=net_null0 -- --forward-mode=txonly --txpkts=$((size + 14))) ;;
	*) src=(--vdev="net_pcap0,rx_pcap=$(pcap "$size"),infinite_rx=1" -- --forward-mode=io) ;;
	esac
	{
		sleep 2
		echo start
		sleep 2
		echo "show port stats 0"
		echo "$(worker_schedstat "$prefix") $(date +%s%N)" >"$win"
		sleep "$DUR"
		echo "show port stats 0"
		echo "$(worker_schedstat "$prefix") $(date +%s%N)" >>"$win"
		echo "show offload stats"
		echo stop
		sleep 1
		echo quit
	} | timeout -k 5 $((DUR + 60)) "$bin" -l 0-1 --no-huge -m 1024 --no-pci --file-prefix="$prefix" "${src[@]}" \
		-i --port-topology=loop --no-lsc-interrupt --total-num-mbufs=16384 --busy-poll \
		--cmdline-file="$cmds" "${extra[@]}" >"$log" 2>&1 || true
	rm -rf "/var/run/dpdk/$prefix"
	# Every packet must have been encrypted, by the engine asked for, and
	# none dropped.
	if [ "$eng" != io ] && [ "$eng" != io-txonly ]; then
		local want=esp-cryptodev-jobs other=esp-go-jobs bad
		[ "$eng" = go ] && want=esp-go-jobs other=esp-cryptodev-jobs
		case $eng in base | base-txonly) ! grep -q '^esp-cryptodev-jobs ' "$log" && want=esp-encrypted ;; esac # an older binary may not count jobs
		bad=$(awk -v want="$want" -v other="$other" '$1 ~ /^esp-/ {
				if ($1 == want) w = $2; else if ($1 == other) o = $2; else if ($1 != "esp-encrypted") d = d " " $1 }
			END {if (w + 0 == 0) print "no " want; else if (o + 0 > 0) print other; else if (d != "") print "drops:" d}' "$log")
		if [ -n "$bad" ]; then
			echo "bench-esp: $log: not every packet encrypted by $eng ($bad; see its show offload stats)" >&2
			rm -f "$win"
			echo "0 0"
			return
		fi
	fi
	local share
	share=$(awk 'NR == 1 {c0 = $1; t0 = $2} NR == 2 {c1 = $1; t1 = $2}
		END {if (c0 > 0 && c1 > c0 && t1 > t0) printf "%.4f", (c1 - c0) / (t1 - t0); else print 0}' "$win" 2>/dev/null || echo 0)
	rm -f "$win"
	awk -v sh="$share" '/NIC statistics for port/ {p = $(NF-1) + 0} /Tx-pps:/ && p == 0 {t = $2}
		END {print t + 0, sh}' "$log"
}

# reference ALG RUN: one crypto_perf.sh run; prints "bufsize gbps mops"
# per size, then "share S" (its worker's CPU share over the sizes' run
# times; 0 if unknown).
reference() {
	local alg=$1 i=$2 pmd t
	pmd=$(pmd_of "$alg")
	t=crypto_${pmd}_$alg
	rm -f "$TMP/logs/$t.csv"
	worker_cpu "^dpdk-test-crypto-perf .*--file-prefix=anc_${t}_" "$TMP/ref.cpu" &
	local w=$!
	RUNS=1 TOTAL_OPS=$TOTAL_OPS "$TMP/crypto_perf.sh" "$pmd" "$alg" >"$LOGS/$alg.ref.run$i.out" 2>&1 || true
	wait "$w" || true
	cp "$TMP/logs/$t.run1.log" "$LOGS/$alg.ref.run$i.log" 2>/dev/null || true
	# csv: lcore,bufsz,burst,enq,deq,failenq,faildeq,Mops,Gbps,cycles/buf
	[ -f "$TMP/logs/$t.csv" ] || return 0
	awk -F, -v ops="$TOTAL_OPS" -v cpu="$(cat "$TMP/ref.cpu")" '
		$8 > 0 {print $2 + 0, $9 + 0, $8 + 0; wall += ops / ($8 * 1e6)}
		END {print "share", ((wall > 0 && cpu > 0) ? cpu / 1000 / wall : 0)}' "$TMP/logs/$t.csv"
}

# fig FILE VALUE: append a per-run figure.
fig() { echo "$2" >>"$1"; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) {print 0; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
med() { if [ -s "$1" ]; then median <"$1"; else echo 0; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f", a / b}'; }
oncpu() { awk -v g="$1" -v s="$2" 'BEGIN {printf "%.4f", (s > 0 ? g / s : 0)}'; }

progname() {
	case $1 in
	cryptodev) echo offloadpmd ;; go) echo offloadpmd-go ;; base) echo offloadpmd-baseline ;; io) echo offloadpmd-io ;;
	txonly) echo offloadpmd-txonly ;; base-txonly) echo offloadpmd-baseline-txonly ;; io-txonly) echo offloadpmd-io-txonly ;;
	esac
}

srcname() { case $1 in *txonly) echo "txonly on net_null" ;; *) echo io ;; esac; }

# record_ours ALG SIZE ENGINE RUN "pps share": the run's figures.
record_ours() {
	local alg=$1 size=$2 eng=$3 i=$4 pps share g f a
	read -r pps share <<<"$5"
	g=$(awk -v p="$pps" -v s="$size" 'BEGIN {printf "%.3f", p * s * 8 / 1e9}')
	for a in $(case $eng in io | io-txonly) echo "$ALGS" ;; *) echo "$alg" ;; esac); do
		f=$LOGS/$a.$size.$eng
		fig "$f.gbps" "$g"
		fig "$f.mpps" "$(awk -v p="$pps" 'BEGIN {printf "%.3f", p / 1e6}')"
		fig "$f.cpu" "$(oncpu "$g" "$share")"
		fig "$f.share" "$share"
	done
	case $eng in
	io) csv_row esp "io-$size" offloadpmd-io "$i" "$g" "Gbps (no ESP)" "offloadpmd io without ESP" ;;
	io-txonly) csv_row esp "io-txonly-$size" offloadpmd-io-txonly "$i" "$g" "Gbps (no ESP)" "offloadpmd txonly on net_null without ESP" ;;
	*)
		csv_row esp "$alg-$size" "$(progname "$eng")" "$i" "$g" Gbps "offloadpmd $(srcname "$eng") + ESP $eng"
		csv_row esp "cpu:$alg-$size" "$(progname "$eng")" "$i" "$(oncpu "$g" "$share")" "Gbps on-CPU" "offloadpmd $(srcname "$eng") + ESP $eng"
		;;
	esac
}

# record_ref ALG RUN: reads reference's output.
record_ref() {
	local alg=$1 i=$2 in share size rs g m f
	in=$(cat)
	share=$(echo "$in" | awk '$1 == "share" {print $2}')
	for size in $SIZES; do
		rs=$(refsize "$alg" "$size")
		read -r g m <<<"$(echo "$in" | awk -v s="$rs" '$1 == s {print $2, $3}')"
		[ -n "${g:-}" ] || continue
		f=$LOGS/$alg.$size.ref
		fig "$f.gbps" "$g"
		fig "$f.mpps" "$m"
		fig "$f.cpu" "$(oncpu "$g" "${share:-0}")"
		fig "$f.share" "${share:-0}"
		csv_row esp "$alg-$size" c-reference "$i" "$g" Gbps "dpdk-test-crypto-perf $(pmd_of "$alg") buffer $rs"
		csv_row esp "cpu:$alg-$size" c-reference "$i" "$(oncpu "$g" "${share:-0}")" "Gbps on-CPU" "dpdk-test-crypto-perf $(pmd_of "$alg") buffer $rs"
	done
}

results_init bench-esp "RUNS=$RUNS DUR=${DUR}s TOTAL_OPS=$TOTAL_OPS ALGS=$ALGS SIZES=$SIZES ENGINES=$ENGINES TXONLY=$TXONLY; one worker lcore; Gbps = plaintext bytes/s x 8 (IP packet; crypto-perf buffer)"
for a in $ALGS; do
	for s in $SIZES; do
		rm -f "$LOGS/$a.$s".*.gbps "$LOGS/$a.$s".*.mpps "$LOGS/$a.$s".*.cpu "$LOGS/$a.$s".*.share
	done
done
for s in $SIZES; do pcap "$s" >/dev/null; done
nalg=$(echo "$ALGS" | wc -w)
nsz=$(echo "$SIZES" | wc -w)
neng=$(echo "$ENGINES $TXENGINES" | wc -w)
nfloor=$(echo "$([ "$FLOOR" != 0 ] && echo io $([ "$TXONLY" != 0 ] && echo io-txonly))" | wc -w)
N=$((RUNS * (nalg * (1 + nsz * neng) + nfloor * nsz)))
k=0
for i in $(seq 1 "$RUNS"); do
	if [ "$FLOOR" != 0 ]; then
		for f in io $([ "$TXONLY" != 0 ] && echo io-txonly); do
			for s in $SIZES; do
				k=$((k + 1))
				progress "$k" "$N" "offloadpmd $f (no ESP) $s B run $i/$RUNS"
				record_ours "${ALGS%% *}" "$s" "$f" "$i" "$(ours "${ALGS%% *}" "$s" "$f" "$i")"
			done
		done
	fi
	for a in $ALGS; do
		order="ref ours"
		[ $((i % 2)) = 0 ] && order="ours ref"
		for prog in $order; do
			if [ "$prog" = ref ]; then
				k=$((k + 1))
				progress "$k" "$N" "crypto_perf.sh $(pmd_of "$a") $a run $i/$RUNS"
				reference "$a" "$i" | record_ref "$a" "$i"
				continue
			fi
			for s in $SIZES; do
				for e in $ENGINES $TXENGINES; do
					k=$((k + 1))
					progress "$k" "$N" "offloadpmd ESP $a $s B ($e) run $i/$RUNS"
					record_ours "$a" "$s" "$e" "$i" "$(ours "$a" "$s" "$e" "$i")"
				done
			done
		done
	done
done

: >"$LOGS/summary.txt"
{
	echo
	echo "Median Gbps of plaintext (and Mpps or Mops), wall clock; ratio to crypto-perf. On-CPU: each run divided by its worker thread's CPU share."
	printf "%-9s %-26s %9s %8s %7s %9s %7s %10s\n" case program Gbps Mpps ratio on-CPU ratio "CPU share"
} | tee -a "$LOGS/summary.txt"
for a in $ALGS; do
	for s in $SIZES; do
		rg=$(med "$LOGS/$a.$s.ref.gbps")
		rc=$(med "$LOGS/$a.$s.ref.cpu")
		for p in ref $ENGINES $([ "$FLOOR" != 0 ] && echo io) $TXENGINES $([ "$FLOOR" != 0 ] && [ "$TXONLY" != 0 ] && echo io-txonly); do
			f=$LOGS/$a.$s.$p
			g=$(med "$f.gbps")
			m=$(med "$f.mpps")
			c=$(med "$f.cpu")
			sh=$(med "$f.share")
			if [ "$p" = ref ]; then
				name=c-reference
				r="" rcpu=""
				summary_row esp "$a-$s" c-reference "$RUNS" "$g" Gbps "" "dpdk-test-crypto-perf $(pmd_of "$a")"
				summary_row esp "cpu:$a-$s" c-reference "$RUNS" "$c" "Gbps on-CPU" "" "dpdk-test-crypto-perf $(pmd_of "$a")"
			elif [ "$p" = io ] || [ "$p" = io-txonly ]; then
				name=$(progname "$p")
				r=$(ratio "$g" "$rg")
				rcpu=$(ratio "$c" "$rc")
				[ "$a" = "${ALGS%% *}" ] && summary_row esp "$( [ "$p" = io ] && echo io || echo io-txonly)-$s" "$name" "$RUNS" "$g" "Gbps (no ESP)" "" "offloadpmd $(srcname "$p") without ESP"
			else
				name=$(progname "$p")
				r=$(ratio "$g" "$rg")
				rcpu=$(ratio "$c" "$rc")
				summary_row esp "$a-$s" "$name" "$RUNS" "$g" Gbps "$r" "offloadpmd $(srcname "$p") + ESP $p"
				summary_row esp "cpu:$a-$s" "$name" "$RUNS" "$c" "Gbps on-CPU" "$rcpu" "offloadpmd $(srcname "$p") + ESP $p"
			fi
			printf "%-9s %-26s %9.2f %8.3f %7s %9.2f %7s %10.3f\n" "$a-$s" "$name" "$g" "$m" "$r" "$c" "$rcpu" "$sh" | tee -a "$LOGS/summary.txt"
			echo "  runs: Gbps [$(tr '\n' ' ' <"$f.gbps" 2>/dev/null | sed 's/ $//')] share [$(tr '\n' ' ' <"$f.share" 2>/dev/null | sed 's/ $//')]" >>"$LOGS/summary.txt"
		done
	done
done
echo "(per-run figures: $LOGS/summary.txt and $LOGS/*.gbps, *.mpps, *.cpu, *.share; load average now $(cut -d' ' -f1-3 /proc/loadavg))"
results_plot
