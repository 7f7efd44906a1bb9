package xfrmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/internal/proctest"
)

// The topology, as scripts/demo.sh's with IPsec on B's side:
//
//	namespace A (plain)        offloadpmd (io)                 B: Linux XFRM
//	opa 10.77.0.1 fd77::1 -- port 32 | port 33 [SAs] -- 10.77.0.2 fd77::2
//
// offloadpmd encrypts what A sends B (an outbound SA and a policy on port
// 33, tx esp_encrypt) and decrypts what B sends A (an inbound SA, rx
// esp_decrypt on port 33). In tunnel mode offloadpmd is A's security
// gateway, with the outer address 10.77.1.1 (fd77:1::1), which B reaches
// through a static neighbour entry holding A's MAC, so that the decrypted
// packets, which keep their Ethernet header, are A's. In transport mode
// the SAs are between A's and B's own addresses. B's policies require ESP
// both ways: a packet offloadpmd left in clear, or did not decrypt, would
// never arrive.
const (
	aMAC   = "02:77:00:00:00:0a"
	aMTU   = "1360" // room for ESP's overhead on B's 1500-byte link
	portA  = 32
	portB  = 33
	nBytes = 4 << 20
)

type family struct {
	a, b, gw string // A, B, offloadpmd's tunnel endpoint
	bits     string
}

var (
	v4 = family{"10.77.0.1", "10.77.0.2", "10.77.1.1", "32"}
	v6 = family{"fd77::1", "fd77::2", "fd77:1::1", "128"}
)

type xcase struct {
	mode   string // tunnel, transport
	gcm    bool   // AES-GCM, else AES-CBC with HMAC-SHA-256-128
	fam    family
	esn    bool
	config bool // SAs and ports from a config file, else CLI commands
}

func (c xcase) name() string {
	alg := "cbc"
	if c.gcm {
		alg = "gcm"
	}
	ip := "ipv4"
	if c.fam == v6 {
		ip = "ipv6"
	}
	n := c.mode + "-" + alg + "-" + ip
	if c.esn {
		n += "-esn"
	}
	return n
}

// alg is offloadpmd's name: 128-bit keys over IPv4, 256-bit over IPv6.
func (c xcase) alg() string {
	bits := "128"
	if c.fam == v6 {
		bits = "256"
	}
	if c.gcm {
		return "aes" + bits + "gcm16"
	}
	return "aes" + bits + "-sha256"
}

// keys are the SA's keys in hex: encryption (GCM: with the salt) and
// authentication (CBC), made from the case and the direction.
func (c xcase) keys(dir string) (enc, auth string) {
	n := 16
	if c.fam == v6 {
		n = 32
	}
	if c.gcm {
		n += 4
	}
	sum := func(what string) []byte {
		h := sha256.Sum256([]byte(c.name() + dir + what))
		h2 := sha256.Sum256(h[:])
		return append(h[:], h2[:]...)
	}
	enc = hex.EncodeToString(sum("enc")[:n])
	if !c.gcm {
		auth = hex.EncodeToString(sum("auth")[:32])
	}
	return enc, auth
}

// xfrmAlg is the algorithm part of `ip xfrm state`.
func (c xcase) xfrmAlg(dir string) []string {
	enc, auth := c.keys(dir)
	if c.gcm {
		return []string{"aead", "rfc4106(gcm(aes))", "0x" + enc, "128"}
	}
	return []string{"enc", "cbc(aes)", "0x" + enc, "auth-trunc", "hmac(sha256)", "0x" + auth, "128"}
}

// ends are an SA's outer addresses as seen from offloadpmd's side.
func (c xcase) local() string {
	if c.mode == "tunnel" {
		return c.fam.gw
	}
	return c.fam.a
}

// TestXFRMInterop: TCP through offloadpmd's ESP to and from Linux's, in
// both modes, with both algorithms, over IPv4 and IPv6 (and ESN), checked
// by SHA-256 both ways, by the kernel's SA counters and error counters,
// and by offloadpmd's ESP counters.
func TestXFRMInterop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, TAP devices, DPDK); CI runs the tests as root")
	}
	for _, tool := range []string{"ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: run scripts/install-deps.sh", tool)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no TUN/TAP here: %v", err)
	}
	tag := strconv.Itoa(os.Getpid() % 10000)
	nsB := newNetns(t, "opmdxb"+tag)
	var p peer
	if err := hostHasESP(t, tag); err == nil {
		p = &nsPeer{ns: nsB, sinks: map[string]*sink{}}
	} else if miss := vmMissing(); miss == "" {
		t.Logf("this kernel has no ESP (%v): the Linux peer is a virtual machine", err)
		p = startVM(t, nsB, tag)
	} else {
		t.Skipf("no Linux IPsec to interoperate with: this kernel has no ESP (%v), and a VM peer lacks %s (scripts/install-deps.sh installs it)", err, miss)
	}
	t.Logf("peer: %v", p)

	var cases []xcase
	for _, mode := range []string{"tunnel", "transport"} {
		for _, gcm := range []bool{true, false} {
			for _, fam := range []family{v4, v6} {
				// ESN over IPv6; the tunnel cases from a config file.
				cases = append(cases, xcase{mode: mode, gcm: gcm, fam: fam, esn: fam == v6, config: mode == "tunnel"})
			}
		}
	}
	for i, c := range cases {
		t.Run(c.name(), func(t *testing.T) { interop(t, p, c, i, tag) })
	}
}

func interop(t *testing.T, p peer, c xcase, i int, tag string) {
	start := time.Now()
	nsA := newNetns(t, "opmdxa"+tag)
	var nsB string
	switch pp := p.(type) {
	case *nsPeer:
		// A fresh namespace per case.
		pp.ns = newNetns(t, fmt.Sprintf("opmdxb%s_%d", tag, i))
		nsB = pp.ns
	case *vmPeer:
		nsB = pp.ns
	}
	spiOut, spiIn := 0x1000+i, 0x2000+i // offloadpmd's outbound and inbound SAs
	encOut, authOut := c.keys("out")
	encIn, authIn := c.keys("in")
	f := c.fam

	// offloadpmd: the SAs, the policy and the capabilities, from a config
	// file or from commands.
	var cmds []string
	args := []string{"-l", "0-1", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", "opmd_xfrm_" + tag, "--log-level", "lib.eal:error",
		"--", "-i", "--forward-mode=io", "--total-num-mbufs=8192"}
	t.Cleanup(func() { os.RemoveAll("/var/run/dpdk/opmd_xfrm_" + tag) })
	sa := func(index, spi int, dir, enc, auth, src, dst string) string {
		s := fmt.Sprintf("sa add %d spi %#x %s %s %s enc %s", index, spi, dir, c.mode, c.alg(), enc)
		if auth != "" {
			s += " auth " + auth
		}
		s += " src " + src + " dst " + dst
		if c.esn {
			s += " esn"
		}
		return s
	}
	if c.config {
		args = append(args, "--config", writeConfig(t, c, nsA, nsB, spiOut, spiIn))
	} else {
		args = append(args, "--tap=opa,netns="+nsA, "--tap=opb,netns="+nsB)
		cmds = append(cmds,
			fmt.Sprintf("port config %d rx_offload esp_decrypt on", portB),
			fmt.Sprintf("port config %d tx_offload esp_encrypt on", portB),
			sa(0, spiOut, "out", encOut, authOut, c.local(), f.b),
			sa(1, spiIn, "in", encIn, authIn, f.b, c.local()),
			fmt.Sprintf("sa policy %d %s/%s sa 0", portB, f.b, f.bits),
		)
	}
	t.Logf("%v: offloadpmd %s", time.Since(start).Round(time.Millisecond), strings.Join(args, " "))
	pmd := proctest.Start(t, bin, args...)
	for _, tap := range []struct{ ns, name string }{{nsA, "opa"}, {nsB, "opb"}} {
		waitLink(t, tap.ns, tap.name, pmd)
	}
	for _, cmd := range cmds {
		pmd.Send(cmd)
	}
	pmd.Send("sa show")
	pmd.Send("start")

	// A: plain.
	for _, a := range [][]string{
		{"link", "set", "opa", "address", aMAC, "mtu", aMTU},
		{"addr", "add", v4.a + "/24", "dev", "opa"},
		{"addr", "add", v6.a + "/64", "dev", "opa", "nodad"},
		{"link", "set", "opa", "up"},
		{"neigh", "replace", v4.b, "lladdr", vmDataMAC, "dev", "opa", "nud", "permanent"},
		{"neigh", "replace", v6.b, "lladdr", vmDataMAC, "dev", "opa", "nud", "permanent"},
	} {
		ipCmd(t, append([]string{"-n", nsA}, a...)...)
	}
	// B: addresses, neighbours, then the SAs and policies in the mirror
	// image of offloadpmd's.
	if err := p.attach("opb"); err != nil {
		t.Fatal(err)
	}
	dev := p.dev()
	bCmds := [][]string{
		{"ip", "xfrm", "state", "flush"}, {"ip", "xfrm", "policy", "flush"},
		{"ip", "addr", "flush", "dev", dev}, {"ip", "neigh", "flush", "dev", dev},
		{"ip", "link", "set", dev, "up"},
		{"ip", "addr", "add", v4.b + "/24", "dev", dev},
		{"ip", "addr", "add", v6.b + "/64", "dev", dev, "nodad"},
		{"ip", "neigh", "replace", v4.a, "lladdr", aMAC, "dev", dev, "nud", "permanent"},
		{"ip", "neigh", "replace", v6.a, "lladdr", aMAC, "dev", dev, "nud", "permanent"},
	}
	if c.mode == "tunnel" {
		bCmds = append(bCmds,
			[]string{"ip", "route", "replace", f.gw + "/" + f.bits, "dev", dev},
			[]string{"ip", "neigh", "replace", f.gw, "lladdr", aMAC, "dev", dev, "nud", "permanent"})
	}
	replay := []string{"replay-window", "64"}
	if c.esn {
		replay = []string{"replay-window", "128", "flag", "esn"}
	}
	state := func(src, dst string, spi int, dir string) []string {
		s := []string{"ip", "xfrm", "state", "add", "src", src, "dst", dst, "proto", "esp", "spi", fmt.Sprintf("%#x", spi), "mode", c.mode}
		return append(append(s, c.xfrmAlg(dir)...), replay...)
	}
	policy := func(src, dst, dir, tsrc, tdst string) []string {
		return []string{"ip", "xfrm", "policy", "add", "src", src + "/" + f.bits, "dst", dst + "/" + f.bits, "dir", dir,
			"tmpl", "src", tsrc, "dst", tdst, "proto", "esp", "mode", c.mode, "level", "required"}
	}
	bCmds = append(bCmds,
		state(c.local(), f.b, spiOut, "out"), // what offloadpmd sends
		state(f.b, c.local(), spiIn, "in"),   // what offloadpmd receives
		policy(f.a, f.b, "in", c.local(), f.b),
		policy(f.b, f.a, "out", f.b, c.local()))
	// One shell script: a VM's commands are slow to start one by one.
	script := []string{"set -e"}
	for _, cmd := range bCmds {
		q := make([]string, len(cmd))
		for i, a := range cmd {
			q[i] = "'" + a + "'"
		}
		script = append(script, strings.Join(q, " "))
	}
	if _, err := p.run("sh", "-c", strings.Join(script, "\n")); err != nil {
		t.Fatalf("peer: %v", redact(err.Error(), encOut, authOut, encIn, authIn))
	}
	if dir := os.Getenv("OPMD_XFRM_PCAP"); dir != "" {
		// Debugging: what A and offloadpmd's port 33 see, as pcap files.
		for _, x := range []struct{ ns, dev string }{{nsA, "opa"}, {nsB, "opb"}} {
			f := filepath.Join(dir, c.name()+"-"+x.dev+".pcap")
			cap := exec.Command("ip", "netns", "exec", x.ns, "tcpdump", "-s", "256", "-U", "-i", x.dev, "-w", f)
			if err := cap.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cap.Process.Signal(os.Interrupt); _ = cap.Wait() })
		}
		time.Sleep(time.Second)
	}
	statsBefore := xfrmStat(t, p)
	t.Logf("%v: configured", time.Since(start).Round(time.Millisecond))
	setup := time.Since(start)

	// TCP both ways, each stream's SHA-256 compared.
	bAddr := net.JoinHostPort(f.b, "5001")
	if err := p.listen(bAddr); err != nil {
		t.Fatal(err)
	}
	err := sendStream(func() (conn net.Conn, err error) {
		err = inNetns(nsA, func() (err error) { conn, err = net.DialTimeout("tcp", bAddr, 10*time.Second); return })
		return
	}, nBytes, 1)
	if err != nil {
		// Fail fast: nothing will reach the listener.
		t.Errorf("A -> B: %v", err)
		p.cancel(bAddr)
	} else if got, err := p.result(bAddr); err != nil || got != fmt.Sprintf("%s %d", streamSum(1, nBytes), nBytes) {
		t.Errorf("A -> B: the peer received %q (%v); sent %d bytes, SHA-256 %s", got, err, nBytes, streamSum(1, nBytes))
	}
	t.Logf("%v: A -> B done", time.Since(start).Round(time.Millisecond))
	var ln net.Listener
	aAddr := net.JoinHostPort(f.a, "5002")
	if err := inNetns(nsA, func() (err error) { ln, err = net.Listen("tcp", aAddr); return }); err != nil {
		t.Fatal(err)
	}
	s := newSink(ln)
	if err := p.send(aAddr, nBytes, 2); err != nil {
		t.Errorf("B -> A: %v", err)
		ln.Close()
		_, _ = s.wait()
	} else if got, err := s.wait(); err != nil || got != fmt.Sprintf("%s %d", streamSum(2, nBytes), nBytes) {
		t.Errorf("B -> A: A received %q (%v); sent %d bytes, SHA-256 %s", got, err, nBytes, streamSum(2, nBytes))
	}
	traffic := time.Since(start) - setup

	// The kernel's counters: each SA carried packets, none failed, and
	// no XFRM error counter moved.
	states := xfrmStates(t, p)
	for _, spi := range []int{spiOut, spiIn} {
		st, ok := states[spi]
		switch {
		case !ok:
			t.Errorf("peer: no SA with spi %#x in ip -s xfrm state", spi)
		case st.packets == 0:
			t.Errorf("peer: SA spi %#x carried no packets", spi)
		case st.failed != 0 || st.replay != 0:
			t.Errorf("peer: SA spi %#x: %d integrity failures, %d replayed", spi, st.failed, st.replay)
		}
	}
	for k, v := range xfrmStat(t, p) {
		if v != statsBefore[k] {
			t.Errorf("peer: %s went from %d to %d", k, statsBefore[k], v)
		}
	}
	// offloadpmd's.
	out := pmd.Quit(t, "show offload stats", "stop", "quit")
	counters := map[string]uint64{}
	for _, m := range regexp.MustCompile(`(?m)^(esp-[a-z0-9-]+)\s+(\d+)\s*$`).FindAllStringSubmatch(out, -1) {
		counters[m[1]], _ = strconv.ParseUint(m[2], 10, 64)
	}
	for k, v := range counters {
		switch k {
		case "esp-encrypted", "esp-decrypted", "esp-cryptodev-jobs", "esp-go-jobs":
		default:
			t.Errorf("offloadpmd dropped %d packets: %s", v, k)
		}
	}
	if counters["esp-encrypted"] == 0 || counters["esp-decrypted"] == 0 {
		t.Errorf("offloadpmd: esp-encrypted %d, esp-decrypted %d: want both > 0", counters["esp-encrypted"], counters["esp-decrypted"])
	}
	t.Logf("setup %v, traffic %v; peer's SAs: out %+v, in %+v; offloadpmd: %v", setup.Round(time.Millisecond), traffic.Round(time.Millisecond),
		states[spiOut], states[spiIn], counters)
	if t.Failed() {
		t.Logf("offloadpmd's output:\n%s", redact(out, encOut, authOut, encIn, authIn))
	}
}

// redact removes the keys from what a failing test prints.
func redact(s string, keys ...string) string {
	for _, k := range keys {
		if k != "" {
			s = strings.ReplaceAll(s, k, "[key]")
		}
	}
	return s
}

// writeConfig writes a config file with the two TAP ports, their ESP
// capabilities and the SAs (their keys in key files).
func writeConfig(t *testing.T, c xcase, nsA, nsB string, spiOut, spiIn int) string {
	dir := t.TempDir()
	key := func(name, hexKey string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("0x"+hexKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return name
	}
	encOut, authOut := c.keys("out")
	encIn, authIn := c.keys("in")
	var b strings.Builder
	fmt.Fprintf(&b, `ports:
  - tap: {name: opa, netns: %s}
  - tap: {name: opb, netns: %s}
    offloads: {rx: [esp_decrypt], tx: [esp_encrypt]}
sas:
`, nsA, nsB)
	sa := func(index, spi int, dir, enc, auth, src, dst string, policy bool) {
		fmt.Fprintf(&b, "  - {index: %d, spi: %#x, dir: %s, mode: %s, alg: %s, enc_key_file: %s", index, spi, dir, c.mode, c.alg(), key(dir+".enc", enc))
		if auth != "" {
			fmt.Fprintf(&b, ", auth_key_file: %s", key(dir+".auth", auth))
		}
		fmt.Fprintf(&b, ", src: %q, dst: %q, esn: %v", src, dst, c.esn)
		if policy {
			fmt.Fprintf(&b, ", policy: {port: %d, dst: %q}", portB, c.fam.b+"/"+c.fam.bits)
		}
		b.WriteString("}\n")
	}
	sa(0, spiOut, "out", encOut, authOut, c.local(), c.fam.b, true)
	sa(1, spiIn, "in", encIn, authIn, c.fam.b, c.local(), false)
	p := filepath.Join(dir, "esp.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitLink waits for offloadpmd to create its TAP port's interface.
func waitLink(t *testing.T, ns, name string, p *proctest.Proc) {
	deadline := time.Now().Add(30 * time.Second)
	for exec.Command("ip", "-n", ns, "link", "show", name).Run() != nil {
		select {
		case <-p.Exited():
			t.Fatalf("offloadpmd exited (%v):\n%s", p.Err(), p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in %s after 30 s; offloadpmd:\n%s", name, ns, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// saStats are one SA's kernel counters.
type saStats struct{ packets, bytes, replay, failed uint64 }

// xfrmStates reads the peer's SAs' counters (ip -s xfrm state) by SPI.
// Only the counters are kept: the output also holds the keys.
func xfrmStates(t *testing.T, p peer) map[int]saStats {
	out, err := p.run("ip", "-s", "xfrm", "state")
	if err != nil {
		t.Fatal(err)
	}
	res := map[int]saStats{}
	spiRe := regexp.MustCompile(`spi (0x[0-9a-f]+)`)
	curRe := regexp.MustCompile(`(\d+)\(bytes\), (\d+)\(packets\)`)
	statRe := regexp.MustCompile(`replay-window \d+ replay (\d+) failed (\d+)`)
	for _, block := range regexp.MustCompile(`(?m)^src `).Split(out, -1) {
		m := spiRe.FindStringSubmatch(block)
		if m == nil {
			continue
		}
		spi, _ := strconv.ParseUint(m[1], 0, 32)
		var st saStats
		if c := curRe.FindStringSubmatch(block); c != nil {
			st.bytes, _ = strconv.ParseUint(c[1], 10, 64)
			st.packets, _ = strconv.ParseUint(c[2], 10, 64)
		}
		if s := statRe.FindStringSubmatch(block); s != nil {
			st.replay, _ = strconv.ParseUint(s[1], 10, 64)
			st.failed, _ = strconv.ParseUint(s[2], 10, 64)
		}
		res[int(spi)] = st
	}
	return res
}

// xfrmStat reads the peer's /proc/net/xfrm_stat.
func xfrmStat(t *testing.T, p peer) map[string]uint64 {
	out, err := p.run("cat", "/proc/net/xfrm_stat")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]uint64{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			m[f[0]], _ = strconv.ParseUint(f[1], 10, 64)
		}
	}
	return m
}
