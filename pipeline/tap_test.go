package pipeline

import (
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// tapPort probes a net_tap vdev with kernel interface iface.
func tapPort(t *testing.T, vdev, iface string) *pmd.EthPort {
	t.Helper()
	p, err := pmd.ProbeVdev(vdev + ",iface=" + iface)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTapPingAcrossNamespaces: the kernel in namespace a pings the kernel
// in namespace b; each side's interface is a net_tap port of ours, and io
// forwarding between the two ports carries ARP and ICMP both ways.
func TestTapPingAcrossNamespaces(t *testing.T) {
	pmdtest.Need(t)
	pmdtest.Tun(t)
	nsA := pmdtest.Netns(t, "opmd-t-ping-a")
	nsB := pmdtest.Netns(t, "opmd-t-ping-b")
	pool := pmdtest.Pool(t, 4096, 0)
	a := tapPort(t, "net_tap_ping0", "opmdping0")
	b := tapPort(t, "net_tap_ping1", "opmdping1")
	startPort(t, a, pool)
	startPort(t, b, pool)
	for _, x := range []struct{ ns, iface, addr string }{
		{nsA, "opmdping0", "10.201.0.1/24"}, {nsB, "opmdping1", "10.201.0.2/24"},
	} {
		pmdtest.Run(t, "ip", "link", "set", x.iface, "netns", x.ns)
		for _, args := range [][]string{
			{"ip", "addr", "add", x.addr, "dev", x.iface},
			{"ip", "link", "set", x.iface, "up"},
			{"ip", "link", "set", "lo", "up"},
		} {
			if out, err := pmdtest.InNetns(x.ns, args[0], args[1:]...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		}
	}
	stop := forward(t, []*pmd.EthPort{a, b}, config.TopologyPaired, &IOEngine, pool)
	out, err := pmdtest.InNetns(nsA, "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.201.0.2")
	st := stop()
	if err != nil {
		t.Fatalf("ping across the engine failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "3 received") {
		t.Fatalf("ping: %s", out)
	}
	var fwd uint64
	for _, s := range st {
		fwd += s.TxPackets
	}
	// Three requests, three replies, and the ARP exchange.
	if fwd < 8 {
		t.Errorf("the engine forwarded %d packets, want at least 8", fwd)
	}
}

// TestTapPortThatCannotStart: a port whose kernel interface vanished before
// start is reported with its name and the reason.
func TestTapPortThatCannotStart(t *testing.T) {
	pmdtest.Need(t)
	pmdtest.Tun(t)
	pool := pmdtest.Pool(t, 2048, 0)
	p := tapPort(t, "net_tap_gone0", "opmdgone0")
	defer p.Close()
	if err := p.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, Pool: pool}); err != nil {
		t.Fatal(err)
	}
	pmdtest.Run(t, "ip", "link", "del", "opmdgone0")
	err := p.Start()
	if err == nil {
		t.Fatal("start succeeded without its interface")
	}
	if !strings.Contains(err.Error(), "net_tap_gone0") || !strings.Contains(err.Error(), "start") {
		t.Errorf("error %q does not name the port and what failed", err)
	}
}
