package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// applyChange edits port's capability table. A change that only moves work
// in software applies at the lcores' next burst, forwarding or not. One
// that changes what the device itself is configured to do needs the port
// reconfigured: refused while forwarding, done (stop, configure, start)
// otherwise.
func (a *app) applyChange(port uint16, c offload.Change) (*offload.Table, error) {
	cur := a.tables.Load(port)
	p := a.port(port)
	if cur == nil || p == nil && pmd.TapByID(port) == nil {
		return nil, fmt.Errorf("port %d: no such port", port)
	}
	next, err := cur.Apply(c)
	if err != nil {
		return nil, err
	}
	if p == nil {
		// A TAP: its "device" is the kernel, which takes what it took at
		// TUNSETOFFLOAD; the table only says what is left to it.
		return next, a.tables.Publish(next)
	}
	if next.DeviceRx() != cur.DeviceRx() || next.DeviceTx() != cur.DeviceTx() {
		if a.fwd != nil && a.fwd.Running() {
			return nil, fmt.Errorf("port %d: this changes the device's own offload configuration (rx [%v] tx [%v]): stop forwarding first",
				port, next.DeviceRx(), next.DeviceTx())
		}
		if err := a.reconfigure(p, next); err != nil {
			return nil, err
		}
	}
	return next, a.tables.Publish(next)
}

// reconfigure applies a table's device offloads to a stopped port.
func (a *app) reconfigure(p *pmd.EthPort, t *offload.Table) error {
	started := p.Started()
	if err := p.Stop(); err != nil {
		return err
	}
	err := p.Configure(pmd.PortConfig{
		RxQueues: a.cfg.RxQueues, TxQueues: a.cfg.TxQueues, RxDesc: a.cfg.RxDesc, TxDesc: a.cfg.TxDesc,
		RxOffloads: pmd.RxOffload(t.DeviceRx()), TxOffloads: pmd.TxOffload(t.DeviceTx()), RSSHash: a.rssHash(),
		LSCInterrupt: !a.cfg.NoLSCInterrupt, Pool: a.pool,
	})
	if err != nil {
		return err
	}
	if started {
		return p.Start()
	}
	return nil
}

// portArg reads one port id that exists.
func (a *app) portArg(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || a.port(uint16(n)) == nil && pmd.TapByID(uint16(n)) == nil {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return uint16(n), nil
}

// csumNames maps testpmd's `csum set` protocol words to capabilities.
var csumNames = map[string]offload.TxCaps{
	"ip": offload.TxIPv4Cksum, "tcp": offload.TxTCPCksum, "udp": offload.TxUDPCksum,
	"sctp": offload.TxSCTPCksum, "outer-ip": offload.TxOuterIPv4Cksum, "outer-udp": offload.TxOuterUDPCksum,
}

// csum set <ip|tcp|udp|sctp|outer-ip|outer-udp> <hw|sw> <port>
func cmdCsumSet(a *app, args []string) error {
	if len(args) != 3 || (args[1] != "hw" && args[1] != "sw") {
		return errBadArgs
	}
	c, ok := csumNames[args[0]]
	if !ok {
		return errBadArgs
	}
	port, err := a.portArg(args[2])
	if err != nil {
		return err
	}
	ch := offload.Change{EnableTx: c}
	if args[1] == "sw" {
		ch.SoftwareTx = c
	} else {
		if !a.tables.Load(port).HardwareTx().Has(c) {
			a.printf("%s checksum offload is not supported by port %d\n", csumLabel(args[0]), port)
			return nil
		}
		ch.HardwareTx = c
	}
	if _, err := a.applyChange(port, ch); err != nil {
		return err
	}
	return cmdCsumShow(a, args[2:])
}

func csumLabel(w string) string {
	switch w {
	case "ip", "tcp", "udp", "sctp":
		return strings.ToUpper(w)
	case "outer-ip":
		return "Outer-Ip"
	}
	return "Outer-Udp"
}

// csum show <port>: who does each checksum, in testpmd's words.
func cmdCsumShow(a *app, args []string) error {
	if len(args) != 1 {
		return errBadArgs
	}
	port, err := a.portArg(args[0])
	if err != nil {
		return err
	}
	t := a.tables.Load(port)
	a.printf("Parse tunnel is off\n")
	for _, w := range []string{"ip", "udp", "tcp", "sctp", "outer-ip", "outer-udp"} {
		by := "sw"
		if t.TxBy(csumNames[w]) == offload.PerformHardware {
			by = "hw"
		}
		a.printf("%s checksum offload is %s\n", csumLabel(w), by)
	}
	return nil
}

func (a *app) csum(port uint16) pipeline.CsumSettings { return a.off.Csum(port) }

// tso set <segsz> <port>
func cmdTSOSet(a *app, args []string) error {
	if _, err := a.segSet(args, offload.TxTCPTSO|offload.TxTCPTSO6|offload.TxIPv4Cksum|offload.TxTCPCksum,
		func(c *pipeline.CsumSettings, n uint16) { c.TSOSegsz = n }); err != nil {
		return err
	}
	return cmdTSOShow(a, args[1:])
}

// uso set <segsz> <port>: offloadpmd's USO for the csum engine.
func cmdUSOSet(a *app, args []string) error {
	n, err := a.segSet(args, offload.TxUDPTSO|offload.TxUDPTSO6|offload.TxIPv4Cksum|offload.TxUDPCksum,
		func(c *pipeline.CsumSettings, n uint16) { c.USOSegsz = n })
	if err != nil {
		return err
	}
	if n == 0 {
		a.printf("USO is disabled\n")
	} else {
		a.printf("USO segment size is %d\n", n)
	}
	return nil
}

// segSet is `tso set` and `uso set`: <segsz> <port>; a non-zero size
// enables caps on the port (the segmentation and its checksums), then set
// records it in the port's csum settings.
func (a *app) segSet(args []string, caps offload.TxCaps, set func(*pipeline.CsumSettings, uint16)) (uint16, error) {
	if len(args) != 2 {
		return 0, errBadArgs
	}
	n, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil {
		return 0, errBadArgs
	}
	port, err := a.portArg(args[1])
	if err != nil {
		return 0, err
	}
	if n > 0 {
		if _, err := a.applyChange(port, offload.Change{EnableTx: caps}); err != nil {
			return 0, err
		}
	}
	c := a.csum(port)
	set(&c, uint16(n))
	a.off.SetCsum(port, c)
	return uint16(n), nil
}

// tso show <port>
func cmdTSOShow(a *app, args []string) error {
	if len(args) != 1 {
		return errBadArgs
	}
	port, err := a.portArg(args[0])
	if err != nil {
		return err
	}
	if n := a.csum(port).TSOSegsz; n == 0 {
		a.printf("TSO for non-tunneled packets is disabled\n")
	} else {
		a.printf("TSO segment size for non-tunneled packets is %d\n", n)
	}
	return nil
}

// set port <id> gro|gso on|off
func cmdSetPort(a *app, args []string) error {
	if len(args) < 3 {
		return errBadArgs
	}
	port, err := a.portArg(args[0])
	if err != nil {
		return err
	}
	on := args[2] == "on"
	if args[2] != "on" && args[2] != "off" {
		return errBadArgs
	}
	switch args[1] {
	case "gro":
		ch := offload.Change{DisableRx: offload.RxTCPLRO | offload.RxUDPGRO}
		if on {
			ch = offload.Change{EnableRx: offload.RxTCPLRO | offload.RxUDPGRO, SoftwareRx: offload.RxTCPLRO}
		}
		_, err := a.applyChange(port, ch)
		return err
	case "gso":
		// GSO is software segmentation: TCP and, as testpmd does it, UDP
		// by IP fragmentation.
		caps := offload.TxTCPTSO | offload.TxTCPTSO6 | offload.TxUFO
		ch := offload.Change{EnableTx: caps, SoftwareTx: offload.TxTCPTSO}
		if !on {
			ch = offload.Change{HardwareTx: a.tables.Load(port).HardwareTx() & offload.TxTCPTSO}
		}
		if _, err := a.applyChange(port, ch); err != nil {
			return err
		}
		c := a.csum(port)
		c.GSO = on
		if c.GSOSegsz == 0 {
			c.GSOSegsz = a.gsoSegsz
		}
		a.off.SetCsum(port, c)
		return nil
	}
	return errBadArgs
}

// set gso segsz <n>: the largest frame GSO makes, Ethernet header included.
func cmdSetGSO(a *app, args []string) error {
	n, err := strconv.ParseUint(args[0], 10, 16)
	if err != nil || n < 64 {
		return errors.New("gso segsz must be at least 64")
	}
	a.gsoSegsz = uint16(n)
	for _, p := range a.ports {
		c := a.csum(p.ID())
		c.GSOSegsz = uint16(n)
		a.off.SetCsum(p.ID(), c)
	}
	return nil
}

// set gro flush <n>: testpmd flushes GRO every n polls; offloadpmd flushes
// by time, and takes n as n × 10 µs for streams created after.
func cmdSetGRO(a *app, args []string) error {
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil || n == 0 {
		return errBadArgs
	}
	if err := a.mustBeStopped(); err != nil {
		return err
	}
	a.off.GRO.Timeout = time.Duration(n) * 10 * time.Microsecond
	a.printf("GRO flush timeout set to %v\n", a.off.GRO.Timeout)
	return nil
}

// port config <id> rx_offload|tx_offload <name> on|off
func cmdPortConfig(a *app, args []string) error {
	if len(args) != 4 || (args[3] != "on" && args[3] != "off") {
		return errBadArgs
	}
	port, err := a.portArg(args[0])
	if err != nil {
		return err
	}
	on := args[3] == "on"
	var ch offload.Change
	switch args[1] {
	case "rx_offload":
		c, err := offload.ParseRxCap(args[2])
		if err != nil {
			return err
		}
		if on {
			ch.EnableRx = c
		} else {
			ch.DisableRx = c
		}
	case "tx_offload":
		c, err := offload.ParseTxCap(args[2])
		if err != nil {
			return err
		}
		if on {
			ch.EnableTx = c
		} else {
			ch.DisableTx = c
		}
	default:
		return errBadArgs
	}
	_, err = a.applyChange(port, ch)
	return err
}

// show port <id> offload [--json] | rx_offload|tx_offload capabilities|configuration | gro | gso
func cmdShowPortID(a *app, args []string) error {
	if len(args) < 2 {
		return errBadArgs
	}
	port, err := a.portArg(args[0])
	if err != nil {
		return err
	}
	t := a.tables.Load(port)
	switch args[1] {
	case "offload":
		if len(args) == 3 && args[2] == "--json" {
			b, err := json.MarshalIndent(t, "", "  ")
			if err != nil {
				return err
			}
			a.printf("%s\n", b)
			return nil
		}
		tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "port %d (%s), table version %d, MTU %d\n", port, t.Driver, t.Version, t.MTU)
		fmt.Fprintf(tw, "DIR\tCAPABILITY\tHARDWARE\tSOFTWARE\tENABLED\tPERFORMED BY\n")
		for _, e := range t.Entries() {
			if !e.Hardware && !e.Software {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Dir, e.Name, yes(e.Hardware), yes(e.Software), yes(e.Enabled), e.Performer)
		}
		return tw.Flush()
	case "rx_offload", "tx_offload":
		if len(args) != 3 {
			return errBadArgs
		}
		rx := args[1] == "rx_offload"
		switch args[2] {
		case "capabilities":
			a.printf("%s Offloading Capabilities of port %d :\n", map[bool]string{true: "Rx", false: "Tx"}[rx], port)
			if rx {
				a.printf("  Per Queue :\n  Per Port  : %s\n\n", upperNames(pmd.RxOffload(t.HardwareRx()&offload.RxDPDKMask).Names()))
			} else {
				a.printf("  Per Queue :\n  Per Port  : %s\n\n", upperNames(pmd.TxOffload(t.HardwareTx()&offload.TxDPDKMask).Names()))
			}
		case "configuration":
			a.printf("%s Offloading Configuration of port %d :\n", map[bool]string{true: "Rx", false: "Tx"}[rx], port)
			if rx {
				a.printf("  Port : %s\n\n", upperNames(t.EnabledRx().Names()))
			} else {
				a.printf("  Port : %s\n\n", upperNames(t.EnabledTx().Names()))
			}
		default:
			return errBadArgs
		}
		return nil
	case "gro":
		on := t.EnabledRx().Has(offload.RxTCPLRO)
		a.printf("GRO type: TCP/IPv4, TCP/IPv6, UDP (%s)\n", map[bool]string{true: "on", false: "off"}[on])
		a.printf("Flush timeout: %v, flows per stream: %d\n", a.off.GRO.Timeout, a.off.GRO.Flows)
		return nil
	case "gso":
		c := a.csum(port)
		a.printf("GSO is %s\nMax GSO'd packet size: %d\nSupported GSO types: TCP/IPv4, TCP/IPv6, UDP (fragmentation)\n",
			map[bool]string{true: "on", false: "off"}[c.GSO], c.GSOSegsz)
		return nil
	}
	return errBadArgs
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "-"
}

func upperNames(n []string) string {
	for i := range n {
		n[i] = strings.ToUpper(n[i])
	}
	return strings.Join(n, " ")
}

// show offload stats: per task, performed in software, passed to the
// device, and refused; then every other non-zero counter (refusals and
// drops by reason, assembly and segmentation events). Counts are since
// offloadpmd started.
func cmdShowOffloadStats(a *app, _ []string) error {
	c := a.counterTotals()
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "TASK\tSOFTWARE\tHARDWARE\tREFUSED\t\n")
	for _, r := range taskRows(c) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", r.Task, r.Software, r.Hardware, r.Refused)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nCOUNTER\tPACKETS\n")
	for _, k := range pipeline.AllCounters() {
		if int(k) < len(c) && c[k] != 0 {
			fmt.Fprintf(tw, "%s\t%d\n", k, c[k])
		}
	}
	return tw.Flush()
}
