// Package proctest runs a program at its interactive prompt for tests:
// offloadpmd with commands fed line by line and everything it prints kept.
package proctest

import (
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Proc is a running program reading commands from a pipe.
type Proc struct {
	Cmd    *exec.Cmd
	in     io.WriteCloser
	mu     sync.Mutex
	out    bytes.Buffer // stdout and stderr
	exited chan struct{}
	err    error // its exit, once exited is closed
}

// Start runs bin with args. At the test's cleanup a program still running
// is killed (and waited for up to 20 s).
func Start(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = p, p
	p.Cmd.WaitDelay = 5 * time.Second
	var err error
	if p.in, err = p.Cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.Cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.Cmd.Process.Kill()
			select {
			case <-p.exited:
			case <-time.After(20 * time.Second):
				t.Errorf("%s (pid %d) did not end in 20 s after SIGKILL", bin, p.Cmd.Process.Pid)
			}
		}
	})
	return p
}

// Write keeps what the program prints.
func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output is everything printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Len is how many bytes were printed so far: a mark for WaitFor.
func (p *Proc) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Len()
}

// Send writes one command line.
func (p *Proc) Send(line string) { _, _ = io.WriteString(p.in, line+"\n") }

// Exited is closed when the program has exited; Err is then its exit.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Err is how the program exited (valid once Exited is closed).
func (p *Proc) Err() error { return p.err }

// WaitFor waits up to d until the output past its first from bytes
// matches re, and returns that part. It fails the test if the program
// exits first or d passes.
func (p *Proc) WaitFor(t testing.TB, re string, from int, d time.Duration) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for {
		if s := p.Output()[from:]; rx.MatchString(s) {
			return s
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited (%v):\n%s", p.Cmd.Path, p.err, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v:\n%s", re, d, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Quit sends lines (the last of which should make the program exit),
// closes its input, waits up to 30 s for it to exit, and returns
// everything it printed. An exit other than 0, or none, fails the test.
func (p *Proc) Quit(t testing.TB, lines ...string) string {
	t.Helper()
	for _, l := range lines {
		p.Send(l)
	}
	p.in.Close()
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("%s: %v", p.Cmd.Path, p.err)
		}
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		t.Errorf("%s did not quit in 30 s", p.Cmd.Path)
	}
	return p.Output()
}
