package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// ports reads a validated "all|<port>" argument.
func (a *app) portsArg(arg string) []uint16 {
	if arg == "all" {
		return a.knownPorts()
	}
	var n uint16
	fmt.Sscan(arg, &n)
	return []uint16{n}
}

// show port info all|<port>: testpmd's port_infos_display, for the fields
// a vdev has.
func cmdShowPortInfo(a *app, args []string) error {
	for _, id := range a.portsArg(args[0]) {
		a.printf("\n********************* Infos for port %-2d *********************\n", id)
		p := a.port(id)
		if p == nil {
			t := pmd.TapByID(id)
			up, _ := t.Up()
			a.printf("Device name: %s\nDriver name: net_opmdtap (a kernel-facing TAP with virtio_net_hdr)\n", t.Name())
			a.printf("Network namespace: %s\nLink status: %s\nQueues: %d\n", nsName(t.Netns()), map[bool]string{true: "up", false: "down"}[up], t.Queues())
			a.printf("Offloads the kernel took (TUNSETOFFLOAD): %v\n", t.Offload())
			continue
		}
		info := p.Info()
		l, _ := p.Link()
		mtu, _ := p.MTU()
		a.printf("MAC address: %s\n", upperMAC(a.macs[id]))
		a.printf("Device name: %s\n", p.Name())
		a.printf("Driver name: %s\n", info.Driver)
		a.printf("Connect to socket: %d\n", max(p.Socket(), 0))
		a.printf("Link status: %s\n", map[bool]string{true: "up", false: "down"}[l.Up])
		a.printf("Link speed: %s\n", l.Speed())
		a.printf("Link duplex: %s\n", map[bool]string{true: "full-duplex", false: "half-duplex"}[l.FullDuplex])
		a.printf("Autoneg status: %s\n", map[bool]string{true: "On", false: "Off"}[l.Autoneg])
		a.printf("MTU: %d\n", mtu)
		a.printf("Promiscuous mode: %s\n", map[bool]string{true: "enabled", false: "disabled"}[p.Promiscuous()])
		a.printf("Port state: %s\n", map[bool]string{true: "started", false: "stopped"}[p.Started()])
		a.printf("Maximum number of MAC addresses: %d\n", info.MaxMACAddrs)
		a.printf("Minimum size of RX buffer: %d\n", info.MinRxBufSize)
		a.printf("Maximum configurable length of RX packet: %d\n", info.MaxRxPktLen)
		a.printf("Maximum configurable size of LRO aggregated packet: %d\n", info.MaxLROPktSize)
		a.printf("Current number of RX queues: %d\n", p.NbRxQueues())
		a.printf("Max possible RX queues: %d\n", info.MaxRxQueues)
		a.printf("Max possible number of RXDs per queue: %d\n", info.RxDescMax)
		a.printf("Min possible number of RXDs per queue: %d\n", info.RxDescMin)
		a.printf("RXDs number alignment: %d\n", info.RxDescAlign)
		a.printf("Current number of TX queues: %d\n", p.NbTxQueues())
		a.printf("Max possible TX queues: %d\n", info.MaxTxQueues)
		a.printf("Max possible number of TXDs per queue: %d\n", info.TxDescMax)
		a.printf("Min possible number of TXDs per queue: %d\n", info.TxDescMin)
		a.printf("TXDs number alignment: %d\n", info.TxDescAlign)
		a.printf("Max segment number per packet: %d\n", info.TxSegMax)
		a.printf("Rx offload capabilities: %s\n", upperNames(info.RxOffloadCapa.Names()))
		a.printf("Tx offload capabilities: %s\n", upperNames(info.TxOffloadCapa.Names()))
		if p.IsVhost() {
			if f, ok := p.VhostGuestFeatures(); ok {
				a.printf("Guest features (virtio): %s\n", strings.Join(offload.VirtioFeatureNames(f), " "))
				a.printf("Tx offloads left to the guest: %s\n", upperNames(offload.VhostGuestTx(f).Names()))
			} else {
				a.printf("Guest features (virtio): no guest attached\n")
			}
		}
	}
	return nil
}

func nsName(ns string) string {
	if ns == "" {
		return "(the process's own)"
	}
	return ns
}

// show port xstats all|<port>: testpmd's nic_xstats_display.
func cmdShowPortXStats(a *app, args []string) error {
	for _, id := range a.portsArg(args[0]) {
		p := a.port(id)
		if p == nil {
			a.printf("port %d is a kernel-facing TAP: its counters are the kernel's (show port stats %d)\n", id, id)
			continue
		}
		xs, err := p.XStats()
		if err != nil {
			return err
		}
		a.printf("###### NIC extended statistics for port %-2d\n", id)
		for _, x := range xs {
			a.printf("%s: %d\n", x.Name, x.Value)
		}
	}
	return nil
}

// ethPorts resolves "all|<port>" to ethdev ports; a TAP is always up and
// is reported, not an error, under "all".
func (a *app) ethPorts(arg, verb string) ([]*pmd.EthPort, error) {
	var out []*pmd.EthPort
	for _, id := range a.portsArg(arg) {
		if p := a.port(id); p != nil {
			out = append(out, p)
			continue
		}
		if arg != "all" {
			return nil, fmt.Errorf("port %d is a kernel-facing TAP: it cannot %s (it lives as long as offloadpmd)", id, verb)
		}
	}
	return out, nil
}

// port start all|<port>
func cmdPortStart(a *app, args []string) error {
	ps, err := a.ethPorts(args[0], "be started")
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Started() {
			a.printf("Port %d is now not stopped\n", p.ID())
			continue
		}
		if err := a.startPort(p); err != nil {
			return err
		}
	}
	a.printf("Done\n")
	return nil
}

// port stop all|<port>
func cmdPortStop(a *app, args []string) error {
	if err := a.mustBeStopped(); err != nil {
		return err
	}
	ps, err := a.ethPorts(args[0], "be stopped")
	if err != nil {
		return err
	}
	for _, p := range ps {
		a.printf("Stopping ports...\n")
		if err := p.Stop(); err != nil {
			return err
		}
		a.printf("Checking link statuses...\n")
	}
	a.printf("Done\n")
	return nil
}

// port close all|<port>: the port is gone from then on, as a closed
// ethdev port is.
func cmdPortClose(a *app, args []string) error {
	if err := a.mustBeStopped(); err != nil {
		return err
	}
	ps, err := a.ethPorts(args[0], "be closed")
	if err != nil {
		return err
	}
	for _, p := range ps {
		if a.fwd != nil {
			// Its streams would poll a closed port at the next start.
			a.retireCounters()
			_ = a.fwd.Close()
			a.fwd = nil
		}
		a.printf("Closing ports...\n")
		if err := p.Close(); err != nil {
			return err
		}
		a.printf("Port %d is closed\n", p.ID())
		a.ports = slices.DeleteFunc(a.ports, func(q *pmd.EthPort) bool { return q == p })
		a.fwdPorts = slices.DeleteFunc(a.fwdPorts, func(id uint16) bool { return id == p.ID() })
	}
	a.publishPorts()
	a.printf("Done\n")
	return nil
}
