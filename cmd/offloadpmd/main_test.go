package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bin is the offloadpmd binary built for these tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "offloadpmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "offloadpmd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needRoot skips where DPDK cannot run (its runtime directory needs root).
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("DPDK's EAL needs root here (/var/run/dpdk); CI runs the tests as root")
	}
}

// eal is an EAL command line of the test's own, its runtime directory
// removed at cleanup.
func eal(t *testing.T, vdevs ...string) []string {
	prefix := fmt.Sprintf("opmd_cmdtest_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6)
	t.Cleanup(func() { os.RemoveAll("/var/run/dpdk/" + prefix) })
	args := []string{"-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", prefix, "--log-level", "lib.eal:error"}
	for _, v := range vdevs {
		args = append(args, "--vdev="+v)
	}
	return args
}

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, stdin string, timeout time.Duration, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("offloadpmd %s: no exit within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, out.String(), errb.String())
	}
	return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
}

func noPanic(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "SIGSEGV") {
		t.Fatalf("crashed:\n%s", r.stderr)
	}
}

// TestBadInput: each mistake gives a clear error naming what is wrong and a
// non-zero exit, never a crash.
func TestBadInput(t *testing.T) {
	needRoot(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"malformed EAL argument", []string{"-l", "0-1", "--no-huge", "--bogus-eal-option", "--"}, "EAL init"},
		{"bad lcore list", []string{"-l", "0-9x", "--no-huge", "--"}, "EAL init"},
		{"unknown vdev", append(eal(t, "net_nosuch0"), "--"), `no vdev driver matches "net_nosuch0"`},
		{"missing pcap file", append(eal(t, "net_pcap0,rx_pcap=/nonexistent/in.pcap"), "--"), "/nonexistent/in.pcap"},
		{"port that cannot be set up", append(eal(t, "net_vhost0,iface=/nonexistent/dir/vhost.sock"), "--"), "port 0 (net_vhost0)"},
		{"unknown app option", append(eal(t, "net_null0"), "--", "--bogus"), "unrecognized option '--bogus'"},
		{"bad number", append(eal(t, "net_null0"), "--", "--nb-cores=x"), `--nb-cores: "x" is not a number`},
		{"too many cores", append(eal(t, "net_null0"), "--", "--nb-cores=2", "--run-time=1"), "nb-cores should be > 0 and <= 1"},
		{"unknown engine", append(eal(t, "net_null0"), "--", "--forward-mode=bogus"), `unknown forwarding mode "bogus"`},
		{"unsupported testpmd option", append(eal(t, "net_null0"), "--", "--num-procs=2"), "not supported by offloadpmd"},
		{"no ports", append(eal(t), "--", "--run-time=1"), "no ports: give at least one --vdev"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBin(t, "", 60*time.Second, c.args...)
			noPanic(t, r)
			if r.code == 0 {
				t.Fatalf("exit 0, want an error\nstdout:\n%s", r.stdout)
			}
			if !strings.Contains(r.stderr, c.want) {
				t.Fatalf("stderr does not say %q:\n%s", c.want, r.stderr)
			}
		})
	}
}

var (
	accRx   = regexp.MustCompile(`Accumulated forward statistics for all ports\+*\n  RX-packets: (\d+)`)
	rxPPS   = regexp.MustCompile(`Rx-pps: +(\d+)`)
	portFwd = regexp.MustCompile(`Forward statistics for port (\d+) `)
)

// TestEmbeddedDefault is `make run`: no EAL arguments, two net_null ports,
// periodic statistics in testpmd's format, JSON with the same figures, and
// the EAL runtime directory removed at exit.
func TestEmbeddedDefault(t *testing.T) {
	needRoot(t)
	js := filepath.Join(t.TempDir(), "stats.json")
	r := runBin(t, "", 60*time.Second, "--", "--stats-period=1", "--run-time=3", "--stats-json="+js)
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Port statistics ====", "NIC statistics for port 1", "Rx-pps:", "Telling cores to stop...", "Bye..."} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if got := portFwd.FindAllStringSubmatch(r.stdout, -1); len(got) != 2 {
		t.Errorf("want forward statistics for 2 ports, got %d", len(got))
	}
	var max uint64
	for _, m := range rxPPS.FindAllStringSubmatch(r.stdout, -1) {
		v, _ := strconv.ParseUint(m[1], 10, 64)
		max = maxU(max, v)
	}
	if max < 1e6 {
		t.Errorf("highest Rx-pps %d: net_null forwarding should do millions", max)
	}
	m := accRx.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no accumulated block:\n%s", r.stdout)
	}
	printed, _ := strconv.ParseUint(m[1], 10, 64)
	var doc statsDoc
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Accumulated.RxPackets != printed || doc.Engine != "io" || len(doc.Ports) != 2 {
		t.Errorf("JSON accumulated rx %d engine %q ports %d; printed rx %d", doc.Accumulated.RxPackets, doc.Engine, len(doc.Ports), printed)
	}
	leftovers, _ := filepath.Glob("/var/run/dpdk/offloadpmd_*")
	for _, l := range leftovers {
		if st, err := os.Stat(l); err == nil && time.Since(st.ModTime()) < time.Minute {
			t.Errorf("EAL runtime directory %s left behind", l)
		}
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// TestSignalStopsCleanly: SIGINT and SIGTERM stop forwarding, print the
// statistics, close the ports and exit 0, as testpmd 22.11.11 does.
func TestSignalStopsCleanly(t *testing.T) {
	needRoot(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, append(eal(t, "net_null0", "net_null1"), "--", "--stats-period=1")...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Second)
			_ = cmd.Process.Signal(sig)
			errc := make(chan error, 1)
			go func() { errc <- cmd.Wait() }()
			select {
			case err := <-errc:
				if err != nil {
					t.Fatalf("exit: %v\n%s", err, out.String())
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("no exit after %v\n%s", sig, out.String())
			}
			s := out.String()
			for _, want := range []string{"Accumulated forward statistics", "Port 1 is closed", "Bye..."} {
				if !strings.Contains(s, want) {
					t.Errorf("output lacks %q", want)
				}
			}
		})
	}
}

// TestInteractiveLikeTestpmd drives the prompt the way the DPDK anchor
// scripts drive testpmd, and parses the result the same way.
func TestInteractiveLikeTestpmd(t *testing.T) {
	needRoot(t)
	cmd := exec.Command(bin, append(eal(t, "net_null0", "net_null1"),
		"--", "-i", "--total-num-mbufs=16384", "--no-lsc-interrupt", "--forward-mode=macswap")...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	send := func(line string, pause time.Duration) {
		fmt.Fprintln(stdin, line)
		time.Sleep(pause)
	}
	time.Sleep(2 * time.Second)
	send("show config fwd", 100*time.Millisecond)
	send("start", time.Second)
	send("show port stats all", 2*time.Second)
	send("show port stats all", 100*time.Millisecond)
	send("set fwd io", 100*time.Millisecond) // refused while running
	send("no such command", 100*time.Millisecond)
	send("stop", 500*time.Millisecond)
	send("show fwd stats all", 100*time.Millisecond)
	send("quit", 0)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{"testpmd> ", "macswap packet forwarding - ports=2 - cores=1 - streams=2",
		"please stop forwarding first", "Command not found", "Telling cores to stop...", "Bye..."} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	pps := rxPPS.FindAllStringSubmatch(s, -1)
	if len(pps) < 4 {
		t.Fatalf("found %d Rx-pps lines, want 4", len(pps))
	}
	last, _ := strconv.ParseUint(pps[len(pps)-2][1], 10, 64)
	if last < 1e6 {
		t.Errorf("port 0 Rx-pps over the last show: %d", last)
	}
}
