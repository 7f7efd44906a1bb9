package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The forward modes of pipeline.Engines (which this package cannot import);
// cmd/offloadpmd sets KnownEngines from the table itself.
var testEngines = []string{"io", "mac", "macswap", "rxonly", "txonly", "csum"}

func withEngines(t *testing.T) {
	old := KnownEngines
	KnownEngines = testEngines
	t.Cleanup(func() { KnownEngines = old })
}

// writeFile writes a config file named offload.yaml in a fresh directory.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "offload.yaml")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func shippedFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := filepath.Glob("examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, ex...)
	if len(files) < 4 {
		t.Fatalf("shipped config files %v: want default.yaml and the examples", files)
	}
	return files
}

// TestShippedConfigFiles: every YAML file shipped loads and validates.
func TestShippedConfigFiles(t *testing.T) {
	withEngines(t)
	for _, f := range shippedFiles(t) {
		c, err := LoadFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(c.EAL) == 0 {
			t.Errorf("%s: no EAL arguments", f)
		}
	}
}

// TestDefaultYAMLIsTheEmbeddedDefault: config/default.yaml is exactly what
// offloadpmd runs without arguments.
func TestDefaultYAMLIsTheEmbeddedDefault(t *testing.T) {
	withEngines(t)
	got, err := LoadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	got.ConfigFile = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default.yaml gives\n%+v\nthe embedded default is\n%+v", got, want)
	}
	if !got.EALDefaulted {
		t.Error("default.yaml: the file prefix is not offloadpmd's own")
	}
}

// TestPrintConfigRoundTrip: --print-config's output loads back into the
// same Config, and printing that gives the same text.
func TestPrintConfigRoundTrip(t *testing.T) {
	withEngines(t)
	type tc struct {
		args  []string
		exact bool // the reloaded Config equals the original
	}
	cases := []tc{{args: nil, exact: true}}
	for _, f := range shippedFiles(t) {
		cases = append(cases, tc{args: []string{"--", "--config", f}, exact: true})
	}
	full := writeFile(t, `
eal: {lcores: "0-1", memory_mb: 256, no_huge: true, no_pci: false, file_prefix: rt, args: [--log-level, "lib.eal:debug"]}
ports:
  - devargs: net_null0
    offloads: {rx: [ipv4_cksum], tx: [tcp_tso], software_rx: [udp_gro], software_tx: [tcp_cksum]}
  - tap: {name: t0, netns: ns0, queues: 2, offload: [csum, ufo]}
    offloads: {tx: [udp_tso6]}
  - devargs: "net_ring0"
offloads: {rx: [tcp_lro], software_tx: [ipv4_cksum]}
queues: {rx: 2, tx: 2, rxd: 512, txd: 1024}
burst: 64
mbufs: {total: 4096, size: 4096, cache: 64}
forwarding: {engine: csum, topology: chained, nb_cores: 1, stats_period: 2, busy_poll: true, pipeline: true, run_time: 5, rx_bursts: 2, direct_rounds: 16, tx_retry: 3, tx_retry_delay_us: 7}
assembly: {gro_timeout_us: 100, gro_flows: 128, gro_no_verify: true, reassembly_timeout_s: 3}
log_level: debug
metrics_addr: ":9100"
sas: []
`)
	cases = append(cases,
		tc{args: []string{"--", "--config", full}, exact: true},
		// The command line over the file: an option, a TAP added, caps added.
		tc{args: []string{"--", "--config", full, "--burst=16", "--tap=t1", "--rx-caps=udp_cksum", "--forward-mode=io"}, exact: true},
		// EAL arguments on the command line replace the eal section; the
		// file's vdevs come after theirs.
		tc{args: []string{"-l", "0-1", "--no-huge", "--vdev=net_null9", "--", "--config", full}},
		tc{args: strings.Fields("-l 0-1 --no-huge -m 1024 --no-pci --vdev=net_pcap0,rx_pcap=a.pcap -- --forward-mode=mac --nb-cores=1")},
	)
	for _, c := range cases {
		orig, err := Parse(c.args)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		var out bytes.Buffer
		if err := orig.WriteYAML(&out); err != nil {
			t.Fatal(err)
		}
		re, err := LoadFile(writeFile(t, out.String()))
		if err != nil {
			t.Errorf("%q: the printed config does not load: %v\n%s", c.args, err, out.String())
			continue
		}
		if c.exact {
			a, b := *orig, *re
			a.ConfigFile, b.ConfigFile = "", ""
			a.CmdlineOnly = nil
			if !reflect.DeepEqual(a, b) {
				t.Errorf("%q: reloaded\n%+v\nwant\n%+v\nfrom\n%s", c.args, b, a, out.String())
			}
		}
		var again bytes.Buffer
		if err := re.WriteYAML(&again); err != nil {
			t.Fatal(err)
		}
		if again.String() != out.String() {
			t.Errorf("%q: printed twice differs:\n%s\nthen\n%s", c.args, out.String(), again.String())
		}
	}
}

// TestConfigMerge: the file first, then the command line; EAL by the rule.
func TestConfigMerge(t *testing.T) {
	withEngines(t)
	f := writeFile(t, `
eal: {lcores: "0", memory_mb: 512, file_prefix: mine}
ports:
  - devargs: net_null0
  - tap: {name: ta}
    offloads: {rx: [tcp_lro]}
  - devargs: net_ring0
    offloads: {tx: [tcp-tso]}
offloads: {tx: [ipv4_cksum]}
forwarding: {engine: macswap, stats_period: 3}
burst: 16
`)
	c, err := Parse([]string{"--", "--config", f, "--burst=8", "--tap=tb", "--tx-caps=udp_cksum"})
	if err != nil {
		t.Fatal(err)
	}
	wantEAL := []string{"-l", "0", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", "mine", "--vdev=net_null0", "--vdev=net_ring0"}
	if !reflect.DeepEqual(c.EAL, wantEAL) || c.EALDefaulted {
		t.Errorf("EAL %q (own prefix %v), want %q", c.EAL, c.EALDefaulted, wantEAL)
	}
	if c.Burst != 8 || c.ForwardMode != "macswap" || c.StatsPeriod != 3 {
		t.Errorf("burst %d mode %s period %d: want the command line's 8 over the file's 16, the file's macswap and 3", c.Burst, c.ForwardMode, c.StatsPeriod)
	}
	if len(c.Taps) != 2 || c.Taps[0].Name != "ta" || c.Taps[1].Name != "tb" {
		t.Errorf("taps %+v: want the file's ta, then --tap's tb", c.Taps)
	}
	if !reflect.DeepEqual(c.TxCaps, []string{"ipv4_cksum", "udp_cksum"}) {
		t.Errorf("tx caps %q: want the file's, then the command line's", c.TxCaps)
	}
	wantPorts := map[uint16]PortWanted{
		FirstTapPort: {Device: "ta", Rx: []string{"tcp_lro"}},
		1:            {Device: "net_ring0", Tx: []string{"tcp_tso"}},
	}
	if !reflect.DeepEqual(c.PortOffloads, wantPorts) {
		t.Errorf("port offloads %+v, want %+v", c.PortOffloads, wantPorts)
	}

	// EAL arguments on the command line replace the eal section; the
	// file's vdevs are numbered after the command line's.
	c, err = Parse([]string{"-l", "0-1", "--vdev=net_null7", "--", "--config", f})
	if err != nil {
		t.Fatal(err)
	}
	wantEAL = []string{"-l", "0-1", "--vdev=net_null7", "--vdev=net_null0", "--vdev=net_ring0"}
	if !reflect.DeepEqual(c.EAL, wantEAL) || c.PortOffloads[2].Device != "net_ring0" {
		t.Errorf("EAL %q ports %+v: want %q and net_ring0 as port 2", c.EAL, c.PortOffloads, wantEAL)
	}

	// A file without eal or ports keeps the embedded default.
	c, err = Parse([]string{"--", "--config", writeFile(t, "burst: 4\n")})
	if err != nil {
		t.Fatal(err)
	}
	if !c.EALDefaulted || !reflect.DeepEqual(c.EAL, DefaultEAL()) || c.Burst != 4 {
		t.Errorf("EAL %q burst %d: want the embedded default and 4", c.EAL, c.Burst)
	}
	// ports: [] has no vdevs at all.
	c, err = Parse([]string{"--", "--config", writeFile(t, "ports: []\n"), "--tap=x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vdevArgs(c.EAL)) != 0 {
		t.Errorf("EAL %q: ports: [] wants no vdevs", c.EAL)
	}
	// -i on the command line overrides the file's periodic statistics.
	c, err = Parse([]string{"--", "--config", f, "-i"})
	if err != nil || c.StatsPeriod != 0 || len(c.Warnings) != 1 {
		t.Errorf("-i over stats_period 3: %v, period %d, warnings %q", err, c.StatsPeriod, c.Warnings)
	}
	// An empty file is the embedded default.
	if c, err = Parse([]string{"--", "--config", writeFile(t, "")}); err != nil || !reflect.DeepEqual(c.EAL, DefaultEAL()) {
		t.Errorf("empty file: %v %q", err, c.EAL)
	}
}

// TestConfigFileErrors: each error names the file, line, column and field
// and says what is allowed.
func TestConfigFileErrors(t *testing.T) {
	withEngines(t)
	cases := []struct{ name, text, want string }{
		{"unknown top-level key", "burst: 32\nbrust: 32\n",
			`offload.yaml:2:1: brust: unknown key; allowed here: eal, ports, offloads, queues, burst, mbufs, forwarding, assembly, log_level, metrics_addr, sas, rules, dos; did you mean "burst"?`},
		{"unknown nested key", "queues:\n  rx: 1\n  rxq: 2\n",
			`offload.yaml:3:3: queues.rxq: unknown key; allowed in queues: rx, tx, rxd, txd; did you mean "rx"?`},
		{"string for a number", "burst: fast\n",
			`offload.yaml:1:8: burst: the string "fast" is not a number; want an integer 1..512`},
		{"quoted number", "mbufs:\n  cache: \"64\"\n",
			`offload.yaml:2:10: mbufs.cache: the string "64" is not a number; want an integer 0..512 (without quotes)`},
		{"list for a number", "queues: {rx: [1]}\n",
			`offload.yaml:1:14: queues.rx: a list is not a number; want an integer 1..1024`},
		{"out of range", "forwarding:\n  nb_cores: 0\n",
			`offload.yaml:2:13: forwarding.nb_cores: 0 is out of range; want an integer 1..1024`},
		{"out of range, big", "burst: 100000000000000000000\n",
			`offload.yaml:1:8: burst: 100000000000000000000 is out of range; want an integer 1..512`},
		{"negative", "queues: {rxd: -1}\n",
			`offload.yaml:1:15: queues.rxd: -1 is out of range; want an integer 0..65535`},
		{"not a boolean", "eal:\n  no_huge: yes\n",
			`offload.yaml:2:12: eal.no_huge: the string "yes" is not a boolean; want true or false`},
		{"duplicate key", "burst: 32\nlog_level: info\nburst: 64\n",
			`offload.yaml:3:1: burst: duplicate key (first at line 1)`},
		{"duplicate nested key", "eal:\n  lcores: \"0-1\"\n  lcores: \"0\"\n",
			`offload.yaml:3:3: eal.lcores: duplicate key (first at line 2)`},
		{"port without devargs or tap", "ports:\n  - devargs: net_null0\n  - offloads: {rx: [tcp_lro]}\n",
			`offload.yaml:3:5: ports[1]: a port needs devargs (a vdev, e.g. net_null0) or tap ({name: ...}); it has neither`},
		{"empty port", "ports:\n  -\n",
			`offload.yaml:2:4: ports[0]: a port needs devargs`},
		{"port with both", "ports:\n  - {devargs: net_null0, tap: {name: t}}\n",
			`offload.yaml:2:5: ports[0]: a port is a vdev (devargs) or a TAP (tap), not both`},
		{"port as a string", "ports:\n  - net_null0\n",
			`offload.yaml:2:5: ports[0]: ports[0] is the string "net_null0"; want a mapping with keys devargs, tap, offloads`},
		{"misspelt TX capability", "ports:\n  - devargs: net_null0\n  - devargs: net_null1\n    offloads:\n      tx: [ipv4_cksum, tcp_tos]\n",
			`offload.yaml:5:24: ports[1].offloads.tx[1]: "tcp_tos" is not a TX capability; allowed: vlan_insert, ipv4_cksum, udp_cksum, tcp_cksum`},
		{"misspelt TX capability suggests", "offloads: {tx: [tcp_tos]}\n",
			`did you mean "tcp_tso"?`},
		{"RX name in TX", "offloads: {tx: [tcp_lro]}\n",
			`offload.yaml:1:17: offloads.tx[0]: "tcp_lro" is not a TX capability; allowed:`},
		{"not in software", "offloads: {software_tx: [vlan_insert]}\n",
			`offload.yaml:1:26: offloads.software_tx[0]: "vlan_insert" is not a TX capability offloadpmd performs in software; allowed: ipv4_cksum, udp_cksum, tcp_cksum, tcp_tso, udp_tso, multi_segs, tcp_tso6, udp_tso6, ufo`},
		{"capabilities not a list", "offloads: {rx: tcp_lro}\n",
			`offload.yaml:1:16: offloads.rx: the string "tcp_lro" is not a list; want capability names`},
		{"TAP offload", "ports:\n  - tap: {name: t0, offload: [csum, tso5]}\n",
			`offload.yaml:2:37: ports[0].tap.offload[1]: "tso5" is not a TAP offload; allowed: csum, tso4, tso6, tso_ecn, ufo, uso4, uso6, none; did you mean "tso4"?`},
		{"TAP without a name", "ports:\n  - tap: {netns: a}\n",
			`offload.yaml:2:10: ports[0].tap: a TAP needs a name`},
		{"TAP name too long", "ports:\n  - tap: {name: averyveryverylongname}\n",
			`offload.yaml:2:17: ports[0].tap.name: interface name "averyveryverylongname": want 1 to 15 characters`},
		{"TAP queues", "ports:\n  - tap: {name: t, queues: 65}\n",
			`ports[0].tap.queues: 65 is out of range; want an integer 1..64`},
		{"duplicate vdev", "ports:\n  - devargs: net_null0\n  - devargs: net_null0,x=1\n",
			`offload.yaml:3:14: ports[1].devargs: vdev net_null0 is also ports[0]`},
		{"bad devargs", "ports:\n  - devargs: \",x\"\n",
			`ports[0].devargs: ",x": want a vdev`},
		{"engine", "forwarding: {engine: csun}\n",
			`offload.yaml:1:22: forwarding.engine: "csun" is not a forward mode; allowed: io, mac, macswap, rxonly, txonly, csum; did you mean "csum"?`},
		{"topology", "forwarding: {topology: ring}\n",
			`forwarding.topology: "ring" is not a port topology; allowed: paired, chained, loop`},
		{"log level", "log_level: loud\n",
			`offload.yaml:1:12: log_level: "loud" is not a log level; allowed: trace, debug, info, warn, error, disabled`},
		{"metrics address", "metrics_addr: \"9100\"\n",
			`offload.yaml:1:15: metrics_addr: "9100" is not HOST:PORT or :PORT`},
		{"metrics port", "metrics_addr: \":0\"\n",
			`metrics_addr: port "0": allowed are 1..65535`},
		{"lcores", "eal: {lcores: \"0..1\"}\n",
			`offload.yaml:1:15: eal.lcores: "0..1" is not an lcore list`},
		{"EAL arg with a key", "eal:\n  args: [--no-shconf, --vdev=net_null0]\n",
			`offload.yaml:2:23: eal.args[1]: "--vdev=net_null0": give it as ports (devargs: ...)`},
		{"EAL -l in args", "eal: {args: [-l0-1]}\n",
			`eal.args[0]: "-l0-1": give it as eal.lcores`},
		{"section not a mapping", "queues: 4\n",
			`offload.yaml:1:9: queues: queues is 4; want a mapping with keys rx, tx, rxd, txd`},
		{"file not a mapping", "- a\n- b\n",
			`offload.yaml:1:1: the file is a list; want a mapping with keys eal, ports,`},
		{"sas", "sas:\n  - {spi: 1}\n",
			`offload.yaml:2:11: sas[0].spi: 1 is out of range; want an integer 256..4294967295`},
		{"rules", "rules: [{match: tcp}]\n",
			`offload.yaml:1:8: rules: a list is not a mapping from port ids to lists of flow rules`},
		{"dos", "dos: {syn_rate: 10}\n",
			`offload.yaml:1:7: dos.syn_rate: unknown key; allowed in dos: ipv4_prefix_len,`},
		{"not YAML", "eal: [1, 2\nburst: 3\n",
			`offload.yaml:1: not a YAML file: did not find expected ',' or ']'`},
		{"binary", "\x7fELF\x02\x01\x01\x00\x00",
			`offload.yaml: not a YAML file: control characters are not allowed`},
		{"tabs", "eal:\n\tlcores: 1\n",
			`offload.yaml:2: not a YAML file: found character that cannot start any token`},
		{"two documents", "burst: 1\n---\nburst: 2\n",
			`offload.yaml:2:1: a second YAML document`},
	}
	for _, c := range cases {
		_, err := Parse([]string{"--", "--config", writeFile(t, c.text)})
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrConfigFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant ...%s...", c.name, err, c.want)
		}
	}
}

// Several mistakes are reported at once, each at its place.
func TestConfigFileErrorsTogether(t *testing.T) {
	_, err := Parse([]string{"--", "--config", writeFile(t, "burst: 0\nqueues: {rx: x}\nlog_level: loud\n")})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{"offload.yaml:1:8: burst:", "offload.yaml:2:14: queues.rx:", "offload.yaml:3:12: log_level:"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %v\nlacks %s", err, w)
		}
	}
}

func TestConfigOptionErrors(t *testing.T) {
	for line, want := range map[string]string{
		"-- --config":                        "option requires an argument",
		"-- --config=a.yaml --config=b.yaml": "--config given twice",
		"-- --config=/nonexistent/x.yaml":    "/nonexistent/x.yaml: cannot read: no such file or directory",
	} {
		_, err := Parse(strings.Fields(line))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", line, err, want)
		}
	}
}

// TestPrintConfigCmdlineOnly: options the file cannot hold are listed in
// the printed config's header.
func TestPrintConfigCmdlineOnly(t *testing.T) {
	c, err := Parse(strings.Fields("-- --print-config --portmask 0x3 --burst=16 --no-flush-rx"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.PrintConfig {
		t.Error("--print-config not set")
	}
	var b bytes.Buffer
	if err := c.WriteYAML(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "# Also given, command line only: --portmask=0x3 --no-flush-rx\n") || !strings.Contains(b.String(), "\nburst: 16\n") {
		t.Errorf("printed:\n%s", b.String())
	}
}

func TestSuggest(t *testing.T) {
	for s, want := range map[string]string{"tcp_tos": "tcp_tso", "ipv4_csum": "ipv4_cksum", "zzzzzz": ""} {
		got := Suggest(s, []string{"tcp_tso", "ipv4_cksum", "udp_cksum"})
		if want == "" && got != "" || want != "" && !strings.Contains(got, `"`+want+`"`) {
			t.Errorf("Suggest(%q) = %q, want %q", s, got, want)
		}
	}
}

// FuzzLoadConfig: no file makes the loader panic, and what it accepts
// prints and reloads.
func FuzzLoadConfig(f *testing.F) {
	for _, name := range []string{"default.yaml", "examples/kernel-tap.yaml", "examples/pcap-csum.yaml", "examples/vhost.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("ports: [{tap: {name: a}}, {devargs: x}]\nburst: &b 3\nqueues: {rx: *b}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Defaults()
		file, err := loadBytes("fuzz.yaml", data, &c)
		if err != nil {
			return
		}
		if err := c.mergeEAL(nil, file); err != nil {
			return
		}
		var b bytes.Buffer
		if err := c.WriteYAML(&b); err != nil {
			t.Fatal(err)
		}
		c2 := Defaults()
		if _, err := loadBytes("printed.yaml", b.Bytes(), &c2); err != nil {
			t.Fatalf("printed config does not load: %v\n%s", err, b.String())
		}
	})
}

// Every option FileKeys names exists, and every file key it names is one
// the loader takes (default.yaml spells out each).
func TestFileKeysNameRealOptions(t *testing.T) {
	def, err := os.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for opt, key := range FileKeys {
		if o, err := lookup(opt); err != nil || o.name != opt {
			t.Errorf("FileKeys: --%s is not an option", opt)
		}
		last := key[strings.LastIndexAny(key, ".")+1:]
		if !strings.Contains(string(def), last+":") {
			t.Errorf("FileKeys: --%s maps to %s, which default.yaml does not document", opt, key)
		}
	}
}
