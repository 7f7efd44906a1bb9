package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/config"
)

// TestPrintConfig: --print-config prints the merged configuration, which
// loads back, and exits 0 before any EAL initialisation.
func TestPrintConfig(t *testing.T) {
	r := runBin(t, "", 30*time.Second, "--", "--config", "../../config/examples/pcap-csum.yaml", "--burst=16", "--print-config")
	noPanic(t, r)
	if r.code != 0 || strings.Contains(r.stderr, "EAL") || strings.Contains(r.stdout, "EAL") {
		t.Fatalf("exit %d, want 0 and no EAL\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	name := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(name, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.LoadFile(name)
	if err != nil {
		t.Fatalf("printed config does not load: %v\n%s", err, r.stdout)
	}
	if c.Burst != 16 || c.ForwardMode != "csum" || len(c.PortOffloads[0].SoftwareTx) != 3 {
		t.Errorf("reloaded burst %d, mode %s, port 0 %+v: want the command line's 16 over the file's csum engine and offloads", c.Burst, c.ForwardMode, c.PortOffloads[0])
	}
}

// TestConfigFileErrorExit: a bad file is named with line and field, without
// the usage text, and the exit status is 1.
func TestConfigFileErrorExit(t *testing.T) {
	name := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(name, []byte("forwarding:\n  engine: csun\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, "", 30*time.Second, "--", "--config", name)
	noPanic(t, r)
	want := name + `:2:11: forwarding.engine: "csun" is not a forward mode; allowed: io, mac, macswap, rxonly, txonly, csum; did you mean "csum"?`
	if r.code != 1 || !strings.Contains(r.stderr, want) || strings.Contains(r.stdout, "Usage") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1 and %s", r.code, r.stdout, r.stderr, want)
	}
}

// TestConfigFilePerPortOffloads: each port gets the offloads every port
// wants plus its own from the file.
func TestConfigFilePerPortOffloads(t *testing.T) {
	needRoot(t)
	prefix := fmt.Sprintf("opmd_cfgtest_%d", os.Getpid())
	t.Cleanup(func() { os.RemoveAll("/var/run/dpdk/" + prefix) })
	name := filepath.Join(t.TempDir(), "ports.yaml")
	if err := os.WriteFile(name, []byte(`
eal: {memory_mb: 512, file_prefix: `+prefix+`, args: [--log-level, "lib.eal:error"]}
ports:
  - devargs: net_null0
    offloads: {rx: [tcp_lro]}
  - devargs: net_null1
    offloads: {tx: [tcp_tso6]}
offloads: {tx: [ipv4_cksum]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, "show port 0 offload\nshow port 1 offload\nquit\n", 60*time.Second, "--", "--config", name, "-i")
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	// The tables, one per "show port N offload", in order.
	i := strings.Index(r.stdout, "port 1 (")
	if i < 0 || !strings.Contains(r.stdout[:i], "port 0 (") {
		t.Fatalf("no offload tables:\n%s", r.stdout)
	}
	port0, port1 := r.stdout[:i], r.stdout[i:]
	enabled := func(table, dir, name string) bool {
		return regexp.MustCompile(`(?m)^` + dir + `\s+` + name + `\s+\S+\s+\S+\s+yes\s`).MatchString(table)
	}
	for _, c := range []struct {
		table, which, dir, name string
		want                    bool
	}{
		{port0, "port 0", "rx", "tcp_lro", true}, {port1, "port 1", "rx", "tcp_lro", false},
		{port0, "port 0", "tx", "tcp_tso6", false}, {port1, "port 1", "tx", "tcp_tso6", true},
		{port0, "port 0", "tx", "ipv4_cksum", true}, {port1, "port 1", "tx", "ipv4_cksum", true},
	} {
		if got := enabled(c.table, c.dir, c.name); got != c.want {
			t.Errorf("%s %s %s enabled %v, want %v:\n%s", c.which, c.dir, c.name, got, c.want, c.table)
		}
	}
}
