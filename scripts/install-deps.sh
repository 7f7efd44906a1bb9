#!/usr/bin/env bash
# install-deps.sh: install everything offloadpmd builds, runs and tests with, on Debian 12.
#
# Idempotent: it checks each package first and installs only what is missing,
# non-interactively. Safe to run on every `make test` / `make run`.
#
#   DPDK 22.11 (dpdk, dpdk-dev, libdpdk-dev) and pkg-config: the cgo bindings in pmd/
#   libpcap-dev: gopacket/pcap (pcap I/O and the test oracle)
#   iproute2, iperf3, tshark, tcpdump, ethtool, iputils-ping, procps: integration tests
#   gcc, make: cgo and the build
set -euo pipefail

PKGS=(
	dpdk dpdk-dev libdpdk-dev pkg-config
	libpcap-dev
	gcc make
	iproute2 iputils-ping iperf3 tshark tcpdump ethtool procps
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
else
	echo "install-deps: installing ${missing[*]}"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	export DEBIAN_FRONTEND=noninteractive
	# tshark asks whether non-root users may capture; answer no without a prompt.
	echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Go is expected at /usr/local/go (or on PATH); the module proxy provides the rest.
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
	echo "install-deps: Go not found; install Go >= 1.24 to /usr/local/go" >&2
	exit 1
fi
pkg-config --exists libdpdk || { echo "install-deps: pkg-config cannot find libdpdk" >&2; exit 1; }
echo "install-deps: DPDK $(pkg-config --modversion libdpdk)"
