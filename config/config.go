// Package config turns offloadpmd's command line and its YAML config file
// (--config, file.go) into one validated Config. The command line is
// testpmd's: EAL arguments, then "--", then application arguments, so a
// testpmd user's command line works unchanged; the file is applied first
// and the command line overrides it.
package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/offloadpmd/offloadpmd/offload/dos"
)

// Topology is testpmd's --port-topology.
type Topology int

// Port topologies.
const (
	// TopologyPaired forwards port 0 <-> 1, 2 <-> 3, ...
	TopologyPaired Topology = iota
	// TopologyChained forwards port 0 -> 1 -> 2 -> ... -> 0.
	TopologyChained
	// TopologyLoop forwards each port to itself.
	TopologyLoop
)

var topologyNames = [...]string{"paired", "chained", "loop"}

func (t Topology) String() string { return topologyNames[t] }

// ParseTopology reads a --port-topology value.
func ParseTopology(s string) (Topology, error) {
	for i, n := range topologyNames {
		if n == s {
			return Topology(i), nil
		}
	}
	return 0, fmt.Errorf("port topology %q: allowed are paired, chained, loop", s)
}

// RSS hash choices (testpmd's --rss-ip, --rss-udp, --disable-rss).
type RSS int

// RSS modes.
const (
	RSSDefault RSS = iota // IP | TCP | UDP with several RX queues
	RSSIP
	RSSUDP
	RSSOff
)

// Config is offloadpmd's whole configuration.
type Config struct {
	// EAL are the arguments before "--", for rte_eal_init.
	EAL []string
	// EALDefaulted is set when offloadpmd made the EAL arguments itself
	// (the embedded default DefaultEAL, or a config file's eal section)
	// with a file prefix of its own, whose run directory it removes at exit.
	EALDefaulted bool

	// ConfigFile is the --config file ("": none); PrintConfig asks for the
	// merged configuration as YAML (--print-config).
	ConfigFile  string
	PrintConfig bool
	// CmdlineOnly are the application options given that the config
	// file's schema does not hold, as --name[=value], for --print-config.
	CmdlineOnly []string

	Interactive bool
	AutoStart   bool
	TxFirst     bool
	Help        bool
	CmdlineFile string

	ForwardMode string
	Topology    Topology

	StatsPeriod  uint // seconds; 0: off
	StatsJSON    string
	DisplayXStat []string

	NbCores  int    // 0: all worker lcores' count capped by streams, testpmd: 1
	NbPorts  int    // 0: all
	CoreMask uint64 // 0: all workers
	PortMask uint64 // 0: all
	PortList []uint16

	TotalNumMbufs uint
	MbufSize      uint16 // data room per mbuf, headroom included
	MbufCache     uint
	MaxPktLen     uint32

	RxQueues, TxQueues uint16
	RxDesc, TxDesc     uint16
	Burst              uint16
	RSS                RSS

	RxOffloads, TxOffloads uint64   // --rx-offloads, --tx-offloads masks
	RxOffloadNames         []string // --enable-* flags, by DPDK offload name
	// Capabilities to enable by name, in hardware where the device does
	// them and in software otherwise (--rx-caps, --tx-caps), and those to
	// perform in software even where the device could (--sw-rx, --sw-tx).
	RxCaps, TxCaps []string
	SwRx, SwTx     []string

	GROTimeoutUs uint // --gro-timeout
	GRONoVerify  bool // --gro-no-verify
	// Taps are the kernel-facing vnet-hdr TAP ports to create (the config
	// file's, then --tap's); they get port ids from FirstTapPort up.
	Taps []TapSpec
	// PortOffloads are ports' own wanted offloads (a config file's
	// ports[i].offloads), by port id, on top of RxCaps, TxCaps, SwRx, SwTx.
	PortOffloads map[uint16]PortWanted
	// PortDigests are ports' digests (a config file's ports[i].digest),
	// by port id; their keys stay in their key files.
	PortDigests   map[uint16]DigestSpec
	GROFlows      uint // --gro-flows
	ReassTimeoutS uint // --reassembly-timeout

	EthPeers map[uint16]net.HardwareAddr

	TxPkts             []uint16 // txonly segment lengths
	TxOnlyMultiFlow    bool
	TxIPSrc, TxIPDst   net.IP
	TxUDPSrc, TxUDPDst uint16

	NoFlushRx          bool
	NoLSCInterrupt     bool
	NoRMVInterrupt     bool
	DisableLinkCheck   bool
	DisableDeviceStart bool
	NoMlockall         bool // --no-mlockall: leave memory pageable (testpmd locks it by default)

	// Ours, beyond testpmd.
	BusyPoll       bool   // never back off when idle (benchmarks)
	Pipeline       bool   // stages split over two lcores per stream
	RxBursts       uint16 // full RX bursts one poll may take
	DirectRounds   uint16 // bursts of plain io forwarding C may take per crossing
	RunTime        uint   // seconds to forward before exiting; 0: until signalled
	LogLevel       string // zerolog level
	MetricsAddr    string // Prometheus listen address; "": no /metrics
	ESPEngine      string // ESP's crypto: "auto" (crypto devices where they open) or "go"
	TxRetry        uint32 // extra TX rounds when a TX queue takes nothing
	TxRetryDelayUs uint32

	// SAs are the config file's IPsec security associations (sa.go), with
	// their outbound policies; their keys stay in their key files.
	SAs []SASpec

	// DoS is the config file's dos section (dos.go) over
	// dos.DefaultConfig(); nil without one.
	DoS *dos.Config

	// Rules are the config file's flow rules (rules.go), by port in the
	// file's order.
	Rules []RuleSpec

	// Warnings collected while parsing: options accepted for compatibility
	// that change nothing here.
	Warnings []string
}

// Defaults are testpmd's defaults where they make sense without hugepages.
func Defaults() Config {
	return Config{
		ForwardMode:   "io",
		ESPEngine:     "auto",
		Topology:      TopologyPaired,
		NbCores:       1,
		TotalNumMbufs: 16384,
		MbufSize:      2048 + 128,
		MbufCache:     250,
		RxQueues:      1,
		TxQueues:      1,
		Burst:         32,
		RxBursts:      1,
		DirectRounds:  8,
		TxPkts:        []uint16{64},
		TxIPSrc:       net.IPv4(198, 18, 0, 1).To4(),
		TxIPDst:       net.IPv4(198, 18, 0, 2).To4(),
		TxUDPSrc:      9,
		TxUDPDst:      9,
		LogLevel:      "info",
		GROTimeoutUs:  50,
		GROFlows:      64,
		ReassTimeoutS: 30,
		EthPeers:      map[uint16]net.HardwareAddr{},
	}
}

// DefaultEAL is the embedded default environment used when the command
// line gives no EAL arguments: two lcores, no hugepages, no PCI, a pair of
// net_null ports, and a file prefix of the process's own (removed at exit).
// config/default.yaml holds the same.
func DefaultEAL() []string {
	a := defaultEALSection().args()
	for _, v := range defaultVdevs {
		a = append(a, "--vdev="+v)
	}
	return a
}

// PeerMAC is the destination MAC the mac and txonly engines write for
// packets leaving port p: --eth-peer, else testpmd's 02:00:00:00:00:<p>.
func (c *Config) PeerMAC(p uint16) net.HardwareAddr {
	if m, ok := c.EthPeers[p]; ok {
		return m
	}
	return net.HardwareAddr{0x02, 0, 0, 0, 0, byte(p)}
}

// TxPktLen is the total txonly frame length.
func (c *Config) TxPktLen() int {
	n := 0
	for _, l := range c.TxPkts {
		n += int(l)
	}
	return n
}

// TapSpec is one --tap=NAME[,netns=NS][,queues=N][,offload=A+B...].
type TapSpec struct {
	Name    string
	Netns   string
	Queues  int
	Offload []string // csum, tso4, tso6, tso_ecn, ufo, uso4, uso6; empty: csum, tso4, tso6, uso4, uso6
}

// TapOffloadNames are the offload names --tap takes.
var TapOffloadNames = []string{"csum", "tso4", "tso6", "tso_ecn", "ufo", "uso4", "uso6", "none"}

// ParseTap parses the value of --tap.
func ParseTap(v string) (TapSpec, error) {
	parts := strings.Split(v, ",")
	t := TapSpec{Name: parts[0], Queues: 1}
	if err := checkTapName(t.Name); err != nil {
		return t, err
	}
	for _, kv := range parts[1:] {
		k, val, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return t, fmt.Errorf("%q: want key=value (netns, queues, offload)", kv)
		case k == "netns":
			if err := checkNetns(val); err != nil {
				return t, err
			}
			t.Netns = val
		case k == "queues":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 64 {
				return t, fmt.Errorf("queues %q: want 1 to 64", val)
			}
			t.Queues = n
		case k == "offload":
			for _, o := range strings.Split(val, "+") {
				if !slices.Contains(TapOffloadNames, o) {
					return t, fmt.Errorf("offload %q: want %s, joined with '+'", o, strings.Join(TapOffloadNames, ", "))
				}
				t.Offload = append(t.Offload, o)
			}
		default:
			return t, fmt.Errorf("unknown key %q: want netns, queues or offload", k)
		}
	}
	return t, nil
}

func checkTapName(n string) error {
	if n == "" || len(n) > 15 || strings.ContainsAny(n, "/ =,") {
		return fmt.Errorf("interface name %q: want 1 to 15 characters, no '/', ' ', '=' or ','", n)
	}
	return nil
}

func checkNetns(ns string) error {
	if ns == "" || strings.ContainsAny(ns, "/ ") {
		return fmt.Errorf("netns %q: want a namespace name (ip netns list)", ns)
	}
	return nil
}

// MetricsListenAddr checks a --metrics-addr value and makes a bare ":PORT"
// loopback-only: exposing the counters beyond the host takes an explicit
// host such as 0.0.0.0.
func MetricsListenAddr(v string) (string, error) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", fmt.Errorf("%q is not HOST:PORT or :PORT", v)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", fmt.Errorf("port %q: allowed are 1..65535", port)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}
