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

# The Linux XFRM interop tests (cmd/offloadpmd/xfrmtest) need a kernel doing
# ESP with AES-GCM and AES-CBC + HMAC-SHA-256. Where the running kernel has
# none (some VMs' kernels are built without CONFIG_INET_ESP), the IPsec peer
# is a small QEMU guest running Debian's kernel on this root file system:
# qemu-system-x86, linux-image-amd64 and busybox-static.
kernel_has_esp() {
	local ns=opmd_esp_probe_$$ rc=0
	ip netns add "$ns" 2>/dev/null || return 0 # not root: nothing to decide
	ip -n "$ns" xfrm state add src 10.0.0.1 dst 10.0.0.2 proto esp spi 0x1000 mode tunnel \
		aead 'rfc4106(gcm(aes))' 0x0000000000000000000000000000000000000000 128 >/dev/null 2>&1 || rc=1
	ip netns del "$ns"
	return $rc
}
if ! kernel_has_esp; then
	vm_missing=()
	for p in qemu-system-x86 linux-image-amd64 busybox-static; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			vm_missing+=("$p")
		fi
	done
	if [ ${#vm_missing[@]} -gt 0 ]; then
		echo "install-deps: this kernel has no ESP; installing the XFRM test VM's ${vm_missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${vm_missing[@]}"
	fi
fi

# Go is expected at /usr/local/go (or on PATH); the module proxy provides the rest.
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
	echo "install-deps: Go not found; install Go >= 1.24 to /usr/local/go" >&2
	exit 1
fi
pkg-config --exists libdpdk || { echo "install-deps: pkg-config cannot find libdpdk" >&2; exit 1; }
echo "install-deps: DPDK $(pkg-config --modversion libdpdk)"
