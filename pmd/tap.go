package pmd

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// TapOffload is what a TAP's kernel side may hand over to the device
// (TUNSETOFFLOAD, linux/if_tun.h's TUN_F_*): partial checksums and GSO
// super-frames. The kernel shows what it took as the interface's features
// (`ethtool -k`).
type TapOffload uint32

// TAP offloads.
const (
	TapCsum   TapOffload = 0x01 // CHECKSUM_PARTIAL: NEEDS_CSUM frames
	TapTSO4   TapOffload = 0x02
	TapTSO6   TapOffload = 0x04
	TapTSOECN TapOffload = 0x08
	TapUFO    TapOffload = 0x10
	TapUSO4   TapOffload = 0x20
	TapUSO6   TapOffload = 0x40
)

var tapOffloadNames = []struct {
	o    TapOffload
	name string
}{{TapCsum, "csum"}, {TapTSO4, "tso4"}, {TapTSO6, "tso6"}, {TapTSOECN, "tso_ecn"}, {TapUFO, "ufo"}, {TapUSO4, "uso4"}, {TapUSO6, "uso6"}}

func (o TapOffload) String() string {
	var n []string
	for _, x := range tapOffloadNames {
		if o&x.o != 0 {
			n = append(n, x.name)
		}
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ",")
}

// TapConfig describes a vnet-hdr TAP port.
type TapConfig struct {
	// Name is the interface name (at most 15 bytes).
	Name string
	// Netns is a named network namespace (`ip netns add`, under
	// /var/run/netns) to create the interface in; empty: the current one.
	Netns string
	// Queues is the number of queues, one file descriptor each
	// (IFF_MULTI_QUEUE); 0 means 1.
	Queues int
	// Offload is what the port offers the kernel. TSO and USO need Csum;
	// a kernel that does not know an offload (USO before Linux 6.2) is
	// offered the rest.
	Offload TapOffload
}

// TapPort is a kernel-facing port: a TAP whose frames carry a
// virtio_net_hdr (IFF_VNET_HDR), read and written by streams in RxFd and
// TxToFd modes. The kernel on the other side is the OS that asks for
// offloads per frame.
type TapPort struct {
	id          uint16
	name, netns string
	fds         []int
	offload     TapOffload
}

// Go-native ports take port ids from FirstGoPort up, above every ethdev
// port id (RTE_MAX_ETHPORTS), so that streams, plans and capability tables
// name both kinds alike.
const (
	FirstGoPort = 32
	MaxGoPorts  = 32
)

var goPorts struct {
	mu    sync.Mutex
	ports [MaxGoPorts]atomic.Pointer[TapPort]
}

// TapByID is the TAP port with port id id, or nil.
func TapByID(id uint16) *TapPort {
	if id < FirstGoPort || id >= FirstGoPort+MaxGoPorts {
		return nil
	}
	return goPorts.ports[id-FirstGoPort].Load()
}

func (t *TapPort) register() error {
	goPorts.mu.Lock()
	defer goPorts.mu.Unlock()
	for i := range goPorts.ports {
		if goPorts.ports[i].Load() == nil {
			t.id = uint16(FirstGoPort + i)
			goPorts.ports[i].Store(t)
			return nil
		}
	}
	return fmt.Errorf("tap %s: %w: all %d Go-native port ids are taken", t.name, ErrNoMemory, MaxGoPorts)
}

// TAP ioctl values from linux/if_tun.h that x/sys/unix lacks.
const (
	tunSetVnetHdrSz = 0x400454d8 // TUNSETVNETHDRSZ, _IOW('T', 216, int)
)

// OpenTap creates the TAP (in cfg.Netns if set), one non-blocking file
// descriptor per queue, with a 12-byte virtio_net_hdr before every frame,
// and offers the kernel cfg.Offload. The interface is left down, without
// addresses: configuring it is the OS side's business.
func OpenTap(cfg TapConfig) (*TapPort, error) {
	if cfg.Name == "" || len(cfg.Name) >= unix.IFNAMSIZ {
		return nil, fmt.Errorf("tap %q: %w: the name must have 1 to %d bytes", cfg.Name, ErrInvalid, unix.IFNAMSIZ-1)
	}
	if cfg.Queues == 0 {
		cfg.Queues = 1
	}
	if cfg.Queues < 0 || cfg.Queues > 64 {
		return nil, fmt.Errorf("tap %s: %w: %d queues, want 1 to 64", cfg.Name, ErrInvalid, cfg.Queues)
	}
	t := &TapPort{name: cfg.Name, netns: cfg.Netns}
	err := inNetns(cfg.Netns, func() error {
		for range cfg.Queues {
			fd, err := openTapQueue(cfg.Name)
			if err != nil {
				return err
			}
			t.fds = append(t.fds, fd)
		}
		return nil
	})
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("tap %s: %w", cfg.Name, err)
	}
	if err := t.SetOffload(cfg.Offload); err != nil {
		t.Close()
		return nil, err
	}
	if err := t.register(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func openTapQueue(name string) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR | unix.IFF_MULTI_QUEUE)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("TUNSETIFF: %w", err)
	}
	if err := unix.IoctlSetPointerInt(fd, tunSetVnetHdrSz, VnetHdrLen); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("TUNSETVNETHDRSZ %d: %w", VnetHdrLen, err)
	}
	return fd, nil
}

// SetOffload offers the kernel o (TUNSETOFFLOAD) and records what it took:
// offloads this kernel does not know are dropped from the offer, one at a
// time from the newest (USO, then UFO, then ECN). Linux takes USO4 and USO6
// only together: one alone is refused and dropped.
func (t *TapPort) SetOffload(o TapOffload) error {
	if o&^TapCsum != 0 && o&TapCsum == 0 {
		return fmt.Errorf("tap %s: %w: %v without csum (the kernel requires it for GSO)", t.name, ErrInvalid, o)
	}
	for _, drop := range []TapOffload{0, TapUSO4 | TapUSO6, TapUFO, TapTSOECN} {
		o &^= drop
		err := unix.IoctlSetInt(t.fds[0], unix.TUNSETOFFLOAD, int(o))
		if err == nil {
			t.offload = o
			return nil
		}
		if !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("tap %s: TUNSETOFFLOAD %v: %w", t.name, o, err)
		}
	}
	return fmt.Errorf("tap %s: the kernel takes none of the offloads %v", t.name, o)
}

// Offload is what the kernel accepted.
func (t *TapPort) Offload() TapOffload { return t.offload }

// ID is the port's id, from FirstGoPort up.
func (t *TapPort) ID() uint16 { return t.id }

// Name is the interface name.
func (t *TapPort) Name() string { return t.name }

// Netns is the namespace the interface lives in ("" for the current one).
func (t *TapPort) Netns() string { return t.netns }

// Queues is the number of queues.
func (t *TapPort) Queues() int { return len(t.fds) }

// Fd is queue q's file descriptor, for a stream's RxFd and TxFd.
func (t *TapPort) Fd(q int) int { return t.fds[q] }

// Close closes every queue; the kernel removes the interface with the
// last one.
func (t *TapPort) Close() error {
	if t.id >= FirstGoPort {
		goPorts.ports[t.id-FirstGoPort].CompareAndSwap(t, nil)
		t.id = 0
	}
	var first error
	for _, fd := range t.fds {
		if err := unix.Close(fd); err != nil && first == nil {
			first = err
		}
	}
	t.fds = nil
	return first
}

// inNetns runs f on a thread moved into the named network namespace (the
// current one if name is empty). Sockets and devices f creates stay in
// that namespace; the thread is moved back after, or, if that fails,
// never used again.
func inNetns(name string, f func() error) error {
	if name == "" {
		return f()
	}
	target, err := os.Open("/var/run/netns/" + name)
	if err != nil {
		return fmt.Errorf("network namespace %q: %w", name, err)
	}
	defer target.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer own.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("setns %s: %w", name, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread stays locked and exits with the goroutine.
			done <- fmt.Errorf("setns back from %s: %w", name, err)
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

// InNetns runs f on a thread in the named network namespace and waits for
// it: a socket f opens belongs to that namespace. For tests and tools that
// play the OS side.
func InNetns(name string, f func() error) error { return inNetns(name, f) }

// Stats are the port's counters as the kernel keeps them for its side of
// the TAP (/proc/net/dev in its namespace), turned round: what the kernel
// sent is what the port received. Frames lost on the way count as the
// kernel's drops: its TX drops (our RX queue full) as IMissed, its RX
// errors and drops (frames we wrote it refused) as OErrors.
func (t *TapPort) Stats() (Stats, error) {
	var st Stats
	err := inNetns(t.netns, func() error {
		b, err := os.ReadFile("/proc/thread-self/net/dev")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			name, rest, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(name) != t.name {
				continue
			}
			var v [16]uint64
			f := strings.Fields(rest)
			if len(f) < 16 {
				return fmt.Errorf("/proc/net/dev: %d fields for %s", len(f), t.name)
			}
			for i := range v {
				if v[i], err = strconv.ParseUint(f[i], 10, 64); err != nil {
					return fmt.Errorf("/proc/net/dev: %s: %w", t.name, err)
				}
			}
			// RX: bytes packets errs drop fifo frame compressed multicast;
			// TX: bytes packets errs drop fifo colls carrier compressed.
			st = Stats{
				IBytes: v[8], IPackets: v[9], IMissed: v[11],
				OBytes: v[0], OPackets: v[1], OErrors: v[2] + v[3],
			}
			return nil
		}
		return fmt.Errorf("interface %s not found in namespace %q", t.name, t.netns)
	})
	if err != nil {
		return Stats{}, fmt.Errorf("tap %s: %w", t.name, err)
	}
	return st, nil
}

// Up reports whether the interface is up and running as its kernel sees
// it (IFF_UP and IFF_RUNNING). A namespace that was deleted, or an
// interface taken down, reports false with the reason: the port then
// receives nothing, and its streams go on polling.
func (t *TapPort) Up() (bool, error) {
	var up bool
	err := inNetns(t.netns, func() error {
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(s)
		ifr, err := unix.NewIfreq(t.name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
			return fmt.Errorf("SIOCGIFFLAGS: %w", err)
		}
		f := ifr.Uint16()
		up = f&unix.IFF_UP != 0 && f&unix.IFF_RUNNING != 0
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("tap %s: %w", t.name, err)
	}
	return up, nil
}
