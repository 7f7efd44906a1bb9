package config

import (
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestParseTestpmdCommandLines(t *testing.T) {
	// Command lines the DPDK anchor scripts give dpdk-testpmd.
	lines := []string{
		"-l 0-1 --no-huge -m 1024 --no-pci --file-prefix=x --vdev=net_pcap0,rx_pcap=a.pcap,infinite_rx=1 -- -i --port-topology=loop --forward-mode=io --no-lsc-interrupt --total-num-mbufs=16384",
		"-l 0-1 --no-huge -m 2048 --no-pci --vdev=net_pcap0,rx_pcap=a.pcap,infinite_rx=1 -- -i --port-topology=loop --forward-mode=csum --no-lsc-interrupt --total-num-mbufs=8192 --mbuf-size=34000 --disable-device-start",
		"-l 0-1 --no-huge -m 1024 --no-pci --vdev=net_null0 --vdev=net_null1 -- -i --total-num-mbufs=16384 --forward-mode=io --no-lsc-interrupt",
		"-l 0-1 --no-huge -- --total-num-mbufs=16384 --forward-mode=io --auto-start --stats-period 1",
		"-l 0-1 --no-huge -- -a --nb-cores 1 --rxq=2 --txq 2 --burst=64 --portmask=0x3 --numa --mp-alloc=native --rxfreet=32",
	}
	for _, l := range lines {
		c, err := Parse(strings.Fields(l))
		if err != nil {
			t.Errorf("%s: %v", l, err)
			continue
		}
		if c.EALDefaulted {
			t.Errorf("%s: EAL arguments were replaced by the default", l)
		}
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse(strings.Fields("-l 0-3 -- --forward-mode=mac --port-topology chained --nb-cores=2 " +
		"--rxq=4 --txq=4 --rxd=512 --txd=1024 --burst=64 --portmask=0x5 --eth-peer=1,aa:bb:cc:dd:ee:ff " +
		"--txpkts=128 --tx-ip=10.0.0.1,10.0.0.2 --tx-udp=1000,2000 --stats-per 2 --enable-rx-cksum " +
		"--rx-offloads=0x10 --tx-retry=8 --busy-poll --no-mlockall --rss-udp --numa"))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.EAL = []string{"-l", "0-3"}
	want.ForwardMode, want.Topology, want.NbCores = "mac", TopologyChained, 2
	want.RxQueues, want.TxQueues, want.RxDesc, want.TxDesc, want.Burst = 4, 4, 512, 1024, 64
	want.PortMask = 5
	want.EthPeers = map[uint16]net.HardwareAddr{1: {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}}
	want.TxPkts = []uint16{128}
	want.TxIPSrc, want.TxIPDst = net.IPv4(10, 0, 0, 1).To4(), net.IPv4(10, 0, 0, 2).To4()
	want.TxUDPSrc, want.TxUDPDst = 1000, 2000
	want.StatsPeriod = 2 // "--stats-per" is a unique prefix, as getopt_long allows
	want.RxOffloadNames = []string{"ipv4_cksum", "udp_cksum", "tcp_cksum"}
	want.RxOffloads = 0x10
	want.TxRetry = 8
	want.BusyPoll, want.NoMlockall = true, true
	want.RSS = RSSUDP
	want.Warnings = c.Warnings
	want.CmdlineOnly = c.CmdlineOnly // TestPrintConfigCmdlineOnly
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got  %+v\nwant %+v", *c, want)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "--numa") {
		t.Errorf("warnings %q: want one about --numa having no effect", c.Warnings)
	}
	if got := c.PeerMAC(1).String(); got != "aa:bb:cc:dd:ee:ff" {
		t.Errorf("peer of port 1 %s", got)
	}
	if got := c.PeerMAC(3).String(); got != "02:00:00:00:00:03" {
		t.Errorf("default peer of port 3 %s, want testpmd's 02:00:00:00:00:03", got)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.EALDefaulted || !strings.Contains(strings.Join(c.EAL, " "), "--vdev=net_null0") || !strings.Contains(strings.Join(c.EAL, " "), "--no-huge") {
		t.Errorf("embedded default EAL %v", c.EAL)
	}
	if c.ForwardMode != "io" || c.Burst != 32 || c.NbCores != 1 || c.Topology != TopologyPaired || c.MbufSize != 2176 {
		t.Errorf("defaults differ from testpmd's: %+v", c)
	}
}

// Every error names the argument, its position and what is allowed.
func TestParseErrors(t *testing.T) {
	cases := []struct{ line, want string }{
		{"-l 0 -- --bogus", `argument 4 "--bogus": unrecognized option '--bogus'`},
		{"-- --nb-cores", `argument 2 "--nb-cores": option requires an argument`},
		{"-- --nb-cores=0", `--nb-cores: 0 is outside 1..1024`},
		{"-- --burst=513", `--burst: 513 is outside 1..512`},
		{"-- --burst=x", `"x" is not a number`},
		{"-- --port-topology=ring", `port topology "ring": allowed are paired, chained, loop`},
		{"-- --eth-peer=1", `want PORT,MAC`},
		{"-- --eth-peer=40,aa:bb:cc:dd:ee:ff", `40 is outside 0..31`},
		{"-- --eth-peer=1,zz", `"zz" is not a MAC address`},
		{"-- --portmask=0xq", `"0xq" is not a hexadecimal mask`},
		{"-- --tx-ip=10.0.0.1", `want two IPv4 addresses`},
		{"-- --txpkts=20", `cannot hold Ethernet, IPv4 and UDP headers`},
		{"-- --txpkts=64,64", `multi-segment txonly packets are not supported`},
		{"-- --txpkts=4000", `do not fit a 2176-byte mbuf`},
		{"-- --mbuf-size=2176,4096", `several mbuf pools`},
		{"-- --total-num-mbufs=100", `100 is outside 1025..`},
		{"-- -i --tx-first", `--tx-first cannot be used in interactive mode`},
		{"-- -i --stats-period=1", `--stats-period cannot be used in interactive mode`},
		{"-- extra", `argument 2 "extra": invalid parameter`},
		{"-- -x", `argument 2 "-x": invalid option`},
		{"-- --no-flush-rx=1", `takes no value`},
		{"-- --rx", `ambiguous; possibilities:`},
		{"-- --hairpinq=1", `--hairpinq: not supported by offloadpmd: hairpin queues`},
		{"-- --log-level=loud", `allowed are trace, debug, info, warn, error, disabled`},
	}
	for _, c := range cases {
		_, err := Parse(strings.Fields(c.line))
		if err == nil {
			t.Errorf("%q: accepted", c.line)
			continue
		}
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant ...%s...", c.line, err, c.want)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := parseList("0,2-4,7")
	if err != nil || !reflect.DeepEqual(got, []uint16{0, 2, 3, 4, 7}) {
		t.Errorf("parseList: %v %v", got, err)
	}
	if _, err := parseList("3-1"); err == nil {
		t.Error("descending range accepted")
	}
}

func TestUsageComesFromTheTable(t *testing.T) {
	u := Usage("offloadpmd")
	for _, o := range options {
		if !strings.Contains(u, "--"+o.name) {
			t.Errorf("usage lacks --%s", o.name)
		}
	}
}

// FuzzParse: no command line makes the parser panic.
func FuzzParse(f *testing.F) {
	f.Add("-l 0-1 -- --forward-mode=io --burst=32")
	f.Add("-- --eth-peer=1,aa:bb:cc:dd:ee:ff --portlist=0,2-3")
	f.Fuzz(func(t *testing.T, line string) {
		_, _ = Parse(strings.Fields(line))
	})
}

// TestParseTap: --tap's value, and errors that name what is wrong.
func TestParseTap(t *testing.T) {
	c, err := Parse(strings.Fields("-- --tap=opmda,netns=opmd-a,offload=csum+tso4 --tap opmdb,queues=2"))
	if err != nil {
		t.Fatal(err)
	}
	want := []TapSpec{{Name: "opmda", Netns: "opmd-a", Queues: 1, Offload: []string{"csum", "tso4"}}, {Name: "opmdb", Queues: 2}}
	if !reflect.DeepEqual(c.Taps, want) {
		t.Errorf("taps %+v, want %+v", c.Taps, want)
	}
	for arg, msg := range map[string]string{
		"--tap=":                           "interface name",
		"--tap=averyveryverylongname":      "interface name",
		"--tap=a,netns":                    "key=value",
		"--tap=a,queues=0":                 "queues",
		"--tap=a,offload=csum+tso9":        `offload "tso9"`,
		"--tap=a,colour=blue":              `unknown key "colour"`,
		"--tap=a,netns=../../etc/passwd/x": "netns",
	} {
		_, err := Parse([]string{"--", arg})
		if err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "tap") {
			t.Errorf("%s: error %v, want one naming --tap and %q", arg, err, msg)
		}
	}
}
