#!/usr/bin/env bash
# demo.sh: the Linux kernel as the OS, offloadpmd as its offload NIC.
#
# Two network namespaces, opmd-a (10.77.0.1) and opmd-b (10.77.0.2), each
# with a kernel-facing vnet-hdr TAP port of offloadpmd; offloadpmd forwards
# between them (io engine, offload stages on). iperf3 sends TCP, then UDP
# with GSO (UDP_SEGMENT), from a to b. The script prints the throughput,
# then offloadpmd's offload counters: the super-frames the kernel handed
# over (vnet-requests), segments produced, checksums computed, GRO merges,
# refusals. Everything is torn down on exit, Ctrl-C included.
#
#   scripts/demo.sh          the demo
#   scripts/demo.sh shell    the interactive engine on the same topology:
#                            `ip netns exec opmd-a ping 10.77.0.2` from
#                            another terminal goes through it; `quit` ends
#
# Environment: DUR (iperf3 seconds, default 5), OFFLOAD (what the TAPs
# offer the kernels, default csum+tso4+tso6+uso4+uso6; `none` makes the
# kernels segment and sum themselves), SW_TX (capabilities offloadpmd
# does in software instead of leaving them to the egress kernel, e.g.
# tcp_tso,tcp_cksum,udp_cksum: then it segments every super-frame),
# OFFLOADPMD (default bin/offloadpmd).
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-demo}
DUR=${DUR:-5}
OFFLOAD=${OFFLOAD:-csum+tso4+tso6+uso4+uso6}
BIN=${OFFLOADPMD:-bin/offloadpmd}
NS_A=opmd-a NS_B=opmd-b TAP_A=opmda TAP_B=opmdb
ADDR_A=10.77.0.1 ADDR_B=10.77.0.2
PREFIX=opmd_demo_$$
KEEP=${KEEP:-}

die() { echo "demo: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, TAP devices): sudo make demo"
case $MODE in demo | shell) ;; *) die "usage: $0 [demo|shell]" ;; esac
for c in ip iperf3; do command -v $c >/dev/null || die "$c not found: run scripts/install-deps.sh"; done
[ -x "$BIN" ] || die "$BIN not built: make build"
[ -e /dev/net/tun ] || die "no /dev/net/tun: this kernel or container has no TAP devices"

TMP=$(mktemp -d /tmp/opmd-demo.XXXXXX)
PMD_PID=
cleanup() {
	trap - EXIT INT TERM
	[ -n "$PMD_PID" ] && kill "$PMD_PID" 2>/dev/null && wait "$PMD_PID" 2>/dev/null
	ip netns pids "$NS_B" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$NS_A" 2>/dev/null || true
	ip netns del "$NS_B" 2>/dev/null || true
	[ -n "$KEEP" ] && cp "$TMP/out" /tmp/opmd-demo.out
	rm -rf "$TMP" "/var/run/dpdk/$PREFIX"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT TERM

for ns in "$NS_A" "$NS_B"; do
	ip netns del "$ns" 2>/dev/null || true # a leftover of a killed run
	ip netns add "$ns"
done

ARGS=(-l 0-1 --no-huge -m 512 --no-pci --file-prefix="$PREFIX" -- -i --forward-mode=io
	--total-num-mbufs=8192 "--tap=$TAP_A,netns=$NS_A,offload=$OFFLOAD" "--tap=$TAP_B,netns=$NS_B,offload=$OFFLOAD")
[ -n "${SW_TX:-}" ] && ARGS+=("--sw-tx=$SW_TX")

# configure: address the TAPs once offloadpmd has made them.
configure() {
	for i in $(seq 100); do
		ip -n "$NS_A" link show "$TAP_A" >/dev/null 2>&1 && ip -n "$NS_B" link show "$TAP_B" >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$NS_A" addr add "$ADDR_A/24" dev "$TAP_A"
	ip -n "$NS_B" addr add "$ADDR_B/24" dev "$TAP_B"
	for x in "$NS_A $TAP_A" "$NS_B $TAP_B"; do
		set -- $x
		ip -n "$1" link set lo up
		ip -n "$1" link set "$2" up
	done
}

if [ "$MODE" = shell ]; then
	(configure && echo "demo: $TAP_A ($ADDR_A) in $NS_A and $TAP_B ($ADDR_B) in $NS_B are up; try: ip netns exec $NS_A ping $ADDR_B") &
	"$BIN" "${ARGS[@]}"
	exit
fi

mkfifo "$TMP/cmd"
"$BIN" "${ARGS[@]}" <"$TMP/cmd" >"$TMP/out" 2>&1 &
PMD_PID=$!
exec 3>"$TMP/cmd"
configure
echo start >&3
sleep 0.5
ip netns exec "$NS_B" iperf3 -s -D -B "$ADDR_B" --logfile "$TMP/iperf3-server.log"
sleep 0.5
echo "== TCP, $NS_A -> $NS_B through offloadpmd (TAPs offer the kernels: $OFFLOAD${SW_TX:+; software: $SW_TX})"
ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -t "$DUR" -f g | grep -E "sender|receiver"
echo "== UDP, 1400-byte datagrams at 2 Gb/s, sent with GSO where iperf3 can (--gsro), $NS_A -> $NS_B"
ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -u -b 2G -l 1400 --gsro -t "$DUR" -f g 2>/dev/null | grep -E "sender|receiver" ||
	ip netns exec "$NS_A" iperf3 -c "$ADDR_B" -u -b 2G -l 1400 -t "$DUR" -f g | grep -E "sender|receiver"
echo "show offload stats" >&3
echo "show port stats all" >&3
echo stop >&3
echo quit >&3
exec 3>&-
wait "$PMD_PID" || true
PMD_PID=
echo "== offloadpmd"
# The counters (show offload stats), then the ports as the kernels count
# them (show port stats all).
sed -n '/COUNTER/,/Telling cores/p' "$TMP/out" | sed 's/^\(testpmd> \)*//' | grep -vE '^ *$|Telling cores|Throughput|-pps|^  #+$'
grep -q "COUNTER" "$TMP/out" || { echo "demo: no statistics from offloadpmd; its output:" >&2; cat "$TMP/out" >&2; exit 1; }
