package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestVerboseAndTraceSession: at the prompt, `set verbose 1` dumps what is
// received, testpmd style, and `trace 1` follows the first packet, a TCP
// super-frame the csum engine segments in software, through each stage.
func TestVerboseAndTraceSession(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	in, out, cmds := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap"), filepath.Join(dir, "cmds")
	frames := [][]byte{
		superFrame(t, superFlow{port: 42001}, 0, bytes.Repeat([]byte{7}, 4000)),
		superFrame(t, superFlow{port: 42002, udp: true}, 0, bytes.Repeat([]byte{9}, 100)),
	}
	writeFrames(t, in, frames)
	if err := os.WriteFile(cmds, []byte("tso set 1448 0\nset verbose 1\ntrace 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append(eal(t, "net_pcap0,rx_pcap="+in+",tx_pcap="+out),
		"--", "-i", "--port-topology=loop", "--forward-mode=csum", "--total-num-mbufs=8192", "--no-flush-rx",
		"--cmdline-file="+cmds)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(stdin, "start")
	time.Sleep(2 * time.Second)
	fmt.Fprintln(stdin, "stop")
	fmt.Fprintln(stdin, "quit")
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("no exit\n%s", stdout.String())
	}
	s := stdout.String()
	for _, want := range []string{
		"Change verbose level from 0 to 1",
		"port 0/queue 0: received 2 packets",
		"trace 1: port 0/queue 0: received 1 packet",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The traced packet is the TCP super-frame: TSO done in software into
	// three segments of at most 1448 bytes, then queued on port 0.
	block := s[strings.Index(s, "trace 1:"):]
	if i := strings.Index(block, "\n\n"); i > 0 {
		block = block[:i]
	}
	for _, re := range []string{`tso\b.*software`, `\b3 segments`, `queued 3 packets for TX on port 0/queue 0`, `length=4054`} {
		if !regexp.MustCompile(re).MatchString(block) {
			t.Errorf("trace block lacks %q:\n%s", re, block)
		}
	}
	// The verbose dump of the UDP datagram, decoded.
	if !regexp.MustCompile(`(?s)received 2 packets\n.*type=0x0800 - length=142 .*ol_flags: .*decode: IPv4 10.203.0.2 > 10.203.0.1 len 128 .*UDP 42002 > 47000`).MatchString(s) {
		t.Errorf("no verbose dump of the UDP datagram:\n%s", s)
	}
}
