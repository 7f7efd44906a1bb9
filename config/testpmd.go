package config

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// argKind says whether an option takes a value.
type argKind int

const (
	noArg argKind = iota
	needArg
)

// option is one application option. The usage text comes from the table.
type option struct {
	name  string
	short byte
	arg   argKind
	usage string // "--name=N: what it does"
	set   func(c *Config, v string) error
	// compat marks an option testpmd has that changes nothing here; it is
	// accepted, so testpmd command lines work, and a warning says so.
	compat string
}

// ErrUsage is returned (wrapped) for command-line errors.
var ErrUsage = errors.New("usage")

func unsupported(why string) func(*Config, string) error {
	return func(*Config, string) error { return fmt.Errorf("not supported by offloadpmd: %s", why) }
}

func parseUint(v string, lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is outside %d..%d", n, lo, hi)
	}
	return n, nil
}

func parseHex(v string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X"), 16, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a hexadecimal mask", v)
	}
	return n, nil
}

func flag(f func(c *Config)) func(*Config, string) error {
	return func(c *Config, _ string) error { f(c); return nil }
}

// options is the application option table (testpmd 22.11's names).
var options []option

func init() {
	options = []option{
		{name: "interactive", short: 'i', usage: "--interactive: run in interactive mode.",
			set: flag(func(c *Config) { c.Interactive = true })},
		{name: "cmdline-file", arg: needArg, usage: "--cmdline-file=FILE: execute CLI commands from FILE before startup.",
			set: func(c *Config, v string) error { c.CmdlineFile = v; return nil }},
		{name: "auto-start", short: 'a', usage: "--auto-start: start forwarding on init [always when non-interactive].",
			set: flag(func(c *Config) { c.AutoStart = true })},
		{name: "help", short: 'h', usage: "--help: display this message and quit.",
			set: flag(func(c *Config) { c.Help = true })},
		{name: "tx-first", usage: "--tx-first: start forwarding sending a burst first (only if interactive is disabled).",
			set: flag(func(c *Config) { c.TxFirst = true })},
		{name: "stats-period", arg: needArg, usage: "--stats-period=PERIOD: statistics will be shown every PERIOD seconds (only if interactive is disabled).",
			set: func(c *Config, v string) error {
				n, err := parseUint(v, 0, 1<<31)
				c.StatsPeriod = uint(n)
				return err
			}},
		{name: "display-xstats", arg: needArg, usage: "--display-xstats xstat_name1[,...]: comma-separated list of extended statistics to show with the port statistics.",
			set: func(c *Config, v string) error {
				c.DisplayXStat = strings.Split(v, ",")
				return nil
			}},
		{name: "nb-cores", arg: needArg, usage: "--nb-cores=N: set the number of forwarding cores.",
			set: func(c *Config, v string) error {
				n, err := parseUint(v, 1, 1024)
				c.NbCores = int(n)
				return err
			}},
		{name: "nb-ports", arg: needArg, usage: "--nb-ports=N: set the number of forwarding ports.",
			set: func(c *Config, v string) error {
				n, err := parseUint(v, 1, 1024)
				c.NbPorts = int(n)
				return err
			}},
		{name: "coremask", arg: needArg, usage: "--coremask=COREMASK: hexadecimal bitmask of lcores running the packet forwarding. The main lcore is reserved for the command line and cannot be in it.",
			set: func(c *Config, v string) (err error) { c.CoreMask, err = parseHex(v); return }},
		{name: "portmask", arg: needArg, usage: "--portmask=PORTMASK: hexadecimal bitmask of ports used by the packet forwarding.",
			set: func(c *Config, v string) (err error) { c.PortMask, err = parseHex(v); return }},
		{name: "portlist", arg: needArg, usage: "--portlist=PORTLIST: list of forwarding ports, e.g. 0,2-3.",
			set: func(c *Config, v string) (err error) { c.PortList, err = parseList(v); return }},
		{name: "mbuf-size", arg: needArg, usage: "--mbuf-size=N: set the data size of mbufs to N bytes (headroom included).",
			set: func(c *Config, v string) error {
				first, _, _ := strings.Cut(v, ",")
				n, err := parseUint(first, 128+64, 65535)
				c.MbufSize = uint16(n)
				if strings.Contains(v, ",") && err == nil {
					return errors.New("several mbuf pools (buffer split) are not supported by offloadpmd")
				}
				return err
			}},
		{name: "total-num-mbufs", arg: needArg, usage: "--total-num-mbufs=N: set the number of mbufs to be allocated in mbuf pools.",
			set: func(c *Config, v string) error {
				n, err := parseUint(v, 1025, 1<<32-1)
				c.TotalNumMbufs = uint(n)
				return err
			}},
		{name: "mbcache", arg: needArg, usage: "--mbcache=N: set the cache of mbuf memory pool to N.",
			set: uintArgCfg(func(c *Config) *uint { return &c.MbufCache }, 0, 512)},
		{name: "max-pkt-len", arg: needArg, usage: "--max-pkt-len=N: set the maximum size of packet to N bytes.",
			set: func(c *Config, v string) error {
				n, err := parseUint(v, 64, 1<<32-1)
				c.MaxPktLen = uint32(n)
				return err
			}},
		{name: "eth-peer", arg: needArg, usage: "--eth-peer=X,M:M:M:M:M:M: set the MAC address of the X peer port (0 <= X < 32).",
			set: func(c *Config, v string) error {
				p, mac, ok := strings.Cut(v, ",")
				if !ok {
					return fmt.Errorf("%q: want PORT,MAC", v)
				}
				n, err := parseUint(p, 0, 31)
				if err != nil {
					return err
				}
				hw, err := net.ParseMAC(mac)
				if err != nil || len(hw) != 6 {
					return fmt.Errorf("%q is not a MAC address", mac)
				}
				c.EthPeers[uint16(n)] = hw
				return nil
			}},
		{name: "port-topology", arg: needArg, usage: "--port-topology=<paired|chained|loop>: set port topology (paired is default).",
			set: func(c *Config, v string) (err error) { c.Topology, err = ParseTopology(v); return }},
		{name: "forward-mode", arg: needArg, usage: "--forward-mode=N: set forwarding mode (see `set fwd` for the list).",
			set: func(c *Config, v string) error { c.ForwardMode = v; return nil }},
		{name: "rss-ip", usage: "--rss-ip: set RSS functions to IPv4/IPv6 only.",
			set: flag(func(c *Config) { c.RSS = RSSIP })},
		{name: "rss-udp", usage: "--rss-udp: set RSS functions to IPv4/IPv6 + UDP.",
			set: flag(func(c *Config) { c.RSS = RSSUDP })},
		{name: "disable-rss", usage: "--disable-rss: disable rss.",
			set: flag(func(c *Config) { c.RSS = RSSOff })},
		{name: "rxq", arg: needArg, usage: "--rxq=N: set the number of RX queues per port to N.",
			set: u16Arg(func(c *Config) *uint16 { return &c.RxQueues }, 1, 1024)},
		{name: "txq", arg: needArg, usage: "--txq=N: set the number of TX queues per port to N.",
			set: u16Arg(func(c *Config) *uint16 { return &c.TxQueues }, 1, 1024)},
		{name: "rxd", arg: needArg, usage: "--rxd=N: set the number of descriptors in RX rings to N.",
			set: u16Arg(func(c *Config) *uint16 { return &c.RxDesc }, 1, 65535)},
		{name: "txd", arg: needArg, usage: "--txd=N: set the number of descriptors in TX rings to N.",
			set: u16Arg(func(c *Config) *uint16 { return &c.TxDesc }, 1, 65535)},
		{name: "burst", arg: needArg, usage: "--burst=N: set the number of packets per burst to N (1..512).",
			set: u16Arg(func(c *Config) *uint16 { return &c.Burst }, 1, 512)},
		{name: "no-flush-rx", usage: "--no-flush-rx: do not flush RX queues before forwarding. Used mainly with PCAP drivers.",
			set: flag(func(c *Config) { c.NoFlushRx = true })},
		{name: "txpkts", arg: needArg, usage: "--txpkts=X[,Y]*: set TX segment sizes or total packet length.",
			set: func(c *Config, v string) error {
				ls, err := parseU16s(v)
				if err == nil && len(ls) > 1 {
					return errors.New("multi-segment txonly packets are not supported by offloadpmd; give one length")
				}
				c.TxPkts = ls
				return err
			}},
		{name: "txonly-multi-flow", usage: "--txonly-multi-flow: generate multiple flows in txonly mode.",
			set: flag(func(c *Config) { c.TxOnlyMultiFlow = true })},
		{name: "tx-ip", arg: needArg, usage: "--tx-ip=src,dst: IP addresses in txonly mode.",
			set: func(c *Config, v string) error {
				s, d, ok := strings.Cut(v, ",")
				src, dst := net.ParseIP(s).To4(), net.ParseIP(d).To4()
				if !ok || src == nil || dst == nil {
					return fmt.Errorf("%q: want two IPv4 addresses, SRC,DST", v)
				}
				c.TxIPSrc, c.TxIPDst = src, dst
				return nil
			}},
		{name: "tx-udp", arg: needArg, usage: "--tx-udp=src[,dst]: UDP ports in txonly mode.",
			set: func(c *Config, v string) error {
				ps, err := parseU16s(v)
				if err != nil || len(ps) > 2 {
					return fmt.Errorf("%q: want SRC[,DST] ports", v)
				}
				c.TxUDPSrc, c.TxUDPDst = ps[0], ps[0]
				if len(ps) == 2 {
					c.TxUDPDst = ps[1]
				}
				return nil
			}},
		{name: "disable-link-check", usage: "--disable-link-check: disable check on link status when starting/stopping ports.",
			set: flag(func(c *Config) { c.DisableLinkCheck = true })},
		{name: "disable-device-start", usage: "--disable-device-start: do not automatically start ports.",
			set: flag(func(c *Config) { c.DisableDeviceStart = true })},
		{name: "no-lsc-interrupt", usage: "--no-lsc-interrupt: disable link status change interrupt.",
			set: flag(func(c *Config) { c.NoLSCInterrupt = true })},
		{name: "no-rmv-interrupt", usage: "--no-rmv-interrupt: disable device removal interrupt.",
			set: flag(func(c *Config) { c.NoRMVInterrupt = true })},
		{name: "mlockall", usage: "--mlockall: lock all memory (the default).",
			set: flag(func(c *Config) { c.NoMlockall = false })},
		{name: "no-mlockall", usage: "--no-mlockall: do not lock all memory.",
			set: flag(func(c *Config) { c.NoMlockall = true })},
		{name: "rx-offloads", arg: needArg, usage: "--rx-offloads=0xXXXXXXXX: hexadecimal bitmask of RX offloads to enable.",
			set: func(c *Config, v string) (err error) { c.RxOffloads, err = parseHex(v); return }},
		{name: "tx-offloads", arg: needArg, usage: "--tx-offloads=0xXXXXXXXX: hexadecimal bitmask of TX offloads to enable.",
			set: func(c *Config, v string) (err error) { c.TxOffloads, err = parseHex(v); return }},
		{name: "enable-rx-cksum", usage: "--enable-rx-cksum: enable RX checksum offload.",
			set: rxOffloads("ipv4_cksum", "udp_cksum", "tcp_cksum")},
		{name: "enable-lro", usage: "--enable-lro: enable large receive offload.",
			set: rxOffloads("tcp_lro")},
		{name: "enable-scatter", usage: "--enable-scatter: enable scattered RX.",
			set: rxOffloads("scatter")},
		{name: "enable-rx-timestamp", usage: "--enable-rx-timestamp: enable RX timestamp offload.",
			set: rxOffloads("timestamp")},
		{name: "enable-hw-vlan", usage: "--enable-hw-vlan: enable hardware vlan (filter, strip, extend).",
			set: rxOffloads("vlan_strip", "vlan_filter", "vlan_extend")},
		{name: "enable-hw-vlan-filter", usage: "--enable-hw-vlan-filter: enable hardware vlan filter.",
			set: rxOffloads("vlan_filter")},
		{name: "enable-hw-vlan-strip", usage: "--enable-hw-vlan-strip: enable hardware vlan strip.",
			set: rxOffloads("vlan_strip")},
		{name: "enable-hw-vlan-extend", usage: "--enable-hw-vlan-extend: enable hardware vlan extend.",
			set: rxOffloads("vlan_extend")},
		{name: "enable-hw-qinq-strip", usage: "--enable-hw-qinq-strip: enable hardware qinq strip.",
			set: rxOffloads("qinq_strip")},
		{name: "disable-crc-strip", usage: "--disable-crc-strip: keep the CRC (KEEP_CRC).",
			set: rxOffloads("keep_crc")},

		// offloadpmd's own.
		{name: "config", arg: needArg, usage: "--config=FILE: load the YAML config FILE first; the other options override it (see config/default.yaml).",
			set: func(*Config, string) error { return nil }}, // read before the others
		{name: "print-config", usage: "--print-config: print the merged configuration as YAML, in the config file's schema, and exit.",
			set: flag(func(c *Config) { c.PrintConfig = true })},
		{name: "stats-json", arg: needArg, usage: "--stats-json=FILE: also write the forward and port statistics to FILE as JSON (at every period and at exit).",
			set: func(c *Config, v string) error { c.StatsJSON = v; return nil }},
		{name: "pipeline", usage: "--pipeline: split each stream over two lcores joined by a ring: RX, RX stages and the engine on the first nb-cores workers, the TX stage and TX on the next nb-cores (needs 2 × nb-cores workers).",
			set: flag(func(c *Config) { c.Pipeline = true })},
		{name: "busy-poll", usage: "--busy-poll: never back off on an idle port (for benchmarks).",
			set: flag(func(c *Config) { c.BusyPoll = true })},
		{name: "rx-caps", arg: needArg, usage: "--rx-caps=NAME[,NAME...]: enable RX capabilities by name (ipv4_cksum, tcp_cksum, udp_cksum, tcp_lro, udp_gro, ipv4_reassembly, ...): in hardware where the device does them, in software otherwise.",
			set: func(c *Config, v string) error { c.RxCaps = append(c.RxCaps, splitNames(v)...); return nil }},
		{name: "tx-caps", arg: needArg, usage: "--tx-caps=NAME[,NAME...]: enable TX capabilities by name (ipv4_cksum, tcp_cksum, udp_cksum, tcp_tso, tcp_tso6, udp_tso, udp_tso6, ufo, ...).",
			set: func(c *Config, v string) error { c.TxCaps = append(c.TxCaps, splitNames(v)...); return nil }},
		{name: "sw-rx", arg: needArg, usage: "--sw-rx=NAME[,NAME...]: perform these RX capabilities in software even where the device could.",
			set: func(c *Config, v string) error { c.SwRx = append(c.SwRx, splitNames(v)...); return nil }},
		{name: "sw-tx", arg: needArg, usage: "--sw-tx=NAME[,NAME...]: perform these TX capabilities in software even where the device could (testpmd's `csum set X sw`).",
			set: func(c *Config, v string) error { c.SwTx = append(c.SwTx, splitNames(v)...); return nil }},
		{name: "gro-timeout", arg: needArg, usage: "--gro-timeout=US: how long GRO holds a packet, in microseconds (default 50).",
			set: uintArgCfg(func(c *Config) *uint { return &c.GROTimeoutUs }, 1, 10_000_000)},
		{name: "tap", arg: needArg, usage: "--tap=NAME[,netns=NS][,queues=N][,offload=csum+tso4+...]: create a kernel-facing vnet-hdr TAP port (in namespace NS), offering the kernel these offloads (default csum+tso4+tso6+uso4+uso6; none for none). Repeatable; TAP ports get ids from 32.",
			set: func(c *Config, v string) error {
				t, err := ParseTap(v)
				if err != nil {
					return err
				}
				c.Taps = append(c.Taps, t)
				return nil
			}},
		{name: "gro-no-verify", usage: "--gro-no-verify: GRO merges segments whose checksums (IPv4 header and L4) were not verified, as librte_gro does (the merged L4 checksum is still combined from the segments' own, so a corrupt payload shows).",
			set: flag(func(c *Config) { c.GRONoVerify = true })},
		{name: "gro-flows", arg: needArg, usage: "--gro-flows=N: flows each stream's GRO table holds (default 64).",
			set: uintArgCfg(func(c *Config) *uint { return &c.GROFlows }, 1, 1<<16)},
		{name: "reassembly-timeout", arg: needArg, usage: "--reassembly-timeout=S: how long reassembly waits for a datagram's fragments, in seconds (default 30).",
			set: uintArgCfg(func(c *Config) *uint { return &c.ReassTimeoutS }, 1, 3600)},
		{name: "rx-bursts", arg: needArg, usage: "--rx-bursts=N: a poll takes up to N back-to-back full RX bursts before the engine runs (default 1, as testpmd). More amortises the cgo crossing but keeps more mbufs in flight; measure before raising it.",
			set: u16Arg(func(c *Config) *uint16 { return &c.RxBursts }, 1, 16)},
		{name: "direct-rounds", arg: needArg, usage: "--direct-rounds=N: while a stream's bursts need nothing from Go (io engine, no stage enabled on its ports, nobody watching), C forwards up to N of them per crossing into Go (default 8; 1: one crossing per burst). A table change still reaches the next burst.",
			set: u16Arg(func(c *Config) *uint16 { return &c.DirectRounds }, 1, 64)},
		{name: "run-time", arg: needArg, usage: "--run-time=SECONDS: forward for SECONDS, then stop and exit as on SIGINT.",
			set: uintArgCfg(func(c *Config) *uint { return &c.RunTime }, 1, 1<<31)},
		{name: "metrics-addr", arg: needArg, usage: "--metrics-addr=[HOST]:PORT: serve Prometheus /metrics there (off by default; a bare :PORT listens on 127.0.0.1 only).",
			set: func(c *Config, v string) error {
				addr, err := MetricsListenAddr(v)
				c.MetricsAddr = addr
				return err
			}},
		{name: "esp-engine", arg: needArg, usage: "--esp-engine=auto|go: ESP's crypto on DPDK's ipsec_mb crypto devices where they open (auto, the default), or in Go.",
			set: func(c *Config, v string) error {
				if v != "auto" && v != "go" {
					return fmt.Errorf("%q: allowed are auto, go", v)
				}
				c.ESPEngine = v
				return nil
			}},
		{name: "log-level", arg: needArg, usage: "--log-level=LEVEL: offloadpmd log level: trace, debug, info, warn, error.",
			set: func(c *Config, v string) error {
				switch v {
				case "trace", "debug", "info", "warn", "error", "disabled":
					c.LogLevel = v
					return nil
				}
				return fmt.Errorf("%q: allowed are trace, debug, info, warn, error, disabled", v)
			}},
		{name: "tx-retry", arg: needArg, usage: "--tx-retry=N: retry a TX queue that takes nothing up to N times before dropping (testpmd's `set fwd <mode> retry`).",
			set: func(c *Config, v string) error {
				n, err := parseUint(v, 0, 1<<20)
				c.TxRetry = uint32(n)
				return err
			}},
		{name: "tx-retry-delay", arg: needArg, usage: "--tx-retry-delay=US: microseconds between TX retries.",
			set: func(c *Config, v string) error {
				n, err := parseUint(v, 0, 1<<20)
				c.TxRetryDelayUs = uint32(n)
				return err
			}},
	}

	// testpmd options accepted for compatibility, with no effect here.
	for _, o := range []struct {
		name, why string
		arg       argKind
	}{
		{"numa", "NUMA placement follows each port's socket", noArg},
		{"no-numa", "NUMA placement follows each port's socket", noArg},
		{"port-numa-config", "NUMA placement follows each port's socket", needArg},
		{"ring-numa-config", "NUMA placement follows each port's socket", needArg},
		{"socket-num", "NUMA placement follows each port's socket", needArg},
		{"mp-alloc", "mempools are always DPDK native", needArg},
		{"rxpt", "descriptor thresholds are the driver's", needArg},
		{"rxht", "descriptor thresholds are the driver's", needArg},
		{"rxwt", "descriptor thresholds are the driver's", needArg},
		{"rxfreet", "descriptor thresholds are the driver's", needArg},
		{"txpt", "descriptor thresholds are the driver's", needArg},
		{"txht", "descriptor thresholds are the driver's", needArg},
		{"txwt", "descriptor thresholds are the driver's", needArg},
		{"txfreet", "descriptor thresholds are the driver's", needArg},
		{"txrst", "descriptor thresholds are the driver's", needArg},
		{"print-event", "device events are logged", needArg},
		{"mask-event", "device events are logged", needArg},
		{"hot-plug", "hot-plug events are not handled", noArg},
		{"record-core-cycles", "not recorded", noArg},
		{"record-burst-stats", "not recorded", noArg},
		{"bitrate-stats", "use the stats-period output", needArg},
		{"latencystats", "not measured", needArg},
		{"eth-link-speed", "link speed is the driver's", needArg},
		{"enable-drop-en", "queue drop is the driver's", noArg},
		{"max-lro-pkt-size", "LRO size comes with the assembly engine", needArg},
	} {
		o := o
		options = append(options, option{
			name: o.name, arg: o.arg, compat: o.why,
			usage: fmt.Sprintf("--%s: accepted for testpmd compatibility; no effect (%s).", o.name, o.why),
		})
	}

	// testpmd options offloadpmd refuses: silently ignoring them would
	// run something other than what was asked.
	for _, o := range []struct {
		name, why string
		arg       argKind
	}{
		{"num-procs", "multi-process mode", needArg},
		{"proc-id", "multi-process mode", needArg},
		{"hairpinq", "hairpin queues", needArg},
		{"hairpin-mode", "hairpin queues", needArg},
		{"flowgen-clones", "the flowgen engine", needArg},
		{"flowgen-flows", "the flowgen engine", needArg},
		{"rxoffs", "RX buffer split", needArg},
		{"rxpkts", "RX buffer split", needArg},
		{"rxhdrs", "RX buffer split", needArg},
		{"multi-rx-mempool", "several RX mempools", noArg},
		{"rxq-share", "shared RX queues", needArg},
		{"flow-isolate-all", "flow isolation", noArg},
		{"vxlan-gpe-port", "VXLAN-GPE parsing", needArg},
		{"geneve-parsed-port", "GENEVE parsing", needArg},
		{"rx-mq-mode", "RX multi-queue modes other than RSS", needArg},
		{"eth-peers-configfile", "a peers file; use --eth-peer", needArg},
		{"rss-level-inner", "RSS levels", noArg},
		{"rss-level-outer", "RSS levels", noArg},
		{"no-iova-contig", "anonymous mempools", noArg},
		{"noisy-tx-sw-buffer-size", "the noisy engine", needArg},
		{"noisy-tx-sw-buffer-flushtime", "the noisy engine", needArg},
		{"noisy-lkup-memory", "the noisy engine", needArg},
		{"noisy-lkup-num-writes", "the noisy engine", needArg},
		{"noisy-lkup-num-reads", "the noisy engine", needArg},
		{"noisy-lkup-num-reads-writes", "the noisy engine", needArg},
	} {
		options = append(options, option{
			name: o.name, arg: o.arg, set: unsupported(o.why),
			usage: fmt.Sprintf("--%s: not supported by offloadpmd (%s).", o.name, o.why),
		})
	}
}

// rxOffloads adds RX offloads by DPDK name (resolved against the device
// when ports are configured).
func rxOffloads(names ...string) func(*Config, string) error {
	return func(c *Config, _ string) error {
		c.RxOffloadNames = append(c.RxOffloadNames, names...)
		return nil
	}
}

func uintArgCfg(field func(*Config) *uint, lo, hi uint64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := parseUint(v, lo, hi)
		*field(c) = uint(n)
		return err
	}
}

func u16Arg(field func(*Config) *uint16, lo, hi uint64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := parseUint(v, lo, hi)
		*field(c) = uint16(n)
		return err
	}
}

func splitNames(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseU16s(v string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(v, ",") {
		n, err := parseUint(strings.TrimSpace(f), 0, 65535)
		if err != nil {
			return nil, err
		}
		out = append(out, uint16(n))
	}
	return out, nil
}

// parseList reads "0,2-3" into [0 2 3].
func parseList(v string) ([]uint16, error) {
	var out []uint16
	for _, f := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := parseUint(lo, 0, 65535)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parseUint(hi, a, 65535); err != nil {
				return nil, err
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, uint16(i))
		}
	}
	return out, nil
}

// lookup finds a long option by name or unique prefix, as getopt_long does.
func lookup(name string) (*option, error) {
	var hits []*option
	for i := range options {
		o := &options[i]
		if o.name == name {
			return o, nil
		}
		if strings.HasPrefix(o.name, name) {
			hits = append(hits, o)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return nil, fmt.Errorf("unrecognized option '--%s'", name)
	}
	names := make([]string, len(hits))
	for i, h := range hits {
		names[i] = "--" + h.name
	}
	return nil, fmt.Errorf("option '--%s' is ambiguous; possibilities: %s", name, strings.Join(names, " "))
}

// given is one application option as given on the command line.
type given struct {
	o   *option
	val string
	pos int    // position in args, from 1
	arg string // as written
}

// scanApp splits the application arguments into options and values.
// base is the position of app[0] in the whole command line, from 1.
func scanApp(app []string, base int) ([]given, error) {
	var out []given
	for i := 0; i < len(app); i++ {
		a := app[i]
		pos := base + i
		var o *option
		var val string
		hasVal := false
		switch {
		case strings.HasPrefix(a, "--"):
			name, v, eq := strings.Cut(a[2:], "=")
			var err error
			if o, err = lookup(name); err != nil {
				return nil, fmt.Errorf("%w: argument %d %q: %v", ErrUsage, pos, a, err)
			}
			val, hasVal = v, eq
		case len(a) == 2 && a[0] == '-':
			for j := range options {
				if options[j].short == a[1] {
					o = &options[j]
				}
			}
			if o == nil {
				return nil, fmt.Errorf("%w: argument %d %q: invalid option", ErrUsage, pos, a)
			}
		default:
			return nil, fmt.Errorf("%w: argument %d %q: invalid parameter (options start with --)", ErrUsage, pos, a)
		}
		switch {
		case o.arg == needArg && !hasVal:
			if i+1 >= len(app) {
				return nil, fmt.Errorf("%w: argument %d %q: option requires an argument", ErrUsage, pos, a)
			}
			i++
			val = app[i]
		case o.arg == noArg && hasVal:
			return nil, fmt.Errorf("%w: argument %d %q: option --%s takes no value", ErrUsage, pos, a, o.name)
		}
		out = append(out, given{o: o, val: val, pos: pos, arg: a})
	}
	return out, nil
}

// Parse reads a whole command line (without the program name): EAL
// arguments, "--", application arguments. With --config the file is
// applied first and the options over it (see file.go for the rule).
// Command-line errors wrap ErrUsage and name the argument and its
// position; config file errors wrap ErrConfigFile and name the file, line
// and field.
func Parse(args []string) (*Config, error) {
	c := Defaults()
	eal, app := args, []string(nil)
	for i, a := range args {
		if a == "--" {
			eal, app = args[:i], args[i+1:]
			break
		}
	}
	opts, err := scanApp(app, len(eal)+2)
	if err != nil {
		return nil, err
	}
	var file *fileConfig
	for _, g := range opts {
		if g.o.name != "config" {
			continue
		}
		if c.ConfigFile != "" {
			return nil, fmt.Errorf("%w: argument %d %q: --config given twice", ErrUsage, g.pos, g.arg)
		}
		if g.val == "" {
			return nil, fmt.Errorf("%w: argument %d %q: --config: want a file name", ErrUsage, g.pos, g.arg)
		}
		c.ConfigFile = g.val
	}
	if c.ConfigFile != "" {
		if file, err = readFile(c.ConfigFile, &c); err != nil {
			return nil, err
		}
	}
	if err := c.mergeEAL(eal, file); err != nil {
		return nil, err
	}
	fileStatsPeriod := c.StatsPeriod
	for _, g := range opts {
		o := g.o
		if o.compat != "" {
			c.Warnings = append(c.Warnings, fmt.Sprintf("--%s is accepted for testpmd compatibility and has no effect: %s", o.name, o.compat))
			continue
		}
		if err := o.set(&c, g.val); err != nil {
			return nil, fmt.Errorf("%w: argument %d %q: --%s: %v", ErrUsage, g.pos, g.arg, o.name, err)
		}
		if _, inFile := FileKeys[o.name]; !inFile && o.name != "config" && o.name != "print-config" {
			a := "--" + o.name
			if o.arg == needArg {
				a += "=" + g.val
			}
			c.CmdlineOnly = append(c.CmdlineOnly, a)
		}
	}
	if c.Interactive && fileStatsPeriod > 0 && c.StatsPeriod == fileStatsPeriod {
		// -i on the command line overrides the file's periodic statistics.
		c.StatsPeriod = 0
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s: forwarding.stats_period is ignored in interactive mode (-i)", c.ConfigFile))
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	return &c, nil
}

func (c *Config) validate() error {
	if c.TxFirst && c.Interactive {
		return errors.New("--tx-first cannot be used in interactive mode")
	}
	if c.StatsPeriod > 0 && c.Interactive {
		return errors.New("--stats-period cannot be used in interactive mode")
	}
	if c.TxPktLen() < 42 {
		return fmt.Errorf("--txpkts: %d bytes cannot hold Ethernet, IPv4 and UDP headers (42)", c.TxPktLen())
	}
	if c.TxPktLen() > int(c.MbufSize)-128 {
		return fmt.Errorf("--txpkts: %d bytes do not fit a %d-byte mbuf (--mbuf-size, headroom 128 included)", c.TxPktLen(), c.MbufSize)
	}
	if c.MaxPktLen != 0 && c.MaxPktLen < 64 {
		return fmt.Errorf("--max-pkt-len %d is below 64", c.MaxPktLen)
	}
	return nil
}

// Usage is the application part of --help, generated from the table.
func Usage(prog string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nUsage: %s [EAL options] -- [offloadpmd options]\n\n", prog)
	fmt.Fprintf(&b, "Without EAL options offloadpmd runs on its embedded default: %s\n\n", strings.Join(DefaultEAL(), " "))
	sorted := append([]option(nil), options...)
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i]) < rank(sorted[j]) })
	for _, o := range sorted {
		if k, ok := FileKeys[o.name]; ok {
			fmt.Fprintf(&b, "  %s [config file: %s]\n", o.usage, k)
		} else {
			fmt.Fprintf(&b, "  %s\n", o.usage)
		}
	}
	return b.String()
}

func rank(o option) int {
	switch {
	case o.compat != "":
		return 1
	case strings.Contains(o.usage, "not supported"):
		return 2
	}
	return 0
}
