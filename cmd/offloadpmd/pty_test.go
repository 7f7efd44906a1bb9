package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptySession is offloadpmd -i on a pseudo-terminal, as a user at a
// terminal runs it: line editing, completion and history are on.
type ptySession struct {
	t    *testing.T
	tty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func startPTY(t *testing.T, args ...string) *ptySession {
	t.Helper()
	s := &ptySession{t: t, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir(), "TERM=xterm")
	tty, err := pty.StartWithSize(s.cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	s.tty = tty
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		tty.Close()
	})
	return s
}

// output is everything the terminal showed, escape sequences removed.
func (s *ptySession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ansi.ReplaceAllString(s.out.String(), "")
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// expect waits until the output after from contains want, and returns the
// offset just past it.
func (s *ptySession) expect(from int, want string) int {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out := s.output()
		if i := strings.Index(out[min(from, len(out)):], want); i >= 0 {
			return min(from, len(out)) + i + len(want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("no %q on the terminal after offset %d; it shows:\n%s", want, from, s.output()[min(from, len(s.output())):])
	return 0
}

func (s *ptySession) send(keys string) {
	s.t.Helper()
	if _, err := s.tty.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

// TestInteractiveTerminal drives a whole session the way a user does at a
// terminal: start, statistics, offload toggles while forwarding, Tab
// completion, history recall, stop and quit.
func TestInteractiveTerminal(t *testing.T) {
	needRoot(t)
	s := startPTY(t, append(eal(t, "net_null0", "net_null1"), "--", "-i", "--total-num-mbufs=8192")...)
	at := s.expect(0, "testpmd> ")

	s.send("start\r")
	at = s.expect(at, "io packet forwarding - ports=2 - cores=1 - streams=2")
	at = s.expect(at, "testpmd> ")

	// Tab completes "show po" to "show port ", and Enter after "stats all".
	s.send("show po\t")
	at = s.expect(at, "show port ")
	s.send("stats all\r")
	at = s.expect(at, "NIC statistics for port 0")
	at = s.expect(at, "NIC statistics for port 1")
	at = s.expect(at, "testpmd> ")

	// Enable software IPv4 checksums on port 1 while forwarding.
	s.send("port config 1 tx_offload ipv4_cksum on\r")
	at = s.expect(at, "testpmd> ")
	s.send("show port 1 offload\r")
	at = s.expect(at, "CAPABILITY")
	tableAt := at
	at = s.expect(at, "testpmd> ")
	if !regexp.MustCompile(`tx\s+ipv4_cksum\s+\S+\s+yes\s+yes\s+`).MatchString(s.output()[tableAt:at]) {
		t.Errorf("ipv4_cksum is not enabled on port 1:\n%s", s.output()[tableAt:at])
	}
	s.send("port config 1 tx_offload ipv4_cksum off\r")
	at = s.expect(at, "testpmd> ")

	// Up arrow twice recalls "show port 1 offload".
	s.send("\x1b[A\x1b[A\r")
	at = s.expect(at, "CAPABILITY")
	tableAt = at
	at = s.expect(at, "testpmd> ")
	if regexp.MustCompile(`tx\s+ipv4_cksum\s+\S+\s+yes\s+yes\s+`).MatchString(s.output()[tableAt:at]) {
		t.Errorf("ipv4_cksum is still enabled on port 1 after off:\n%s", s.output()[tableAt:at])
	}

	s.send("show offload stats\r")
	at = s.expect(at, "TASK")
	at = s.expect(at, "testpmd> ")

	s.send("stop\r")
	at = s.expect(at, "Accumulated forward statistics for all ports")
	rx := regexp.MustCompile(`RX-packets: (\d+)`).FindStringSubmatch(s.output()[at:s.expect(at, "Done.")])
	if rx == nil || rx[1] == "0" {
		t.Errorf("nothing was forwarded: %v", rx)
	}
	at = s.expect(at, "testpmd> ")
	s.send("quit\r")
	s.expect(at, "Bye...")
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after quit")
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("exit: %v", err)
	}
}
