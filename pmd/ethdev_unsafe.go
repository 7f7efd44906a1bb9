package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"net"
	"strings"
	"unsafe"

	"github.com/rs/zerolog/log"
)

// MaxPorts is RTE_MAX_ETHPORTS.
const MaxPorts = C.RTE_MAX_ETHPORTS

// DevInfo is what an ethdev port's driver reports (rte_eth_dev_info).
type DevInfo struct {
	Driver         string
	Device         string // the device name (the vdev name for a vdev)
	IfIndex        uint32
	MinMTU, MaxMTU uint16
	MinRxBufSize   uint32
	MaxRxPktLen    uint32
	MaxLROPktSize  uint32
	MaxRxQueues    uint16
	MaxTxQueues    uint16
	MaxMACAddrs    uint32
	RxOffloadCapa  RxOffload // port-level and queue-level
	TxOffloadCapa  TxOffload
	RxQueueCapa    RxOffload // queue-level only
	TxQueueCapa    TxOffload
	RETASize       uint16
	HashKeySize    uint8
	FlowTypeRSS    uint64 // RTE_ETH_RSS_* the device can hash on
	RxDescMax      uint16
	RxDescMin      uint16
	RxDescAlign    uint16
	TxDescMax      uint16
	TxDescMin      uint16
	TxDescAlign    uint16
	TxSegMax       uint16 // per packet
	DefaultRxRing  uint16 // driver's preferred ring size, 0 if none
	DefaultTxRing  uint16
	DefaultRxBurst uint16
	DefaultTxBurst uint16
	NbRxQueues     uint16 // currently configured
	NbTxQueues     uint16
	SpeedCapa      uint32
	DevCapa        uint64
}

// EthPort is an ethdev port: any DPDK device, physical or a vdev
// (net_null, net_ring, net_pcap, net_tap, net_vhost, virtio_user, ...).
type EthPort struct {
	id     uint16
	name   string
	socket int
	info   DevInfo
	// enabled offloads after Configure
	rxOffloads RxOffload
	txOffloads TxOffload
	nbRxq      uint16
	nbTxq      uint16
	started    bool
	probed     bool // hot-plugged by ProbeVdev: Close also removes the device
}

// PortIDs lists the ethdev ports DPDK has, in id order.
func PortIDs() []uint16 {
	var ids []uint16
	for id := C.rte_eth_find_next_owned_by(0, C.RTE_ETH_DEV_NO_OWNER); id < C.RTE_MAX_ETHPORTS; id = C.rte_eth_find_next_owned_by(C.uint16_t(id)+1, C.RTE_ETH_DEV_NO_OWNER) {
		ids = append(ids, uint16(id))
	}
	return ids
}

// OpenPort returns the ethdev port with this id.
func OpenPort(id uint16) (*EthPort, error) {
	if C.rte_eth_dev_is_valid_port(C.uint16_t(id)) == 0 {
		return nil, fmt.Errorf("port %d: %w", id, ErrNoDevice)
	}
	var buf [C.RTE_ETH_NAME_MAX_LEN]C.char
	if rc := C.rte_eth_dev_get_name_by_port(C.uint16_t(id), &buf[0]); rc != 0 {
		return nil, rteError(fmt.Sprintf("port %d: get name", id), rc)
	}
	p := &EthPort{id: id, name: C.GoString(&buf[0]), socket: int(C.rte_eth_dev_socket_id(C.uint16_t(id)))}
	if err := p.refreshInfo(); err != nil {
		return nil, err
	}
	return p, nil
}

// ProbeVdev hot-plugs a virtual device from its devargs, e.g.
// "net_ring0" or "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap", and returns
// its port. Closing the port removes the device again.
func ProbeVdev(devargs string) (*EthPort, error) {
	name, _, _ := strings.Cut(devargs, ",")
	cargs := C.CString(devargs)
	defer C.free(unsafe.Pointer(cargs))
	if rc := C.opmd_dev_probe(cargs); rc != 0 {
		err := rteError(fmt.Sprintf("probe %q", devargs), rc)
		if rc == -C.EFAULT || rc == -C.ENODEV {
			// EAL's "failed to parse device": no driver by that name.
			return nil, fmt.Errorf("%w: no vdev driver matches %q (vdev names start with a driver: net_null, net_ring, net_pcap, net_tap, net_vhost, virtio_user, ...)", err, name)
		}
		return nil, err
	}
	id, err := PortByName(name)
	if err != nil {
		return nil, err
	}
	p, err := OpenPort(id)
	if err != nil {
		return nil, err
	}
	p.probed = true
	return p, nil
}

// PortByName finds a port by its ethdev name.
func PortByName(name string) (uint16, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var id C.uint16_t
	if rc := C.rte_eth_dev_get_port_by_name(cname, &id); rc != 0 {
		return 0, rteError(fmt.Sprintf("port %q", name), rc)
	}
	return uint16(id), nil
}

func (p *EthPort) refreshInfo() error {
	var di C.struct_rte_eth_dev_info
	if rc := C.rte_eth_dev_info_get(C.uint16_t(p.id), &di); rc != 0 {
		return rteError(p.op("get info"), rc)
	}
	p.info = DevInfo{
		Driver:         C.GoString(di.driver_name),
		Device:         p.name,
		IfIndex:        uint32(di.if_index),
		MinMTU:         uint16(di.min_mtu),
		MaxMTU:         uint16(di.max_mtu),
		MinRxBufSize:   uint32(di.min_rx_bufsize),
		MaxRxPktLen:    uint32(di.max_rx_pktlen),
		MaxLROPktSize:  uint32(di.max_lro_pkt_size),
		MaxRxQueues:    uint16(di.max_rx_queues),
		MaxTxQueues:    uint16(di.max_tx_queues),
		MaxMACAddrs:    uint32(di.max_mac_addrs),
		RxOffloadCapa:  RxOffload(di.rx_offload_capa),
		TxOffloadCapa:  TxOffload(di.tx_offload_capa),
		RxQueueCapa:    RxOffload(di.rx_queue_offload_capa),
		TxQueueCapa:    TxOffload(di.tx_queue_offload_capa),
		RETASize:       uint16(di.reta_size),
		HashKeySize:    uint8(di.hash_key_size),
		FlowTypeRSS:    uint64(di.flow_type_rss_offloads),
		RxDescMax:      uint16(di.rx_desc_lim.nb_max),
		RxDescMin:      uint16(di.rx_desc_lim.nb_min),
		RxDescAlign:    uint16(di.rx_desc_lim.nb_align),
		TxDescMax:      uint16(di.tx_desc_lim.nb_max),
		TxDescMin:      uint16(di.tx_desc_lim.nb_min),
		TxDescAlign:    uint16(di.tx_desc_lim.nb_align),
		TxSegMax:       uint16(di.tx_desc_lim.nb_mtu_seg_max),
		DefaultRxRing:  uint16(di.default_rxportconf.ring_size),
		DefaultTxRing:  uint16(di.default_txportconf.ring_size),
		DefaultRxBurst: uint16(di.default_rxportconf.burst_size),
		DefaultTxBurst: uint16(di.default_txportconf.burst_size),
		NbRxQueues:     uint16(di.nb_rx_queues),
		NbTxQueues:     uint16(di.nb_tx_queues),
		SpeedCapa:      uint32(di.speed_capa),
		DevCapa:        uint64(di.dev_capa),
	}
	return nil
}

func (p *EthPort) op(what string) string { return fmt.Sprintf("port %d (%s): %s", p.id, p.name, what) }

// ID is the ethdev port id.
func (p *EthPort) ID() uint16 { return p.id }

// Name is the ethdev name (the vdev name for a vdev).
func (p *EthPort) Name() string { return p.name }

// Socket is the port's NUMA socket, or -1 if unknown.
func (p *EthPort) Socket() int { return p.socket }

// Info is the driver's report, as of the last configure.
func (p *EthPort) Info() DevInfo { return p.info }

// RxOffloads are the RX offloads enabled by the last Configure.
func (p *EthPort) RxOffloads() RxOffload { return p.rxOffloads }

// TxOffloads are the TX offloads enabled by the last Configure.
func (p *EthPort) TxOffloads() TxOffload { return p.txOffloads }

// NbRxQueues is the number of RX queues configured.
func (p *EthPort) NbRxQueues() uint16 { return p.nbRxq }

// NbTxQueues is the number of TX queues configured.
func (p *EthPort) NbTxQueues() uint16 { return p.nbTxq }

// Started reports whether the port is started.
func (p *EthPort) Started() bool { return p.started }

// PortConfig is what Configure asks of a port.
type PortConfig struct {
	RxQueues, TxQueues uint16
	RxDesc, TxDesc     uint16    // 0: the driver's preferred ring size
	RxOffloads         RxOffload // wanted; only what the device advertises is enabled
	TxOffloads         TxOffload
	RSSHash            uint64 // RTE_ETH_RSS_* wanted with several RX queues; 0: none
	MTU                uint16 // 0: leave the default
	LSCInterrupt       bool
	Pool               *Mempool // RX buffers
}

// Downgrade is a wanted offload the device does not advertise.
type Downgrade struct {
	Dir  string // "rx" or "tx"
	Name string
}

// Resolve computes enabled = wanted ∩ advertised for both directions and
// lists what was dropped.
func Resolve(wantRx RxOffload, capRx RxOffload, wantTx TxOffload, capTx TxOffload) (RxOffload, TxOffload, []Downgrade) {
	var d []Downgrade
	for _, n := range (wantRx &^ capRx).Names() {
		d = append(d, Downgrade{"rx", n})
	}
	for _, n := range (wantTx &^ capTx).Names() {
		d = append(d, Downgrade{"tx", n})
	}
	return wantRx & capRx, wantTx & capTx, d
}

// Configure configures the port and sets up its queues. Offloads the
// device does not advertise are dropped, each one logged; the result is in
// RxOffloads and TxOffloads. The port must be stopped.
func (p *EthPort) Configure(cfg PortConfig) error {
	if p.started {
		return fmt.Errorf("%s: %w: stop the port first", p.op("configure"), ErrBusy)
	}
	if cfg.RxQueues == 0 || cfg.TxQueues == 0 {
		return fmt.Errorf("%s: %w: need at least one RX and one TX queue", p.op("configure"), ErrInvalid)
	}
	if cfg.RxQueues > p.info.MaxRxQueues || cfg.TxQueues > p.info.MaxTxQueues {
		return fmt.Errorf("%s: %w: %d rx / %d tx queues asked, %s allows %d / %d", p.op("configure"), ErrInvalid,
			cfg.RxQueues, cfg.TxQueues, p.info.Driver, p.info.MaxRxQueues, p.info.MaxTxQueues)
	}
	if cfg.Pool == nil {
		return fmt.Errorf("%s: %w: no mempool for RX", p.op("configure"), ErrInvalid)
	}
	rx, tx, dropped := Resolve(cfg.RxOffloads, p.info.RxOffloadCapa, cfg.TxOffloads, p.info.TxOffloadCapa)
	for _, d := range dropped {
		log.Warn().Uint16("port", p.id).Str("driver", p.info.Driver).Str("dir", d.Dir).Str("offload", d.Name).
			Msg("offload requested but not advertised by the device; not enabled in hardware")
	}
	rss := cfg.RSSHash & p.info.FlowTypeRSS
	if cfg.RxQueues < 2 {
		rss = 0
	}
	if rss != cfg.RSSHash && cfg.RxQueues > 1 {
		log.Warn().Uint16("port", p.id).Str("driver", p.info.Driver).
			Str("wanted", fmt.Sprintf("%#x", cfg.RSSHash)).Str("enabled", fmt.Sprintf("%#x", rss)).
			Msg("RSS hash types reduced to what the device supports")
	}
	lsc := 0
	if cfg.LSCInterrupt {
		lsc = 1 // honoured only where the driver has RTE_ETH_DEV_INTR_LSC
	}
	rc := C.opmd_port_configure(C.uint16_t(p.id), C.uint16_t(cfg.RxQueues), C.uint16_t(cfg.TxQueues),
		C.uint64_t(rx), C.uint64_t(tx), C.uint64_t(rss), C.uint32_t(cfg.MTU), C.int(lsc))
	if rc != 0 {
		return rteError(p.op(fmt.Sprintf("configure %d rx / %d tx queues, rx offloads [%s], tx offloads [%s]", cfg.RxQueues, cfg.TxQueues, rx, tx)), rc)
	}
	nrxd, ntxd := C.uint16_t(cfg.RxDesc), C.uint16_t(cfg.TxDesc)
	if nrxd == 0 {
		nrxd = C.uint16_t(p.info.DefaultRxRing)
	}
	if ntxd == 0 {
		ntxd = C.uint16_t(p.info.DefaultTxRing)
	}
	if nrxd == 0 {
		nrxd = C.RTE_ETH_DEV_FALLBACK_RX_RINGSIZE
	}
	if ntxd == 0 {
		ntxd = C.RTE_ETH_DEV_FALLBACK_TX_RINGSIZE
	}
	if rc := C.rte_eth_dev_adjust_nb_rx_tx_desc(C.uint16_t(p.id), &nrxd, &ntxd); rc != 0 {
		return rteError(p.op("adjust descriptor counts"), rc)
	}
	for q := uint16(0); q < cfg.RxQueues; q++ {
		if rc := C.rte_eth_rx_queue_setup(C.uint16_t(p.id), C.uint16_t(q), nrxd, C.uint(max(p.socket, 0)), nil, cfg.Pool.c); rc != 0 {
			return rteError(p.op(fmt.Sprintf("set up rx queue %d (%d descriptors, pool %s)", q, nrxd, cfg.Pool.name)), rc)
		}
	}
	for q := uint16(0); q < cfg.TxQueues; q++ {
		if rc := C.rte_eth_tx_queue_setup(C.uint16_t(p.id), C.uint16_t(q), ntxd, C.uint(max(p.socket, 0)), nil); rc != 0 {
			return rteError(p.op(fmt.Sprintf("set up tx queue %d (%d descriptors)", q, ntxd)), rc)
		}
	}
	p.rxOffloads, p.txOffloads = rx, tx
	p.nbRxq, p.nbTxq = cfg.RxQueues, cfg.TxQueues
	return p.refreshInfo()
}

// Start starts the port.
func (p *EthPort) Start() error {
	if rc := C.rte_eth_dev_start(C.uint16_t(p.id)); rc != 0 {
		return rteError(p.op("start"), rc)
	}
	p.started = true
	return nil
}

// Stop stops the port.
func (p *EthPort) Stop() error {
	if !p.started {
		return nil
	}
	if rc := C.rte_eth_dev_stop(C.uint16_t(p.id)); rc != 0 {
		return rteError(p.op("stop"), rc)
	}
	p.started = false
	return nil
}

// Close stops and closes the port, releasing its queues; a vdev that
// ProbeVdev hot-plugged is removed.
func (p *EthPort) Close() error {
	if err := p.Stop(); err != nil {
		return err
	}
	if rc := C.rte_eth_dev_close(C.uint16_t(p.id)); rc != 0 {
		return rteError(p.op("close"), rc)
	}
	if p.probed {
		bus := C.CString("vdev")
		name := C.CString(p.name)
		defer C.free(unsafe.Pointer(bus))
		defer C.free(unsafe.Pointer(name))
		if rc := C.rte_eal_hotplug_remove(bus, name); rc != 0 {
			return rteError(p.op("remove device"), rc)
		}
	}
	return nil
}

// Link is a port's link state.
type Link struct {
	Up         bool
	SpeedMbps  uint32
	FullDuplex bool
	Autoneg    bool
}

func (l Link) String() string {
	if !l.Up {
		return "Link down"
	}
	d := "half-duplex"
	if l.FullDuplex {
		d = "full-duplex"
	}
	return fmt.Sprintf("Link up at %s %s", speedString(l.SpeedMbps), d)
}

// Speed is the link speed as testpmd prints it ("10 Gbps", "None").
func (l Link) Speed() string { return speedString(l.SpeedMbps) }

func speedString(mbps uint32) string {
	switch {
	case mbps == C.RTE_ETH_SPEED_NUM_NONE:
		return "None"
	case mbps == C.RTE_ETH_SPEED_NUM_UNKNOWN:
		return "Unknown"
	case mbps >= 1000 && mbps%1000 == 0:
		return fmt.Sprintf("%d Gbps", mbps/1000)
	default:
		return fmt.Sprintf("%d Mbps", mbps)
	}
}

// Link reads the link state without waiting.
func (p *EthPort) Link() (Link, error) {
	var l C.struct_opmd_link
	if rc := C.opmd_link_get(C.uint16_t(p.id), &l); rc != 0 {
		return Link{}, rteError(p.op("link get"), rc)
	}
	return Link{Up: l.status != 0, SpeedMbps: uint32(l.speed), FullDuplex: l.duplex != 0, Autoneg: l.autoneg != 0}, nil
}

// MACAddr is the port's primary MAC address.
func (p *EthPort) MACAddr() (net.HardwareAddr, error) {
	var a C.struct_rte_ether_addr
	if rc := C.rte_eth_macaddr_get(C.uint16_t(p.id), &a); rc != 0 {
		return nil, rteError(p.op("get MAC address"), rc)
	}
	b := C.GoBytes(unsafe.Pointer(&a.addr_bytes[0]), C.RTE_ETHER_ADDR_LEN)
	return net.HardwareAddr(b), nil
}

// SetPromiscuous turns promiscuous mode on or off.
func (p *EthPort) SetPromiscuous(on bool) error {
	var rc C.int
	if on {
		rc = C.rte_eth_promiscuous_enable(C.uint16_t(p.id))
	} else {
		rc = C.rte_eth_promiscuous_disable(C.uint16_t(p.id))
	}
	if rc != 0 {
		return rteError(p.op(fmt.Sprintf("promiscuous %v", on)), rc)
	}
	return nil
}

// Promiscuous reports whether promiscuous mode is on.
func (p *EthPort) Promiscuous() bool { return C.rte_eth_promiscuous_get(C.uint16_t(p.id)) == 1 }

// SetMTU sets the port's MTU.
func (p *EthPort) SetMTU(mtu uint16) error {
	if rc := C.rte_eth_dev_set_mtu(C.uint16_t(p.id), C.uint16_t(mtu)); rc != 0 {
		return rteError(p.op(fmt.Sprintf("set MTU %d", mtu)), rc)
	}
	return nil
}

// MTU is the port's MTU.
func (p *EthPort) MTU() (uint16, error) {
	var mtu C.uint16_t
	if rc := C.rte_eth_dev_get_mtu(C.uint16_t(p.id), &mtu); rc != 0 {
		return 0, rteError(p.op("get MTU"), rc)
	}
	return uint16(mtu), nil
}

// Stats are a port's basic counters (rte_eth_stats).
type Stats struct {
	IPackets, OPackets uint64
	IBytes, OBytes     uint64
	IMissed            uint64 // dropped by the device: RX queue full
	IErrors, OErrors   uint64
	RxNoMbuf           uint64 // RX mbuf allocation failures
}

// Sub returns s - o, field by field.
func (s Stats) Sub(o Stats) Stats {
	return Stats{
		IPackets: s.IPackets - o.IPackets, OPackets: s.OPackets - o.OPackets,
		IBytes: s.IBytes - o.IBytes, OBytes: s.OBytes - o.OBytes,
		IMissed: s.IMissed - o.IMissed, IErrors: s.IErrors - o.IErrors,
		OErrors: s.OErrors - o.OErrors, RxNoMbuf: s.RxNoMbuf - o.RxNoMbuf,
	}
}

// Stats reads the port's basic counters.
func (p *EthPort) Stats() (Stats, error) {
	var st C.struct_rte_eth_stats
	if rc := C.rte_eth_stats_get(C.uint16_t(p.id), &st); rc != 0 {
		return Stats{}, rteError(p.op("stats get"), rc)
	}
	return Stats{
		IPackets: uint64(st.ipackets), OPackets: uint64(st.opackets),
		IBytes: uint64(st.ibytes), OBytes: uint64(st.obytes),
		IMissed: uint64(st.imissed), IErrors: uint64(st.ierrors),
		OErrors: uint64(st.oerrors), RxNoMbuf: uint64(st.rx_nombuf),
	}, nil
}

// ResetStats zeroes the port's basic counters.
func (p *EthPort) ResetStats() error {
	if rc := C.rte_eth_stats_reset(C.uint16_t(p.id)); rc != 0 {
		return rteError(p.op("stats reset"), rc)
	}
	return nil
}

// XStat is one extended statistic.
type XStat struct {
	Name  string
	Value uint64
}

// XStats reads the port's extended statistics.
func (p *EthPort) XStats() ([]XStat, error) {
	n := C.rte_eth_xstats_get_names(C.uint16_t(p.id), nil, 0)
	if n < 0 {
		return nil, rteError(p.op("xstats names"), n)
	}
	if n == 0 {
		return nil, nil
	}
	names := (*C.struct_rte_eth_xstat_name)(C.calloc(C.size_t(n), C.sizeof_struct_rte_eth_xstat_name))
	vals := (*C.struct_rte_eth_xstat)(C.calloc(C.size_t(n), C.sizeof_struct_rte_eth_xstat))
	defer C.free(unsafe.Pointer(names))
	defer C.free(unsafe.Pointer(vals))
	if got := C.rte_eth_xstats_get_names(C.uint16_t(p.id), names, C.uint(n)); got != n {
		return nil, rteError(p.op("xstats names"), got)
	}
	got := C.rte_eth_xstats_get(C.uint16_t(p.id), vals, C.uint(n))
	if got < 0 || got > n {
		return nil, rteError(p.op("xstats get"), got)
	}
	ns := unsafe.Slice(names, n)
	vs := unsafe.Slice(vals, got)
	out := make([]XStat, 0, got)
	for _, v := range vs {
		if int(v.id) < len(ns) {
			out = append(out, XStat{Name: C.GoString(&ns[v.id].name[0]), Value: uint64(v.value)})
		}
	}
	return out, nil
}

// ResetXStats zeroes the port's extended statistics.
func (p *EthPort) ResetXStats() error {
	if rc := C.rte_eth_xstats_reset(C.uint16_t(p.id)); rc != 0 {
		return rteError(p.op("xstats reset"), rc)
	}
	return nil
}

// RSS hash types (RTE_ETH_RSS_*).
const (
	RSSIP  = uint64(C.RTE_ETH_RSS_IP)
	RSSTCP = uint64(C.RTE_ETH_RSS_TCP)
	RSSUDP = uint64(C.RTE_ETH_RSS_UDP)
	// DefaultRSSHash is what a port with several RX queues hashes on
	// unless told otherwise: IP, TCP and UDP.
	DefaultRSSHash = RSSIP | RSSTCP | RSSUDP
)

// RxBurst receives into the free room of b from queue q and returns how
// many arrived. A cgo call per burst: for the control plane (draining
// queues); forwarding lcores use Stream.
func (p *EthPort) RxBurst(q uint16, b *Burst) int {
	room := len(b.pkts) - b.n
	if room == 0 {
		return 0
	}
	base := (**C.struct_rte_mbuf)(unsafe.Add(unsafe.Pointer(b.c), b.n*int(unsafe.Sizeof(uintptr(0)))))
	n := int(C.opmd_rx_burst(C.uint16_t(p.id), C.uint16_t(q), base, C.uint16_t(min(room, 65535))))
	b.n += n
	return n
}

// TxBurst offers b's packets to queue q, removes the ones taken from b and
// returns how many were; the rest stay in b, owned by the caller.
func (p *EthPort) TxBurst(q uint16, b *Burst) int {
	n := int(C.opmd_tx_burst(C.uint16_t(p.id), C.uint16_t(q), b.c, C.uint16_t(min(b.n, 65535))))
	copy(b.pkts, b.pkts[n:b.n])
	b.n -= n
	return n
}

// QueueDesc is the descriptor count of a queue as the driver reports it
// (rte_eth_{rx,tx}_queue_info_get), or 0 where the driver does not say.
func (p *EthPort) QueueDesc(rx bool, q uint16) uint16 {
	if rx {
		var qi C.struct_rte_eth_rxq_info
		if C.rte_eth_rx_queue_info_get(C.uint16_t(p.id), C.uint16_t(q), &qi) == 0 {
			return uint16(qi.nb_desc)
		}
		return 0
	}
	var qi C.struct_rte_eth_txq_info
	if C.rte_eth_tx_queue_info_get(C.uint16_t(p.id), C.uint16_t(q), &qi) == 0 {
		return uint16(qi.nb_desc)
	}
	return 0
}

// Go-native port ids start where ethdev's end.
const (
	_ = uint(FirstGoPort - C.RTE_MAX_ETHPORTS)
	_ = uint(C.RTE_MAX_ETHPORTS - FirstGoPort)
)
