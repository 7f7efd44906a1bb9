package pipeline

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// TxOnly packet defaults, as testpmd's txonly engine builds them: a UDP
// datagram from 198.18.0.1:9 to 198.18.0.2:9 (RFC 2544 benchmarking
// addresses), 64 bytes on the wire without FCS, UDP checksum 0.
const (
	TxOnlyDefaultLen = 64
	txOnlyMaxLen     = 9216
	ipv4HeaderLen    = 20
	udpHeaderLen     = 8
	ipDefaultTTL     = 64
	txOnlyMinLen     = ethHeaderLen + ipv4HeaderLen + udpHeaderLen
)

// TxOnlyLen is the frame length txonly streams generate (testpmd's
// --txpkts, single segment). Set it before Start.
var TxOnlyLen = TxOnlyDefaultLen

// TxOnlySpec is what a stream's generated packets carry.
type TxOnlySpec struct {
	SrcIP, DstIP     net.IP // IPv4
	SrcPort, DstPort uint16
	// MultiFlow varies the source address per packet, as testpmd's
	// --txonly-multi-flow: (dst | n<<8) + lcore, n counting packets mod 256.
	MultiFlow bool
	Lcore     uint
}

// txonlyState is a stream's packet template.
type txonlyState struct {
	spec  TxOnlySpec
	tmpl  [txOnlyMaxLen]byte
	n     int
	ipVar uint8
}

// TxOnlyEngine generates UDP packets.
var TxOnlyEngine = Engine{
	Name:   "txonly",
	Help:   "generate UDP/IPv4 packets (default 198.18.0.1:9 -> 198.18.0.2:9, 64 bytes)",
	RxMode: pmd.RxAlloc,
	Begin:  func(s *Stream) error { return prepareTxOnly(s, s.io.Config().AllocPool) },
	Fwd:    txonlyFwd,
}

// prepareTxOnly builds the stream's template for packets from pool.
func prepareTxOnly(s *Stream, pool *pmd.Mempool) error {
	n := TxOnlyLen
	if n < txOnlyMinLen || n > txOnlyMaxLen {
		return fmt.Errorf("txonly: packet length %d outside %d..%d", n, txOnlyMinLen, txOnlyMaxLen)
	}
	if pool != nil && n > int(pool.DataRoom())-pmd.DefaultHeadroom {
		return fmt.Errorf("txonly: packet length %d does not fit the pool's %d-byte mbufs", n, pool.DataRoom())
	}
	t := &s.tx
	src, dst := t.spec.SrcIP.To4(), t.spec.DstIP.To4()
	if src == nil || dst == nil {
		return fmt.Errorf("txonly: source %v and destination %v must be IPv4", t.spec.SrcIP, t.spec.DstIP)
	}
	clear(t.tmpl[:])
	t.n = n
	b := t.tmpl[:n]
	copy(b[0:6], s.PeerMAC[:])
	copy(b[6:12], s.TxMAC[:])
	binary.BigEndian.PutUint16(b[12:14], 0x0800)
	ip := b[ethHeaderLen : ethHeaderLen+ipv4HeaderLen]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:4], uint16(n-ethHeaderLen))
	ip[8] = ipDefaultTTL
	ip[9] = 17 // UDP
	copy(ip[12:16], src)
	copy(ip[16:20], dst)
	binary.BigEndian.PutUint16(ip[10:12], checksum.Checksum(ip))
	udp := b[ethHeaderLen+ipv4HeaderLen:]
	binary.BigEndian.PutUint16(udp[0:2], t.spec.SrcPort)
	binary.BigEndian.PutUint16(udp[2:4], t.spec.DstPort)
	binary.BigEndian.PutUint16(udp[4:6], uint16(n-ethHeaderLen-ipv4HeaderLen))
	return nil
}

// fillTxOnly makes fresh mbufs the template's frames. As testpmd's txonly
// does, it writes the headers only: the payload is whatever the mbuf
// held (a fresh pool's zeros), which the UDP checksum 0 leaves out of the
// packet's validity, and which costs nothing to produce at any size.
// prepareTxOnly checked that the frame fits the pool's mbufs.
func fillTxOnly(s *Stream, pkts []*pmd.Mbuf) {
	t := &s.tx
	hdr := t.tmpl[:txOnlyMinLen]
	for _, m := range pkts {
		m.SetFrame(t.n)
		copy(m.Data(), hdr)
		m.SetL2L3L4(ethHeaderLen, ipv4HeaderLen, udpHeaderLen)
		if t.spec.MultiFlow {
			ip := m.Data()[ethHeaderLen : ethHeaderLen+ipv4HeaderLen]
			dst := binary.BigEndian.Uint32(ip[16:20])
			binary.BigEndian.PutUint32(ip[12:16], (dst|uint32(t.ipVar)<<8)+uint32(t.spec.Lcore))
			t.ipVar++
			ip[10], ip[11] = 0, 0
			binary.BigEndian.PutUint16(ip[10:12], checksum.Checksum(ip))
		}
	}
}

func txonlyFwd(s *Stream, pkts []*pmd.Mbuf) int {
	fillTxOnly(s, pkts)
	s.Count(TxOnlyGenerated, uint64(len(pkts)))
	return len(pkts)
}
