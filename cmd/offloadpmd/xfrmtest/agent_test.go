package xfrmtest

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// The Linux peer's side of a test: commands (ip xfrm, ip addr, ...) and
// TCP streams checked by SHA-256. In a network namespace they run here;
// in the virtual machine the test binary itself runs as the VM's init
// process (an agent) and does them on request over a TCP control
// connection (one JSON request, one JSON reply, per line).

// agentEnv, set, makes the test binary the VM's agent (TestMain).
const agentEnv = "OPMD_XFRM_AGENT"

// agentPort is where the agent listens, on the VM's control interface.
const agentPort = 7000

// MACs by which the agent tells its two interfaces apart (virtio-net's
// order is the command line's, but names are not guaranteed).
const (
	vmCtlMAC  = "52:54:00:77:00:01"
	vmDataMAC = "02:77:00:00:00:0b"
)

type request struct {
	Op   string   // exec, listen, result, send
	Args []string `json:",omitempty"` // exec
	Addr string   `json:",omitempty"` // listen, result, send
	N    int      `json:",omitempty"` // send: bytes
	Seed uint64   `json:",omitempty"` // send
	// Cancel, for result, closes the listener first: nothing is coming.
	Cancel bool `json:",omitempty"`
}

type reply struct {
	Out string
	Err string `json:",omitempty"`
}

// stream is n deterministic bytes from seed.
func stream(seed uint64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return rand.NewChaCha8(s)
}

// streamSum is the SHA-256, in hex, of stream(seed)'s first n bytes.
func streamSum(seed uint64, n int) string {
	h := sha256.New()
	_, _ = io.CopyN(h, stream(seed), int64(n))
	return hex.EncodeToString(h.Sum(nil))
}

// sink accepts one TCP connection on ln and hashes what it receives.
type sink struct {
	ln   net.Listener
	done chan struct{}
	sum  string
	n    int64
	err  error
}

func newSink(ln net.Listener) *sink {
	s := &sink{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer ln.Close()
		if tl, ok := ln.(*net.TCPListener); ok {
			_ = tl.SetDeadline(time.Now().Add(30 * time.Second))
		}
		c, err := ln.Accept()
		if err != nil {
			s.err = err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		h := sha256.New()
		s.n, s.err = io.Copy(h, c)
		s.sum = hex.EncodeToString(h.Sum(nil))
	}()
	return s
}

// wait returns the received stream's SHA-256 and length.
func (s *sink) wait() (string, error) {
	select {
	case <-s.done:
	case <-time.After(45 * time.Second):
		s.ln.Close()
		<-s.done
		return "", errors.New("the receiver did not finish in 45 s")
	}
	if s.err != nil {
		return "", fmt.Errorf("after %d bytes: %w", s.n, s.err)
	}
	return fmt.Sprintf("%s %d", s.sum, s.n), nil
}

// sendStream sends stream(seed)'s first n bytes over a TCP connection made
// by dial, then closes it.
func sendStream(dial func() (net.Conn, error), n int, seed uint64) error {
	c, err := dial()
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.CopyN(c, stream(seed), int64(n)); err != nil {
		return err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return err
		}
		// Wait for the receiver's close: everything was taken.
		_, _ = io.Copy(io.Discard, tc)
	}
	return nil
}

func runCmd(args []string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("no command")
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// runAgent is the VM's init process: it loads the modules IPsec needs,
// brings up its interfaces and serves requests until the VM is killed.
func runAgent() {
	fail := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "agent: "+format+"\n", a...)
		os.Exit(1) // init exits: the kernel panics and QEMU (-no-reboot) ends
	}
	mods := []string{"virtio_net", "xfrm_user", "esp4", "esp6", "xfrm4_tunnel", "xfrm6_tunnel", "authenc", "gcm",
		"ghash_generic", "ctr", "seqiv", "echainiv", "aesni_intel", "ghash_clmulni_intel", "bridge"}
	if _, err := runCmd(append([]string{"modprobe", "-a"}, mods...)); err != nil {
		fmt.Fprintf(os.Stderr, "agent: %v\n", err)
	}
	links, err := net.Interfaces()
	if err != nil {
		fail("%v", err)
	}
	for _, l := range links {
		switch l.HardwareAddr.String() {
		case vmCtlMAC:
			_, _ = runCmd([]string{"ip", "link", "set", l.Name, "name", "ctl0"})
		case vmDataMAC:
			_, _ = runCmd([]string{"ip", "link", "set", l.Name, "name", "data0"})
		}
	}
	for _, c := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "addr", "add", "10.0.2.15/24", "dev", "ctl0"},
		{"ip", "link", "set", "ctl0", "up"},
		{"ip", "link", "set", "data0", "up"},
		{"sysctl", "-qw", "net.ipv6.conf.data0.accept_dad=0"},
	} {
		if _, err := runCmd(c); err != nil {
			fail("%v", err)
		}
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("10.0.2.15:%d", agentPort))
	if err != nil {
		fail("%v", err)
	}
	fmt.Fprintf(os.Stderr, "agent: listening\n")
	var mu sync.Mutex
	sinks := map[string]*sink{}
	for {
		c, err := ln.Accept()
		if err != nil {
			fail("%v", err)
		}
		go func() {
			defer c.Close()
			dec, enc := json.NewDecoder(bufio.NewReader(c)), json.NewEncoder(c)
			for {
				var r request
				if err := dec.Decode(&r); err != nil {
					return
				}
				var rep reply
				var err error
				switch r.Op {
				case "exec":
					rep.Out, err = runCmd(r.Args)
				case "listen":
					var l net.Listener
					if l, err = net.Listen("tcp", r.Addr); err == nil {
						mu.Lock()
						sinks[r.Addr] = newSink(l)
						mu.Unlock()
					}
				case "result":
					mu.Lock()
					s := sinks[r.Addr]
					delete(sinks, r.Addr)
					mu.Unlock()
					switch {
					case s == nil:
						err = fmt.Errorf("no listener at %s", r.Addr)
					case r.Cancel:
						s.ln.Close()
						_, _ = s.wait()
					default:
						rep.Out, err = s.wait()
					}
				case "send":
					err = sendStream(func() (net.Conn, error) { return net.DialTimeout("tcp", r.Addr, 10*time.Second) }, r.N, r.Seed)
				default:
					err = fmt.Errorf("unknown op %q", r.Op)
				}
				if err != nil {
					rep.Err = err.Error()
				}
				if enc.Encode(rep) != nil {
					return
				}
			}
		}()
	}
}

// agentClient talks to the agent.
type agentClient struct {
	mu  sync.Mutex
	c   net.Conn
	dec *json.Decoder
	enc *json.Encoder
}

func (a *agentClient) call(r request) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	_ = a.c.SetDeadline(time.Now().Add(150 * time.Second))
	if err := a.enc.Encode(r); err != nil {
		return "", fmt.Errorf("agent: %w", err)
	}
	var rep reply
	if err := a.dec.Decode(&rep); err != nil {
		return "", fmt.Errorf("agent: %w", err)
	}
	if rep.Err != "" {
		return rep.Out, errors.New(rep.Err)
	}
	return rep.Out, nil
}
