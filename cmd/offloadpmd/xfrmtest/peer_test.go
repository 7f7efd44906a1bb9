package xfrmtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// peer is the Linux IPsec end: a network namespace, or a VM.
type peer interface {
	// run runs a command (ip ...) on the peer.
	run(args ...string) (string, error)
	// listen starts a TCP receiver at addr; result waits for it.
	listen(addr string) error
	result(addr string) (string, error)
	cancel(addr string) // closes a listener nothing will reach
	// send sends stream(seed)'s first n bytes to addr over TCP.
	send(addr string, n int, seed uint64) error
	// dev is the peer's interface facing offloadpmd.
	dev() string
	// attach connects offloadpmd's TAP port, in namespace ns (the
	// peer's own, or the one holding the VM's bridge), to the peer.
	attach(tap string) error
	String() string
}

// ipCmd runs ip with args and fails t on error.
func ipCmd(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNetns creates a network namespace, deleted at cleanup.
func newNetns(t testing.TB, name string) string {
	t.Helper()
	_ = exec.Command("ip", "netns", "del", name).Run() // a leftover of a killed run
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	ipCmd(t, "-n", name, "link", "set", "lo", "up")
	return name
}

// inNetns runs f on a thread moved into namespace ns: sockets f opens
// belong to ns.
func inNetns(ns string, f func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer orig.Close()
	target, err := os.Open(filepath.Join("/var/run/netns", ns))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", ns, err)
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime discards it.
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// nsPeer is a network namespace of this kernel.
type nsPeer struct {
	ns    string
	sinks map[string]*sink
}

func (p *nsPeer) String() string { return "network namespace " + p.ns }
func (p *nsPeer) dev() string    { return "opb" }

func (p *nsPeer) run(args ...string) (string, error) {
	return runCmd(append([]string{"ip", "netns", "exec", p.ns}, args...))
}

func (p *nsPeer) listen(addr string) error {
	var ln net.Listener
	if err := inNetns(p.ns, func() (err error) { ln, err = net.Listen("tcp", addr); return }); err != nil {
		return err
	}
	p.sinks[addr] = newSink(ln)
	return nil
}

func (p *nsPeer) result(addr string) (string, error) {
	s := p.sinks[addr]
	delete(p.sinks, addr)
	if s == nil {
		return "", fmt.Errorf("no listener at %s", addr)
	}
	return s.wait()
}

func (p *nsPeer) cancel(addr string) {
	if s := p.sinks[addr]; s != nil {
		delete(p.sinks, addr)
		s.ln.Close()
		_, _ = s.wait()
	}
}

func (p *nsPeer) send(addr string, n int, seed uint64) error {
	return sendStream(func() (c net.Conn, err error) {
		err = inNetns(p.ns, func() (err error) { c, err = net.DialTimeout("tcp", addr, 10*time.Second); return })
		return
	}, n, seed)
}

func (p *nsPeer) attach(string) error {
	_, err := runCmd([]string{"ip", "-n", p.ns, "link", "set", "opb", "address", vmDataMAC})
	return err
}

// hostHasESP reports whether this kernel does ESP with both algorithms
// (a namespace can be the peer), trying in a scratch namespace.
func hostHasESP(t testing.TB, tag string) error {
	ns := newNetns(t, "opmdxp"+tag)
	defer exec.Command("ip", "netns", "del", ns).Run()
	for _, st := range [][]string{
		{"aead", "rfc4106(gcm(aes))", "0x" + strings.Repeat("11", 20), "128"},
		{"enc", "cbc(aes)", "0x" + strings.Repeat("11", 16), "auth-trunc", "hmac(sha256)", "0x" + strings.Repeat("22", 32), "128"},
	} {
		args := append([]string{"ip", "-n", ns, "xfrm", "state", "add", "src", "10.0.0.1", "dst", "10.0.0.2", "proto", "esp", "spi", "0x1000", "mode", "tunnel"}, st...)
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %s", st[1], strings.TrimSpace(string(out)))
		}
		if out, err := exec.Command("ip", "-n", ns, "xfrm", "state", "flush").CombinedOutput(); err != nil {
			return fmt.Errorf("ip xfrm state flush: %s", out)
		}
	}
	return nil
}

// vmPeer is a KVM guest running a Debian kernel with ESP, on the host's
// root file system (read-only, over 9p), the test binary as its init
// process's agent. Its data interface is bridged, in namespace ns, to
// offloadpmd's TAP port.
type vmPeer struct {
	agent   agentClient
	cmd     *exec.Cmd
	ns      string
	console string
}

func (p *vmPeer) String() string { return "virtual machine (console log " + p.console + ")" }
func (p *vmPeer) dev() string    { return "data0" }

func (p *vmPeer) run(args ...string) (string, error) {
	return p.agent.call(request{Op: "exec", Args: args})
}

func (p *vmPeer) listen(addr string) error {
	_, err := p.agent.call(request{Op: "listen", Addr: addr})
	return err
}

func (p *vmPeer) result(addr string) (string, error) {
	return p.agent.call(request{Op: "result", Addr: addr})
}

func (p *vmPeer) cancel(addr string) {
	_, _ = p.agent.call(request{Op: "result", Addr: addr, Cancel: true})
}

func (p *vmPeer) send(addr string, n int, seed uint64) error {
	_, err := p.agent.call(request{Op: "send", Addr: addr, N: n, Seed: seed})
	return err
}

func (p *vmPeer) attach(tap string) error {
	for _, c := range [][]string{
		{"ip", "-n", p.ns, "link", "set", tap, "master", "br0"},
		{"ip", "-n", p.ns, "link", "set", tap, "up"},
	} {
		if _, err := runCmd(c); err != nil {
			return err
		}
	}
	return nil
}

// vmKernel finds a kernel image whose modules include ESP and 9p: Debian's
// linux-image-amd64 (scripts/install-deps.sh installs it).
func vmKernel() (image, version string, err error) {
	imgs, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Sort(sort.Reverse(sort.StringSlice(imgs)))
	for _, img := range imgs {
		v := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
		mods := filepath.Join("/lib/modules", v)
		if fileExists(filepath.Join(mods, "kernel/net/ipv4/esp4.ko")) && fileExists(filepath.Join(mods, "kernel/fs/9p/9p.ko")) {
			return img, v, nil
		}
	}
	return "", "", errors.New("no /boot/vmlinuz-* with ESP and 9p modules (Debian's linux-image-amd64)")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// vmMissing says what the VM peer lacks here, or "".
func vmMissing() string {
	var miss []string
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		miss = append(miss, "KVM (/dev/kvm: "+err.Error()+")")
	} else {
		f.Close()
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		miss = append(miss, "qemu-system-x86_64 (Debian's qemu-system-x86)")
	}
	if _, _, err := vmKernel(); err != nil {
		miss = append(miss, err.Error())
	}
	if !fileExists("/bin/busybox") {
		miss = append(miss, "/bin/busybox (busybox-static)")
	}
	return strings.Join(miss, "; ")
}

// moduleClosure lists the modules (paths relative to /lib/modules/v) the
// named ones need, dependencies first, from modules.dep.
func moduleClosure(v string, names ...string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join("/lib/modules", v, "modules.dep"))
	if err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	byName := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		mod, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
		byName[strings.TrimSuffix(filepath.Base(mod), ".ko")] = mod
	}
	var order []string
	var visit func(m string)
	visit = func(m string) {
		if slices.Contains(order, m) {
			return
		}
		for _, d := range deps[m] {
			visit(d)
		}
		order = append(order, m)
	}
	for _, n := range names {
		m, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("module %s not in %s's modules.dep", n, v)
		}
		visit(m)
	}
	return order, nil
}

// cpio writes a newc archive (the initramfs format).
type cpio struct {
	b   bytes.Buffer
	ino int
}

func (c *cpio) add(name string, mode uint32, data []byte, rdevMajor, rdevMinor int) {
	c.ino++
	fmt.Fprintf(&c.b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.b.WriteString(name)
	c.b.WriteByte(0)
	c.pad()
	c.b.Write(data)
	c.pad()
}

func (c *cpio) pad() {
	for c.b.Len()%4 != 0 {
		c.b.WriteByte(0)
	}
}

// initramfs builds the VM's initramfs: busybox, the virtio and 9p modules,
// and an init that mounts the host's root read-only and runs agent in it.
func initramfs(v, agent string) ([]byte, error) {
	mods, err := moduleClosure(v, "virtio_pci", "9pnet_virtio", "9p")
	if err != nil {
		return nil, err
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, err
	}
	var c cpio
	for _, d := range []string{"bin", "dev", "m", "newroot", "proc", "sys"} {
		c.add(d, unix.S_IFDIR|0o755, nil, 0, 0)
	}
	c.add("dev/console", unix.S_IFCHR|0o600, nil, 5, 1)
	c.add("bin/busybox", unix.S_IFREG|0o755, bb, 0, 0)
	var names []string
	for _, m := range mods {
		data, err := os.ReadFile(filepath.Join("/lib/modules", v, m))
		if err != nil {
			return nil, err
		}
		c.add("m/"+filepath.Base(m), unix.S_IFREG|0o644, data, 0, 0)
		names = append(names, filepath.Base(m))
	}
	init := fmt.Sprintf(`#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
for m in %s; do $B insmod /m/$m || echo "init: insmod $m failed"; done
$B mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /newroot || { echo "init: cannot mount the host's root"; exit 1; }
$B mount -t proc proc /newroot/proc
$B mount -t sysfs sysfs /newroot/sys
$B mount -t devtmpfs devtmpfs /newroot/dev
export %s=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/
exec $B chroot /newroot %s
`, strings.Join(names, " "), agentEnv, agent)
	c.add("init", unix.S_IFREG|0o755, []byte(init), 0, 0)
	c.add("TRAILER!!!", 0, nil, 0, 0)
	return c.b.Bytes(), nil
}

// startVM boots the VM peer: QEMU runs in namespace ns, where its data
// TAP joins bridge br0 (offloadpmd's TAP port joins it later, attach);
// the agent answers on a port of ns's loopback (QEMU's user networking).
func startVM(t testing.TB, ns, tag string) *vmPeer {
	t.Helper()
	img, v, err := vmKernel()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ird, err := initramfs(v, self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "initrd"), ird, 0o644); err != nil {
		t.Fatal(err)
	}
	const hostPort = 17000
	qtap := "opmdq" + tag
	p := &vmPeer{ns: ns, console: filepath.Join(dir, "console.log")}
	// KVM when asked for: nested KVM boots nothing on some hosts (a
	// Firecracker guest's), where QEMU's TCG is slower but works.
	accel := []string{"-accel", "tcg,thread=multi", "-cpu", "max"}
	if os.Getenv("OPMD_XFRM_VM_KVM") != "" {
		accel = []string{"-accel", "kvm", "-cpu", "host"}
	}
	args := append([]string{"netns", "exec", ns, "qemu-system-x86_64"}, accel...)
	args = append(args, "-m", "768", "-smp", "2",
		"-display", "none", "-monitor", "none", "-no-reboot", "-serial", "file:"+p.console,
		"-kernel", img, "-initrd", filepath.Join(dir, "initrd"),
		"-append", "console=ttyS0 panic=-1 loglevel=4 printk.time=1",
		"-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
		"-netdev", fmt.Sprintf("user,id=ctl,restrict=on,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:%d", hostPort, agentPort),
		"-device", "virtio-net-pci,netdev=ctl,mac="+vmCtlMAC,
		"-netdev", "tap,id=data,ifname="+qtap+",script=no,downscript=no,vhost=off",
		"-device", "virtio-net-pci,netdev=data,mac="+vmDataMAC,
	)
	p.cmd = exec.Command("ip", args...)
	var qerr bytes.Buffer
	p.cmd.Stderr = &qerr
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-exited
	})
	consoleTail := func() string {
		b, _ := os.ReadFile(p.console)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return strings.Join(lines[max(0, len(lines)-30):], "\n")
	}
	deadline := time.Now().Add(120 * time.Second)
	for {
		var c net.Conn
		err := inNetns(ns, func() (err error) {
			c, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", hostPort), time.Second)
			return
		})
		if err == nil {
			// QEMU accepts before the guest listens: a first call proves
			// the agent is there.
			p.agent = agentClient{c: c, dec: json.NewDecoder(bufio.NewReader(c)), enc: json.NewEncoder(c)}
			if _, err = p.run("true"); err == nil {
				break
			}
			c.Close()
		}
		select {
		case e := <-exited:
			t.Fatalf("the VM exited (%v): %s\nconsole:\n%s", e, qerr.String(), consoleTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the VM's agent did not answer in 120 s (%v)\nconsole:\n%s", err, consoleTail())
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Cleanup(func() { p.agent.c.Close() })
	for _, c := range [][]string{
		{"ip", "-n", ns, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"},
		{"ip", "-n", ns, "link", "set", qtap, "master", "br0"},
		{"ip", "-n", ns, "link", "set", qtap, "up"},
		{"ip", "-n", ns, "link", "set", "br0", "up"},
	} {
		if _, err := runCmd(c); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
