package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog/log"
	"golang.org/x/sys/unix"

	"github.com/offloadpmd/offloadpmd/config"
	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pipeline"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// app is one offloadpmd process: the EAL, the ports, the mempool and the
// forwarder, driven by the command line or the interactive prompt.
type app struct {
	cfg    *config.Config
	stdin  io.Reader
	out    io.Writer
	errOut io.Writer

	eal      *pmd.EAL
	pool     *pmd.Mempool
	ports    []*pmd.EthPort // every probed port, in id order
	taps     []*pmd.TapPort // kernel-facing ports (--tap), ids from pmd.FirstGoPort
	fwdPorts []uint16       // the forwarding ports
	macs     map[uint16]net.HardwareAddr

	tables *offload.Registry // each port's capability table
	off    *pipeline.Offload // the forwarder's offload configuration

	engine   *pipeline.Engine
	txLcores []uint // pipeline mode: the lcores running TX halves
	retry    bool
	gsoSegsz uint16 // `set gso segsz`
	nbCores  int
	burst    uint16
	fwd      *pipeline.Forwarder
	obsv     observeState // set verbose, trace: kept across forwarders (observe.go)

	base         map[uint16]pmd.Stats // port counters when forwarding started
	show         map[uint16]*showState
	lastPeriodic []nicReport

	signals chan os.Signal

	cryptoDevs []*pmd.CryptoDev         // ESP's crypto devices (openCrypto)
	guests     *pipeline.GuestWatch     // vhost-user ports' guests (nil without such ports)
	requests   chan func()              // readers' functions for the command goroutine (query)
	portIDs    atomic.Pointer[[]uint16] // the ports commands accept (knownPorts)
	retired    []uint64                 // counters of streams since reset or closed (counterTotals)
}

// showState is what the "since last show" rates of one port remember.
type showState struct {
	at               time.Time
	rxPkts, txPkts   uint64
	rxBytes, txBytes uint64
	xstatAt          time.Time
	xstats           map[string]uint64
}

func newApp(cfg *config.Config, stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{
		tables: &offload.Registry{},
		cfg:    cfg, stdin: stdin, out: stdout, errOut: stderr,
		macs: map[uint16]net.HardwareAddr{}, base: map[uint16]pmd.Stats{}, show: map[uint16]*showState{},
		nbCores: cfg.NbCores, burst: cfg.Burst, gsoSegsz: 1518,
		requests: make(chan func()),
	}
}

func (a *app) printf(format string, args ...any) { fmt.Fprintf(a.out, format, args...) }

// run sets everything up, forwards until told to stop, and tears down.
func (a *app) run() error {
	a.signals = make(chan os.Signal, 2)
	signal.Notify(a.signals, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(a.signals)

	engine, err := pipeline.EngineByName(a.cfg.ForwardMode)
	if err != nil {
		return fmt.Errorf("--forward-mode: %w", err)
	}
	a.engine = engine
	a.announceOptions()

	if !a.cfg.NoMlockall {
		// As testpmd does by default on Linux: fault in and lock all
		// memory, so the data path never takes a page fault and the
		// pools' pages are resident before the first packet.
		if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE); err != nil {
			log.Warn().Err(err).Msg("mlockall failed; continuing with pageable memory")
		}
	}
	ealArgs, vdevs := splitVdevs(a.cfg.EAL)
	if err := preflightVdevs(vdevs); err != nil {
		return err
	}
	a.eal, err = pmd.Init(ealArgs)
	if err != nil {
		return fmt.Errorf("%w (EAL arguments: %s)", err, strings.Join(ealArgs, " "))
	}
	defer a.cleanupEAL()
	if err := a.registerTelemetry(); err != nil {
		log.Warn().Err(err).Msg("DPDK telemetry: offloadpmd's commands are unavailable")
	}

	for _, v := range vdevs {
		if _, err := pmd.ProbeVdev(v); err != nil {
			return fmt.Errorf("--vdev %s: %w", v, err)
		}
	}
	if err := a.setup(); err != nil {
		a.closePorts()
		return err
	}
	defer a.shutdown()
	a.publishPorts()
	if a.cfg.MetricsAddr != "" {
		stop, err := a.startMetrics(a.cfg.MetricsAddr)
		if err != nil {
			return err
		}
		defer stop() // before shutdown closes the ports
	}

	if a.cfg.Interactive {
		return a.interactive()
	}
	a.printf("No commandline core given, start packet forwarding\n")
	if err := a.startForwarding(boolToN(a.cfg.TxFirst)); err != nil {
		return err
	}
	return a.waitNonInteractive()
}

func boolToN(b bool) int {
	if b {
		return 1
	}
	return 0
}

// announceOptions prints what testpmd prints while parsing its options.
func (a *app) announceOptions() {
	if a.cfg.ForwardMode != "io" {
		a.printf("Set %s packet forwarding mode\n", a.cfg.ForwardMode)
	}
	if a.cfg.AutoStart {
		a.printf("Auto-start selected\n")
	}
	if a.cfg.Interactive {
		a.printf("Interactive-mode selected\n")
	}
	if a.cfg.TxFirst {
		a.printf("Ports to start sending a burst of packets first\n")
	}
	if a.cfg.CmdlineFile != "" {
		a.printf("CLI commands to be read from %s\n", a.cfg.CmdlineFile)
	}
	if a.cfg.RxQueues > 1 && a.cfg.RxQueues > a.cfg.TxQueues {
		fmt.Fprintf(a.errOut, "Warning: nb_rxq=%d enables RSS configuration, but nb_txq=%d will prevent to fully test it.\n", a.cfg.RxQueues, a.cfg.TxQueues)
	}
}

// splitVdevs takes the --vdev arguments out of the EAL arguments: offloadpmd
// probes each vdev itself after EAL init, so a vdev that fails is named in
// the error with the driver's reason.
func splitVdevs(eal []string) (rest, vdevs []string) {
	for i := 0; i < len(eal); i++ {
		a := eal[i]
		switch {
		case a == "--vdev" && i+1 < len(eal):
			vdevs = append(vdevs, eal[i+1])
			i++
		case strings.HasPrefix(a, "--vdev="):
			vdevs = append(vdevs, strings.TrimPrefix(a, "--vdev="))
		default:
			rest = append(rest, a)
		}
	}
	return rest, vdevs
}

// preflightVdevs catches the commonest devargs mistake, a pcap file that is
// not there, before DPDK prints something vaguer.
func preflightVdevs(vdevs []string) error {
	for _, v := range vdevs {
		name, args, _ := strings.Cut(v, ",")
		if !strings.HasPrefix(name, "net_pcap") {
			continue
		}
		for _, kv := range strings.Split(args, ",") {
			k, f, _ := strings.Cut(kv, "=")
			if k == "rx_pcap" {
				if _, err := os.Stat(f); err != nil {
					return fmt.Errorf("--vdev %s: rx_pcap file: %w", v, err)
				}
			}
		}
	}
	return nil
}

// setup creates the mempool and configures and starts the ports.
func (a *app) setup() error {
	ids := pmd.PortIDs()
	if len(ids) == 0 && len(a.cfg.Taps) == 0 {
		return errors.New("no ports: give at least one --vdev (e.g. --vdev=net_null0), a device, or a --tap")
	}
	for _, id := range ids {
		p, err := pmd.OpenPort(id)
		if err != nil {
			return err
		}
		a.ports = append(a.ports, p)
	}
	for _, ts := range a.cfg.Taps {
		t, err := openTap(ts)
		if err != nil {
			return err
		}
		a.taps = append(a.taps, t)
		ids = append(ids, t.ID())
		log.Info().Str("tap", t.Name()).Uint16("port", t.ID()).Str("netns", t.Netns()).Stringer("offload", t.Offload()).Msg("kernel-facing port")
	}
	fwd, err := a.selectFwdPorts(ids)
	if err != nil {
		return err
	}
	a.fwdPorts = fwd

	n := a.cfg.TotalNumMbufs
	if n == 0 {
		// testpmd's default: enough for the largest rings on every port.
		n = (2048 + uint(len(a.eal.Workers()))*a.cfg.MbufCache + 2048 + 512) * pmd.MaxPorts
	}
	log.Info().Str("pool", "mb_pool_0").Uint("n", n).Uint16("size", a.cfg.MbufSize).Msg("create a new mbuf pool")
	a.pool, err = pmd.NewMempool(pmd.MempoolConfig{
		Name: "mb_pool_0", Size: n, Cache: a.cfg.MbufCache, DataRoom: a.cfg.MbufSize, Socket: -1,
	})
	if err != nil {
		return fmt.Errorf("%w; with --no-huge give -m more memory or --total-num-mbufs fewer mbufs", err)
	}
	if err := a.setupOffload(); err != nil {
		return err
	}
	if a.cfg.MbufSize > 2*pmd.DefaultDataRoom {
		// Large RX buffers (super-packets): segments come from a pool of
		// standard ones, as librte_gso takes its own.
		n := max(a.cfg.TotalNumMbufs, 8192)
		log.Info().Str("pool", "mb_pool_seg").Uint("n", n).Int("size", pmd.DefaultDataRoom).Msg("create a new mbuf pool for segments")
		seg, err := pmd.NewMempool(pmd.MempoolConfig{Name: "mb_pool_seg", Size: n, Cache: a.cfg.MbufCache, Socket: -1})
		if err != nil {
			return fmt.Errorf("%w; segments need their own pool when --mbuf-size is large", err)
		}
		a.off.SegPool = seg
	}
	for _, p := range a.ports {
		if err := a.configurePort(p); err != nil {
			return err
		}
	}
	a.guests = pipeline.WatchGuests(a.tables, a.ports, guestPoll, a.onCommandGoroutine(guestPoll))
	for _, t := range a.taps {
		if err := a.publishTapTable(t); err != nil {
			return err
		}
	}
	if err := a.installSAs(); err != nil {
		return err
	}
	if err := a.installDigests(); err != nil {
		return err
	}
	if err := a.installDoS(); err != nil {
		return err
	}
	if err := a.installRules(); err != nil {
		return err
	}
	if !a.cfg.DisableLinkCheck && !a.cfg.DisableDeviceStart {
		a.printf("Checking link statuses...\n")
		if a.cfg.NoLSCInterrupt || a.cfg.TxFirst {
			// As testpmd without link-state interrupts: wait up to 9 s
			// for every link, then print them.
			a.waitLinks(9 * time.Second)
			for _, p := range a.ports {
				if l, err := p.Link(); err == nil {
					a.printf("Port %d %s\n", p.ID(), l)
				}
			}
		}
		a.printf("Done\n")
	}
	return nil
}

// waitLinks polls the ports' links every 100 ms until all are up or
// limit passes, showing which are still down: a progress line redrawn on a
// terminal's stderr, a log line a second otherwise.
func (a *app) waitLinks(limit time.Duration) {
	start := time.Now()
	tty := false
	if f, ok := a.errOut.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	lastLog := start
	for {
		var down []string
		for _, p := range a.ports {
			if l, err := p.Link(); err != nil || !l.Up {
				down = append(down, fmt.Sprintf("%d (%s)", p.ID(), p.Name()))
			}
		}
		waited := time.Since(start)
		if len(down) == 0 || waited >= limit {
			if tty && waited >= 100*time.Millisecond {
				fmt.Fprintf(a.errOut, "\r\033[K")
			}
			return
		}
		switch {
		case tty:
			fmt.Fprintf(a.errOut, "\r\033[Kwaiting for links: port %s down, %.1f s of %.0f s", strings.Join(down, ", port "), waited.Seconds(), limit.Seconds())
		case time.Since(lastLog) >= time.Second:
			log.Info().Strs("down", down).Dur("waited", waited).Dur("limit", limit).Msg("waiting for links")
			lastLog = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (a *app) port(id uint16) *pmd.EthPort {
	for _, p := range a.ports {
		if p.ID() == id {
			return p
		}
	}
	return nil
}

func (a *app) selectFwdPorts(ids []uint16) ([]uint16, error) {
	var fwd []uint16
	switch {
	case len(a.cfg.PortList) > 0:
		for _, id := range a.cfg.PortList {
			if a.port(id) == nil && pmd.TapByID(id) == nil {
				return nil, fmt.Errorf("--portlist: port %d does not exist (ports: %v)", id, ids)
			}
			fwd = append(fwd, id)
		}
	case a.cfg.PortMask != 0:
		for _, id := range ids {
			if a.cfg.PortMask&(1<<id) != 0 {
				fwd = append(fwd, id)
			}
		}
		if len(fwd) == 0 {
			return nil, fmt.Errorf("--portmask %#x selects none of the ports %v", a.cfg.PortMask, ids)
		}
	default:
		fwd = ids
	}
	if a.cfg.NbPorts > 0 {
		if a.cfg.NbPorts > len(fwd) {
			return nil, fmt.Errorf("--nb-ports=%d: only %d ports", a.cfg.NbPorts, len(fwd))
		}
		fwd = fwd[:a.cfg.NbPorts]
	}
	if a.cfg.Topology == config.TopologyPaired && len(fwd)%2 == 1 && len(fwd) > 1 {
		fmt.Fprintf(a.errOut, "\nWarning! port-topology=paired and odd forward ports number, the last port will pair with itself.\n\n")
	}
	return fwd, nil
}

// setupOffload prepares what the streams' offload stages share.
func (a *app) setupOffload() error {
	a.off = pipeline.DefaultOffload(a.tables)
	a.off.GRO.Timeout = time.Duration(a.cfg.GROTimeoutUs) * time.Microsecond
	a.off.GRO.Flows = int(a.cfg.GROFlows)
	a.off.GROTrustRx = a.cfg.GRONoVerify
	a.off.Reassembly.Timeout = time.Duration(a.cfg.ReassTimeoutS) * time.Second
	for _, p := range a.ports {
		switch p.Info().Driver {
		case "net_ring", pmd.VhostDriver:
			// Their RX mbufs may carry TX requests from the other side.
			if int(p.ID()) < len(a.off.Requests) {
				a.off.Requests[p.ID()] = true
			}
		}
		if p.IsVhost() && int(p.ID()) < len(a.off.LROAsRequest) {
			// A guest's GSO frames arrive as RX_LRO: segment them on the
			// way out. Toward the guest, assembled packets may go as GSO
			// frames (pipeline.GuestWatch decides what the guest takes).
			a.off.LROAsRequest[p.ID()] = true
			a.off.GuestTx[p.ID()] = true
		}
	}
	a.off.Crypto = a.openCrypto()
	return a.off.RegisterDynflags()
}

// openCrypto opens the crypto devices ESP runs on (--esp-engine): DPDK's
// ipsec_mb devices, aesni_gcm for AES-GCM and aesni_mb for AES-CBC with
// HMAC-SHA-256, faster than Go's crypto at every packet size measured
// (scripts/bench-crypto.sh); with "go", or where a device cannot be
// opened, ESP's crypto is Go's.
func (a *app) openCrypto() *pipeline.ESPCrypto {
	if a.cfg.ESPEngine == "go" {
		return nil
	}
	qps := 1
	for _, w := range a.eal.Workers() {
		qps = max(qps, int(w)+1)
	}
	c := &pipeline.ESPCrypto{}
	for _, d := range []struct {
		name string
		dst  **pmd.CryptoDev
	}{{"crypto_aesni_gcm_opmd", &c.GCM}, {"crypto_aesni_mb_opmd", &c.CBC}} {
		dev, err := pmd.OpenCryptoVdev(pmd.CryptoDevConfig{Name: d.name, QueuePairs: qps})
		if err != nil {
			log.Warn().Err(err).Msg("ESP's crypto stays in Go for this suite")
			continue
		}
		*d.dst = dev
		a.cryptoDevs = append(a.cryptoDevs, dev)
		log.Info().Str("device", d.name).Int("queue_pairs", qps).Msg("ESP crypto device")
	}
	if c.GCM == nil && c.CBC == nil {
		return nil
	}
	return c
}

// closeCrypto frees the ESP sessions and closes the crypto devices.
func (a *app) closeCrypto() {
	if a.off != nil && a.off.Crypto != nil {
		a.off.Crypto.Close()
	}
	for _, d := range a.cryptoDevs {
		if err := d.Close(); err != nil {
			log.Error().Err(err).Str("device", d.Name()).Msg("close crypto device")
		}
	}
	a.cryptoDevs = nil
}

// rssHash maps the --rss-* choice to RTE_ETH_RSS_* bits.
func (a *app) rssHash() uint64 {
	switch a.cfg.RSS {
	case config.RSSOff:
		return 0
	case config.RSSIP:
		return pmd.RSSIP
	case config.RSSUDP:
		return pmd.RSSIP | pmd.RSSUDP
	}
	return pmd.DefaultRSSHash
}

// wanted is the capability change the options ask of port: DPDK offload
// bits and names enabled (in hardware where the device does them, in
// software otherwise), and the ones moved to software; those of every port,
// then the port's own from the config file.
func (a *app) wanted(port uint16) (offload.Change, error) {
	c := offload.Change{EnableRx: offload.RxCaps(a.cfg.RxOffloads), EnableTx: offload.TxCaps(a.cfg.TxOffloads)}
	own := a.cfg.PortOffloads[port]
	if own.Device != "" {
		// The file numbers its ports by their order; check it got this one.
		dev := ""
		if p := a.port(port); p != nil {
			dev = p.Info().Device
		} else if t := pmd.TapByID(port); t != nil {
			dev = t.Name()
		}
		if dev != own.Device {
			return c, fmt.Errorf("%s: the ports entry %s was given port id %d, but port %d is %q (ethdev ports the file does not list, such as PCI devices, come first and shift the vdevs' ids)", a.cfg.ConfigFile, own.Device, port, port, dev)
		}
	}
	fileOpt := a.cfg.ConfigFile + ": " + own.Device + " offloads"
	for _, list := range []struct {
		names []string
		rx    *offload.RxCaps
		tx    *offload.TxCaps
		opt   string
	}{
		{a.cfg.RxOffloadNames, &c.EnableRx, nil, "--enable-*"}, {a.cfg.RxCaps, &c.EnableRx, nil, "--rx-caps"},
		{a.cfg.TxCaps, nil, &c.EnableTx, "--tx-caps"}, {a.cfg.SwRx, &c.SoftwareRx, nil, "--sw-rx"}, {a.cfg.SwTx, nil, &c.SoftwareTx, "--sw-tx"},
		{own.Rx, &c.EnableRx, nil, fileOpt}, {own.Tx, nil, &c.EnableTx, fileOpt},
		{own.SoftwareRx, &c.SoftwareRx, nil, fileOpt}, {own.SoftwareTx, nil, &c.SoftwareTx, fileOpt},
	} {
		for _, n := range list.names {
			if list.rx != nil {
				x, err := offload.ParseRxCap(n)
				if err != nil {
					return c, fmt.Errorf("%s: %w", list.opt, err)
				}
				*list.rx |= x
			} else {
				x, err := offload.ParseTxCap(n)
				if err != nil {
					return c, fmt.Errorf("%s: %w", list.opt, err)
				}
				*list.tx |= x
			}
		}
	}
	return c, nil
}

func (a *app) configurePort(p *pmd.EthPort) error {
	a.printf("Configuring Port %d (socket %d)\n", p.ID(), max(p.Socket(), 0))
	info := p.Info()
	want, err := a.wanted(p.ID())
	if err != nil {
		return err
	}
	if a.engine == &pipeline.CsumEngine {
		// testpmd's csum engine always does the checksums, in software
		// unless told otherwise.
		want.EnableTx |= offload.TxIPv4Cksum | offload.TxTCPCksum | offload.TxUDPCksum
		want.SoftwareTx |= (offload.TxIPv4Cksum | offload.TxTCPCksum | offload.TxUDPCksum) &^ want.HardwareTx
	}
	hwTx := offload.TxCaps(info.TxOffloadCapa)
	if p.IsVhost() {
		// What its library may leave to a guest depends on what the guest
		// negotiates: nothing until one attaches (a.guests).
		hwTx = pipeline.GuestHardwareTx(p, 0, false)
	}
	tab, err := offload.NewTable(p.ID(), info.Driver, offload.RxCaps(info.RxOffloadCapa), hwTx).Apply(want)
	if err != nil {
		return err
	}
	var mtu uint16
	if a.cfg.MaxPktLen > 0 {
		// testpmd: MTU = max-pkt-len - Ethernet header and CRC.
		mtu = uint16(min(a.cfg.MaxPktLen-18, 65535))
	}
	err = p.Configure(pmd.PortConfig{
		RxQueues: a.cfg.RxQueues, TxQueues: a.cfg.TxQueues, RxDesc: a.cfg.RxDesc, TxDesc: a.cfg.TxDesc,
		RxOffloads: pmd.RxOffload(tab.DeviceRx()), TxOffloads: pmd.TxOffload(tab.DeviceTx()), RSSHash: a.rssHash(), MTU: mtu,
		LSCInterrupt: !a.cfg.NoLSCInterrupt, Pool: a.pool,
	})
	if err != nil {
		return err
	}
	if m, err := p.MTU(); err == nil {
		tab.MTU = m
	}
	if err := a.tables.Publish(tab); err != nil {
		return err
	}
	for _, e := range tab.Entries() {
		if e.Enabled {
			log.Info().Uint16("port", p.ID()).Str("dir", e.Dir).Str("capability", e.Name).Str("by", e.Performer).Msg("enabled")
		}
	}
	mac, err := p.MACAddr()
	if err != nil {
		return err
	}
	a.macs[p.ID()] = mac
	if a.cfg.DisableDeviceStart {
		return nil
	}
	return a.startPort(p)
}

func (a *app) startPort(p *pmd.EthPort) error {
	if err := p.Start(); err != nil {
		return fmt.Errorf("port %d (%s) cannot start: %w", p.ID(), p.Name(), err)
	}
	a.printf("Port %d: %s\n", p.ID(), upperMAC(a.macs[p.ID()]))
	if err := p.SetPromiscuous(true); err != nil && !errors.Is(err, pmd.ErrNotSupported) {
		fmt.Fprintf(a.errOut, "Error during enabling promiscuous mode for port %d: %v - ignore\n", p.ID(), err)
	}
	a.show[p.ID()] = &showState{}
	return nil
}

// forwardingLcores are the worker lcores forwarding may use: all workers,
// or those in --coremask.
func (a *app) forwardingLcores() ([]uint, error) {
	ws := a.eal.Workers()
	if a.cfg.CoreMask == 0 {
		return ws, nil
	}
	var out []uint
	for _, w := range ws {
		if w < 64 && a.cfg.CoreMask&(1<<w) != 0 {
			out = append(out, w)
		}
	}
	if a.cfg.CoreMask&(1<<a.eal.MainLcore()) != 0 {
		return nil, fmt.Errorf("--coremask %#x includes the main lcore %d, which runs the command line", a.cfg.CoreMask, a.eal.MainLcore())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--coremask %#x selects none of the worker lcores %v", a.cfg.CoreMask, ws)
	}
	return out, nil
}

// buildForwarder lays out streams on lcores for the current engine.
func (a *app) buildForwarder() error {
	lcores, err := a.forwardingLcores()
	if err != nil {
		return err
	}
	if len(lcores) == 0 {
		return errors.New("no worker lcore to forward on: give EAL at least two lcores (e.g. -l 0-1)")
	}
	var txLcores []uint
	if a.cfg.Pipeline {
		if 2*a.nbCores > len(lcores) {
			return fmt.Errorf("--pipeline with nb-cores %d needs %d worker lcores, EAL gave %d (e.g. --lcores=0@0,1@1,2@1)", a.nbCores, 2*a.nbCores, len(lcores))
		}
		lcores, txLcores = lcores[:a.nbCores], lcores[a.nbCores:2*a.nbCores]
	}
	if a.nbCores > len(lcores) {
		return fmt.Errorf("nb-cores should be > 0 and <= %d", len(lcores))
	}
	plan, err := pipeline.NewPlan(a.fwdPorts, a.cfg.RxQueues, a.cfg.TxQueues, a.cfg.Topology, lcores, a.nbCores)
	if err != nil {
		return err
	}
	a.txLcores = txLcores
	pipeline.TxOnlyLen = a.cfg.TxPktLen()
	var retry, retryUs uint32
	if a.retry {
		retry, retryUs = 64, 1
	}
	if a.cfg.TxRetry > 0 {
		retry, retryUs = a.cfg.TxRetry, a.cfg.TxRetryDelayUs
	}
	spec := func(sp pipeline.StreamPlan) pipeline.StreamSpec {
		return pipeline.StreamSpec{
			PeerMAC: a.cfg.PeerMAC(sp.TxPort), TxMAC: a.macs[sp.TxPort],
			Burst: a.burst, Bursts: a.cfg.RxBursts, TxRetry: retry, TxRetryDelayUs: retryUs,
			Socket: a.socketOf(sp.RxPort),
			TxOnly: pipeline.TxOnlySpec{
				SrcIP: a.cfg.TxIPSrc, DstIP: a.cfg.TxIPDst, SrcPort: a.cfg.TxUDPSrc, DstPort: a.cfg.TxUDPDst,
				MultiFlow: a.cfg.TxOnlyMultiFlow, Lcore: a.lcoreOf(plan, sp),
			},
		}
	}
	if a.cfg.Pipeline {
		a.fwd, err = pipeline.BuildPipelined(a.eal, plan, a.engine, a.pool, a.off, spec, a.cfg.BusyPoll, txLcores)
	} else {
		a.fwd, err = pipeline.Build(a.eal, plan, a.engine, a.pool, a.off, spec, a.cfg.BusyPoll)
	}
	if err != nil {
		return err
	}
	a.fwd.SetDirectRounds(int(a.cfg.DirectRounds))
	return a.attachObserver()
}

// lcoreOf is the lcore a planned stream runs on.
func (a *app) lcoreOf(plan pipeline.Plan, sp pipeline.StreamPlan) uint {
	for _, lp := range plan.Lcores {
		for _, i := range lp.Streams {
			if plan.Streams[i] == sp {
				return lp.Lcore
			}
		}
	}
	return 0
}

func (a *app) fwdConfigReport() fwdConfigReport {
	r := fwdConfigReport{Engine: a.engine.Name, Retry: a.retry, RetryNum: 64, RetryUs: 1, NbPorts: len(a.fwdPorts)}
	for i, l := range a.rxLcores() {
		lr := lcoreConfigReport{Lcore: l.ID}
		if i < len(a.txLcores) {
			lr.PipeTx, lr.Pipelined = a.txLcores[i], true
		}
		for _, s := range l.Streams {
			lr.Streams = append(lr.Streams, streamConfigReport{
				RxPort: s.RxPort, RxQueue: s.RxQueue, RxSocket: a.socketOf(s.RxPort),
				TxPort: s.TxPort, TxQueue: s.TxQueue, TxSocket: a.socketOf(s.TxPort),
				Peer: a.cfg.PeerMAC(s.TxPort),
			})
			r.NbStreams++
		}
		r.Lcores = append(r.Lcores, lr)
	}
	r.NbLcores = len(r.Lcores)
	return r
}

// rxLcores are the lcores that receive: all of them, or in pipeline mode
// those running RX halves.
func (a *app) rxLcores() []*pipeline.Lcore {
	var ls []*pipeline.Lcore
	for _, l := range a.fwd.Lcores() {
		if len(l.Streams) == 0 || l.Streams[0].Role() != pipeline.RoleTx {
			ls = append(ls, l)
		}
	}
	return ls
}

func (a *app) rxtxConfigReport() rxtxConfigReport {
	r := rxtxConfigReport{
		Engine: a.engine.Name, Retry: a.retry, Burst: a.burst, TxOnly: a.engine == &pipeline.TxOnlyEngine,
		TxPktLen: a.cfg.TxPktLen(), TxPktSegs: len(a.cfg.TxPkts), NbCores: a.nbCores, NbPorts: len(a.fwdPorts),
	}
	for _, p := range a.ports {
		r.Ports = append(r.Ports, portQueueReport{
			Port: p.ID(), RxQueues: p.NbRxQueues(), TxQueues: p.NbTxQueues(),
			RxOffloads: uint64(p.RxOffloads()), TxOffloads: uint64(p.TxOffloads()),
			RxDesc: p.QueueDesc(true, 0), TxDesc: p.QueueDesc(false, 0),
		})
	}
	return r
}

// startForwarding is testpmd's start: lay out streams, print the layout,
// drain the RX queues, take the statistics baseline, send txFirst bursts
// and launch the lcores.
func (a *app) startForwarding(txFirst int) error {
	if a.fwd != nil && a.fwd.Running() {
		fmt.Fprintf(a.errOut, "Packet forwarding already started\n")
		return nil
	}
	for _, id := range a.fwdPorts {
		if a.port(id) == nil {
			continue // a TAP: always up
		}
		if !a.port(id).Started() {
			return fmt.Errorf("port %d (%s) is not started", id, a.port(id).Name())
		}
	}
	if a.fwd != nil {
		a.retireCounters()
		_ = a.fwd.Close()
		a.fwd = nil
	}
	if err := a.buildForwarder(); err != nil {
		return err
	}
	writeFwdConfig(a.out, a.fwdConfigReport())
	if !a.cfg.NoFlushRx {
		a.flushRxQueues()
	}
	writeRxTxConfig(a.out, a.rxtxConfigReport())
	a.takeBaseline()
	if txFirst > 0 {
		if err := a.fwd.TxFirst(txFirst, a.pool); err != nil {
			return err
		}
	}
	return a.fwd.Start()
}

// flushRxQueues drains the forwarding ports' RX queues, as testpmd does
// before it starts: two passes, each queue until it is empty or for at
// most 100 ms. (testpmd means to cap each queue at a second, but its timer
// sums elapsed times, so it stops far sooner; a source that never runs dry,
// such as net_null, gains nothing from a longer flush.)
func (a *app) flushRxQueues() {
	b := pmd.NewBurst(pmd.BurstMax)
	defer b.Close()
	for range 2 {
		for _, id := range a.fwdPorts {
			p := a.port(id)
			if p == nil {
				continue // a TAP: what the kernel sent before start is forwarded
			}
			for q := uint16(0); q < p.NbRxQueues(); q++ {
				deadline := time.Now().Add(100 * time.Millisecond)
				for p.RxBurst(q, b) > 0 && time.Now().Before(deadline) {
					pmd.FreeBulk(b)
				}
				pmd.FreeBulk(b)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (a *app) takeBaseline() {
	a.retireCounters()
	a.fwd.ResetStats()
	for _, id := range a.fwdPorts {
		if st, err := a.portStats(id); err == nil {
			a.base[id] = st
		}
	}
}

// stopForwarding is testpmd's stop: stop the lcores and print the forward
// statistics.
func (a *app) stopForwarding() error {
	if a.fwd == nil || !a.fwd.Running() {
		fmt.Fprintf(a.errOut, "Packet forwarding not started\n")
		return nil
	}
	a.printf("Telling cores to stop...")
	a.printf("\nWaiting for lcores to finish...\n")
	err := a.fwd.Stop()
	writeFwdStats(a.out, a.fwdReport())
	a.printf("\nDone.\n")
	a.writeStatsJSON()
	return err
}

// fwdReport gathers the forward statistics: port counters since the
// baseline and the streams' own counts.
func (a *app) fwdReport() fwdReport {
	var r fwdReport
	txDrop := map[uint16]uint64{}
	if a.fwd != nil {
		for _, s := range a.fwd.Streams() {
			st := s.Stats()
			r.Streams = append(r.Streams, streamReport{
				RxPort: s.RxPort, RxQueue: s.RxQueue, TxPort: s.TxPort, TxQueue: s.TxQueue,
				RxPackets: st.RxPackets, TxPackets: st.TxPackets, TxDropped: st.Dropped(),
			})
			txDrop[s.TxPort] += st.Dropped()
		}
	}
	for _, id := range a.fwdPorts {
		now, err := a.portStats(id)
		if err != nil {
			fmt.Fprintf(a.errOut, "fwd_stats_display: Error: failed to get stats (port %d): %v", id, err)
			continue
		}
		d := now.Sub(a.base[id])
		r.Ports = append(r.Ports, portFwdReport{
			Port: id, RxPackets: d.IPackets, RxDropped: d.IMissed, RxErrors: now.IErrors, RxNoMbuf: d.RxNoMbuf,
			TxPackets: d.OPackets, TxDropped: txDrop[id] + d.OErrors,
		})
	}
	return r
}

// nicReport reads one port's counters and the rates since the last show.
func (a *app) nicReport(id uint16) (nicReport, error) {
	st, err := a.portStats(id)
	if err != nil {
		return nicReport{}, err
	}
	r := nicReport{
		Port: id, RxPackets: st.IPackets, RxMissed: st.IMissed, RxBytes: st.IBytes, RxErrors: st.IErrors,
		RxNoMbuf: st.RxNoMbuf, TxPackets: st.OPackets, TxErrors: st.OErrors, TxBytes: st.OBytes,
	}
	s := a.show[id]
	if s == nil {
		s = &showState{}
		a.show[id] = s
	}
	now := time.Now()
	var ns int64
	if !s.at.IsZero() {
		ns = now.Sub(s.at).Nanoseconds()
	}
	s.at = now
	diff := func(cur uint64, prev *uint64) uint64 {
		d := uint64(0)
		if cur > *prev {
			d = cur - *prev
		}
		*prev = cur
		return d
	}
	r.RxPPS = rate(diff(st.IPackets, &s.rxPkts), ns)
	r.TxPPS = rate(diff(st.OPackets, &s.txPkts), ns)
	r.RxBPS = rate(diff(st.IBytes, &s.rxBytes), ns) * 8
	r.TxBPS = rate(diff(st.OBytes, &s.txBytes), ns) * 8
	if p := a.port(id); p != nil && len(a.cfg.DisplayXStat) > 0 {
		r.XStats = a.xstatRates(p, s, now)
	}
	return r, nil
}

func (a *app) xstatRates(p *pmd.EthPort, s *showState, now time.Time) []xstatRate {
	xs, err := p.XStats()
	if err != nil {
		return nil
	}
	var ns int64
	if !s.xstatAt.IsZero() {
		ns = now.Sub(s.xstatAt).Nanoseconds()
	}
	s.xstatAt = now
	if s.xstats == nil {
		s.xstats = map[string]uint64{}
	}
	var out []xstatRate
	for _, want := range a.cfg.DisplayXStat {
		for _, x := range xs {
			if x.Name == want {
				prev := s.xstats[want]
				d := uint64(0)
				if x.Value > prev {
					d = x.Value - prev
				}
				s.xstats[want] = x.Value
				out = append(out, xstatRate{Name: want, Value: x.Value, Rate: rate(d, ns)})
			}
		}
	}
	return out
}

func (a *app) printPeriodic() {
	var rs []nicReport
	for _, id := range a.fwdPorts {
		r, err := a.nicReport(id)
		if err != nil {
			fmt.Fprintf(a.errOut, "nic_stats_display: Error: failed to get stats (port %d): %v", id, err)
			continue
		}
		rs = append(rs, r)
	}
	writePeriodicStats(a.out, rs)
	a.lastPeriodic = rs
	a.writeStatsJSON()
}

// waitNonInteractive forwards until a signal, --run-time, or (without
// --stats-period) a byte or EOF on stdin, printing periodic statistics if
// asked.
func (a *app) waitNonInteractive() error {
	var tick <-chan time.Time
	stdinDone := make(chan struct{})
	if a.cfg.StatsPeriod > 0 {
		t := time.NewTicker(time.Duration(a.cfg.StatsPeriod) * time.Second)
		defer t.Stop()
		tick = t.C
		a.printPeriodic()
	} else if a.cfg.RunTime == 0 {
		// As testpmd: any byte, or EOF, on stdin ends the run. With
		// --run-time the duration rules and stdin is not read.
		a.printf("Press enter to exit\n")
		go func() {
			var b [1]byte
			_, _ = bufio.NewReader(a.stdin).Read(b[:])
			close(stdinDone)
		}()
	}
	var deadline <-chan time.Time
	if a.cfg.RunTime > 0 {
		deadline = time.After(time.Duration(a.cfg.RunTime) * time.Second)
	}
	for {
		select {
		case <-tick:
			a.printPeriodic()
		case <-a.signals:
			return nil
		case <-stdinDone:
			return nil
		case <-deadline:
			return nil
		case f := <-a.requests:
			f()
		}
	}
}

// shutdown stops forwarding and closes the ports, printing what testpmd
// prints.
func (a *app) shutdown() {
	if a.fwd != nil && a.fwd.Running() {
		if err := a.stopForwarding(); err != nil {
			log.Error().Err(err).Msg("stopping forwarding")
		}
	}
	if a.fwd != nil {
		a.retireCounters()
		_ = a.fwd.Close()
		a.fwd = nil
	}
	if a.guests != nil {
		a.guests.Stop()
		a.guests = nil
	}
	for _, p := range a.ports {
		a.printf("\nStopping port %d...\n", p.ID())
		a.printf("Stopping ports...\n")
		if err := p.Stop(); err != nil {
			log.Error().Err(err).Msg("stop port")
		}
		a.printf("Done\n")
	}
	for _, p := range a.ports {
		a.printf("\nShutting down port %d...\n", p.ID())
		a.printf("Closing ports...\n")
		if err := p.Close(); err != nil {
			log.Error().Err(err).Msg("close port")
		} else {
			a.printf("Port %d is closed\n", p.ID())
		}
		a.printf("Done\n")
	}
	a.ports = nil
	a.closeTaps()
	a.closeCrypto()
	if a.pool != nil {
		if n := a.pool.InUse(); n != 0 {
			log.Warn().Int("mbufs", n).Msg("mbufs still in use at exit")
		}
	}
	a.printf("\nBye...\n")
}

// closePorts closes ports quietly after a failed setup.
func (a *app) closePorts() {
	for _, p := range a.ports {
		_ = p.Close()
	}
	a.ports = nil
	a.closeTaps()
}

func (a *app) closeTaps() {
	for _, t := range a.taps {
		if err := t.Close(); err != nil {
			log.Error().Err(err).Str("tap", t.Name()).Msg("close")
		}
	}
	a.taps = nil
}

// openTap creates a --tap port.
func openTap(ts config.TapSpec) (*pmd.TapPort, error) {
	o := pmd.TapCsum | pmd.TapTSO4 | pmd.TapTSO6 | pmd.TapUSO4 | pmd.TapUSO6
	if len(ts.Offload) > 0 {
		o = 0
		for _, n := range ts.Offload {
			o |= map[string]pmd.TapOffload{"csum": pmd.TapCsum, "tso4": pmd.TapTSO4, "tso6": pmd.TapTSO6, "tso_ecn": pmd.TapTSOECN,
				"ufo": pmd.TapUFO, "uso4": pmd.TapUSO4, "uso6": pmd.TapUSO6}[n]
		}
	}
	t, err := pmd.OpenTap(pmd.TapConfig{Name: ts.Name, Netns: ts.Netns, Queues: ts.Queues, Offload: o})
	if err != nil {
		return nil, fmt.Errorf("--tap %s: %w", ts.Name, err)
	}
	return t, nil
}

// publishTapTable gives a TAP port its table: every task the kernel took
// enabled and left to it, the IPv4 header checksum in software, and the
// options' changes.
func (a *app) publishTapTable(t *pmd.TapPort) error {
	tab := pipeline.TapTable(t)
	tab, err := tab.Apply(pipeline.TapDefaults(tab))
	if err == nil {
		var c offload.Change
		if c, err = a.wanted(t.ID()); err == nil {
			tab, err = tab.Apply(c)
		}
	}
	if err != nil {
		return fmt.Errorf("tap %s (port %d): %w", t.Name(), t.ID(), err)
	}
	return a.tables.Publish(tab)
}

// portStats reads an ethdev port's counters or a TAP's (the kernel's,
// turned round).
func (a *app) portStats(id uint16) (pmd.Stats, error) {
	if p := a.port(id); p != nil {
		return p.Stats()
	}
	if t := pmd.TapByID(id); t != nil {
		return t.Stats()
	}
	return pmd.Stats{}, fmt.Errorf("port %d: no such port", id)
}

// socketOf is the NUMA socket of a port's memory (0 for a TAP).
func (a *app) socketOf(id uint16) int {
	if p := a.port(id); p != nil {
		return max(p.Socket(), 0)
	}
	return 0
}

func (a *app) cleanupEAL() {
	if a.eal == nil {
		return
	}
	dir := a.eal.RuntimeDir()
	a.eal.Cleanup()
	// The embedded default uses a file prefix of our own: remove what EAL
	// left under /var/run/dpdk.
	if a.cfg.EALDefaulted && strings.HasPrefix(filepath.Base(dir), "offloadpmd_") {
		_ = os.RemoveAll(dir)
	}
}
