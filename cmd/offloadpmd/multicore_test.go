package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// threeLcores is an EAL lcore map with two workers on this two-CPU
// machine: enough to check the multi-lcore layouts for correctness (their
// scaling is described in the README, not measured here).
func threeLcores(t *testing.T, vdevs ...string) []string {
	args := eal(t, vdevs...)
	for i, a := range args {
		if a == "-l" {
			args[i], args[i+1] = "--lcores", "0@0,1@1,2@1"
		}
	}
	return args
}

func genPcap(t *testing.T, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "in.pcap")
	cmd := exec.Command("go", append([]string{"run", "../pcapgen", "-o", out}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pcapgen: %v\n%s", err, b)
	}
	return out
}

// naiveL4 verifies a TCP/UDP-over-IPv4 frame's checksums with RFC 1071
// written out.
func naiveOK(f []byte) bool {
	sum := func(b []byte, s uint32) uint32 {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			s += uint32(b[len(b)-1]) << 8
		}
		return s
	}
	fold := func(s uint32) uint32 {
		for s > 0xffff {
			s = s>>16 + s&0xffff
		}
		return s
	}
	ip := f[14:]
	ihl := int(ip[0]&0xf) * 4
	tl := int(ip[2])<<8 | int(ip[3])
	if fold(sum(ip[:ihl], 0)) != 0xffff {
		return false
	}
	s := sum(ip[12:20], 0) + uint32(ip[9]) + uint32(tl-ihl)
	return fold(sum(ip[ihl:tl], s)) == 0xffff
}

// TestPipelineMode: TSO through the csum engine with the stages split over
// two lcores gives the same segments as run-to-completion: all of them,
// each within the MSS, every checksum right.
func TestPipelineMode(t *testing.T) {
	needRoot(t)
	in := genPcap(t, "-kind", "tcp", "-payload", "32768", "-flows", "16")
	out := filepath.Join(t.TempDir(), "out.pcap")
	cmds := filepath.Join(t.TempDir(), "cmds")
	if err := os.WriteFile(cmds, []byte("tso set 1448 0\nstart\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(threeLcores(t, "net_pcap0,rx_pcap="+in+",tx_pcap="+out), "--", "-i", "--port-topology=loop",
		"--forward-mode=csum", "--total-num-mbufs=8192", "--no-flush-rx", "--pipeline", "--cmdline-file="+cmds)
	r := runBinWithStdin(t, []string{"#sleep 3", "stop", "quit"}, args...)
	noPanic(t, r)
	if !strings.Contains(r.stdout, "pipeline mode: the TX stage and TX of these streams run on lcore 2") {
		t.Fatalf("no pipeline layout in the banner:\n%s", r.stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		data, _, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if len(data) > 14+1500 || !naiveOK(data) {
			t.Fatalf("segment %d: %d bytes, checksums ok %v", n, len(data), naiveOK(data))
		}
	}
	// 32768 bytes of payload in 1448-byte segments: 22 full and one of 912.
	if n != 16*23 {
		t.Fatalf("%d segments, want %d", n, 16*23)
	}
	_ = layers.LayerTypeEthernet
}

// runBinWithStdin runs the binary with stdin lines, "#sleep N" pausing.
func runBinWithStdin(t *testing.T, lines []string, args ...string) result {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		time.Sleep(2 * time.Second)
		for _, l := range lines {
			if d, ok := strings.CutPrefix(l, "#sleep "); ok {
				s, _ := strconv.Atoi(d)
				time.Sleep(time.Duration(s) * time.Second)
				continue
			}
			fmt.Fprintln(pw, l)
			time.Sleep(200 * time.Millisecond)
		}
		pw.Close()
	}()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = pr
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("offloadpmd: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	return result{0, out.String(), errb.String()}
}

// TestRSSAcrossLcores: two RX queues per port spread over two lcores, as
// testpmd lays them out; every stream forwards.
func TestRSSAcrossLcores(t *testing.T) {
	needRoot(t)
	args := append(threeLcores(t, "net_null0", "net_null1"), "--", "--rxq=2", "--txq=2", "--nb-cores=2", "--run-time=2")
	r := runBin(t, "", 60*time.Second, args...)
	noPanic(t, r)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"Logical Core 1 (socket 0) forwards packets on 2 streams:", "Logical Core 2 (socket 0) forwards packets on 2 streams:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("banner lacks %q", want)
		}
	}
	re := regexp.MustCompile(`Forward Stats for RX Port= (\d)/Queue= (\d) -> TX Port= \d/Queue= \d -------\n  RX-packets: (\d+)`)
	m := re.FindAllStringSubmatch(r.stdout, -1)
	if len(m) != 4 {
		t.Fatalf("%d per-stream blocks, want 4:\n%s", len(m), r.stdout)
	}
	for _, s := range m {
		if n, _ := strconv.ParseUint(s[3], 10, 64); n == 0 {
			t.Errorf("port %s queue %s forwarded nothing", s[1], s[2])
		}
	}
}
