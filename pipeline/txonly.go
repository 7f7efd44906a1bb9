package pipeline

import (
	"encoding/binary"
	"fmt"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// TxOnly packet defaults, as testpmd's txonly engine builds them: a UDP
// datagram from 198.18.0.1:9 to 198.18.0.2:9 (RFC 2544 benchmarking
// addresses), 64 bytes on the wire without FCS.
const (
	TxOnlyDefaultLen = 64
	txOnlyMaxLen     = 2048 - pmd.DefaultHeadroom
	txOnlySrcIP      = 198<<24 | 18<<16 | 0<<8 | 1
	txOnlyDstIP      = 198<<24 | 18<<16 | 0<<8 | 2
	txOnlyUDPPort    = 9
	ipv4HeaderLen    = 20
	udpHeaderLen     = 8
	ipDefaultTTL     = 64
)

// TxOnlyLen is the frame length txonly streams generate (testpmd's
// --txpkts, single segment). Set it before Start.
var TxOnlyLen = TxOnlyDefaultLen

// txonlyState is a stream's packet template.
type txonlyState struct {
	tmpl [txOnlyMaxLen]byte
	n    int
}

// TxOnlyEngine generates UDP packets.
var TxOnlyEngine = Engine{
	Name:   "txonly",
	Help:   "generate UDP/IPv4 packets (198.18.0.1:9 -> 198.18.0.2:9)",
	RxMode: pmd.RxAlloc,
	Begin:  txonlyBegin,
	Fwd:    txonlyFwd,
}

func txonlyBegin(s *Stream) error {
	n := TxOnlyLen
	if n < ethHeaderLen+ipv4HeaderLen+udpHeaderLen || n > txOnlyMaxLen {
		return fmt.Errorf("txonly: packet length %d outside %d..%d", n, ethHeaderLen+ipv4HeaderLen+udpHeaderLen, txOnlyMaxLen)
	}
	if pool := s.io.Config().AllocPool; pool != nil && n > int(pool.DataRoom())-pmd.DefaultHeadroom {
		return fmt.Errorf("txonly: packet length %d does not fit the pool's %d-byte mbufs", n, pool.DataRoom())
	}
	t := &s.tx
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
	binary.BigEndian.PutUint32(ip[12:16], txOnlySrcIP)
	binary.BigEndian.PutUint32(ip[16:20], txOnlyDstIP)
	binary.BigEndian.PutUint16(ip[10:12], checksum.Checksum(ip))
	udp := b[ethHeaderLen+ipv4HeaderLen:]
	binary.BigEndian.PutUint16(udp[0:2], txOnlyUDPPort)
	binary.BigEndian.PutUint16(udp[2:4], txOnlyUDPPort)
	binary.BigEndian.PutUint16(udp[4:6], uint16(n-ethHeaderLen-ipv4HeaderLen))
	return nil
}

func txonlyFwd(s *Stream, pkts []*pmd.Mbuf) {
	tmpl := s.tx.tmpl[:s.tx.n]
	for _, m := range pkts {
		m.SetData(tmpl)
		m.SetL2L3L4(ethHeaderLen, ipv4HeaderLen, udpHeaderLen)
	}
	s.io.SendBurst(pkts)
	s.Count(TxOnlyGenerated, uint64(len(pkts)))
}
