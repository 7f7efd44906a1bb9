package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
)

// TestDoSCommands: dos set, allow, block and reset change the rules the
// data path reads, say what they did, and refuse what the filter's
// configuration does not allow, changing nothing then.
func TestDoSCommands(t *testing.T) {
	a, out := saApp()
	if err := a.installDoS(); err != nil {
		t.Fatal(err)
	}
	tab, err := offload.NewTable(0, "net_ring", 0, 0).Apply(offload.Change{EnableRx: offload.RxDoSFilter})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.tables.Publish(tab); err != nil {
		t.Fatal(err)
	}
	execLines(t, a,
		"dos set syn.rate 250",
		"dos set syn_budget.burst 4000",
		"dos set handshake_timeout 3s",
		"dos set require_return_path on",
		"dos set ipv4_prefix_len 24",
		"dos set flows 1024",
		"dos allow add 192.0.2.0/24",
		"dos block add 2001:db8:bad::/48",
		"dos block add 198.51.100.7",
		"dos block del 198.51.100.7",
		"dos show 2001:db8:bad::1",
		"dos show 192.0.2.9",
		"dos show 10.0.0.1",
		"dos show",
		"dos reset",
	)
	c := a.off.DoS.Config()
	if c.SYN.Rate != 250 || c.SYNBudget.Burst != 4000 || c.HandshakeTimeout != 3*time.Second || !c.RequireReturnPath ||
		c.IPv4PrefixLen != 24 || c.Flows != 1024 {
		t.Errorf("configuration after the commands: %+v", c)
	}
	if !slices.Equal(c.Allow, []string{"192.0.2.0/24"}) || !slices.Equal(c.Block, []string{"2001:db8:bad::/48"}) {
		t.Errorf("lists: allow %v, block %v", c.Allow, c.Block)
	}
	for _, w := range []string{
		"DoS syn.rate set to 250\n",
		"DoS handshake_timeout set to 3s\n",
		"DoS require_return_path set to true\n",
		"DoS ipv4_prefix_len set to 24: the filters' tables start over",
		"DoS flows set to 1024: the tables made at the next start have it",
		"192.0.2.0/24 added to the DoS allow list",
		"198.51.100.7/32 removed from the DoS block list",
		"2001:db8:bad::1: blocked: dropped (2001:db8:bad::/48)",
		"192.0.2.9: allowed: the rates and limits do not apply (192.0.2.0/24)",
		"10.0.0.1: in no list: the rates and limits apply",
		"  Filtering ports:  0  (not: 1 32; port config <port> rx_offload dos_filter on)",
		"    syn: {rate: 250, burst: 2000}",
		"    allow: [192.0.2.0/24]",
		"    no streams: they are made at start",
		"DoS filter state cleared",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	before := a.off.DoS.Config()
	execLines(t, a,
		"dos set syn.burst 0",
		"dos set icmp.rate 2000000000",
		"dos set flow_timeout never",
		"dos set drop_land maybe",
		"dos allow add 192.0.2.0/24",
		"dos block add 192.0.2.0/24",
		"dos allow del 10.0.0.0/8",
	)
	for _, w := range []string{
		"dos set: syn.burst: 0; want 1 to 1000000000 packets when rate is set",
		"dos set: icmp.rate: 2000000000; want 0 (no limit) to 1000000000 packets/s",
		`dos set: flow_timeout: "never" is not a duration`,
		`dos set: drop_land: "maybe" is not on or off`,
		"dos allow: 192.0.2.0/24 is already in the allow list",
		"dos block: block[1]: 192.0.2.0/24 is also allow[0]",
		"dos allow: 10.0.0.0/8 is not in the allow list (dos show lists them)",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	after := a.off.DoS.Config()
	if !slices.Equal(after.Block, before.Block) || after.SYN != before.SYN || after.FlowTimeout != before.FlowTimeout {
		t.Errorf("refused commands changed the configuration: %+v", after)
	}
}

// TestDoSConfigFile: the config file's dos section and a port's
// dos_filter reach the running filter, as dos show says; a bad section is
// refused at its line before EAL starts.
func TestDoSConfigFile(t *testing.T) {
	needRoot(t)
	cfg := writeConfigFile(t, `
ports:
  - devargs: net_null0
    offloads: {rx: [dos_filter]}
  - devargs: net_null1
dos:
  syn: {rate: 300, burst: 600}
  block: [198.51.100.0/24]
  sources: 2048
  flows: 1024
  fragments: 64
`)
	r := runBin(t, "start\ndos show\nstop\nquit\n", 60*time.Second,
		append(eal(t), "--", "-i", "--config", cfg, "--total-num-mbufs=8192")...)
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []string{
		"  Filtering ports:  0  (not: 1;",
		"    syn: {rate: 300, burst: 600}",
		"    block: [198.51.100.0/24]",
		"sources 0/2048  flows 0/1024  fragments 0/64",
		"no filter (port 1 does not filter)",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
	bad := writeConfigFile(t, "dos:\n  syn: {rate: 10, burst: 0}\n")
	r = runBin(t, "", 30*time.Second, "--", "--config", bad)
	if r.code == 0 || !strings.Contains(r.stderr, "offload.yaml:2:26: dos.syn.burst: 0; want 1 to 1000000000 packets when rate is set") {
		t.Errorf("a bad dos section: exit %d\n%s", r.code, r.stderr)
	}
}

// writeConfigFile writes a config file named offload.yaml in a temporary
// directory.
func writeConfigFile(t *testing.T, text string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "offload.yaml")
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}
