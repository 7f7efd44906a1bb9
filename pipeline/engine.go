package pipeline

import (
	"fmt"
	"strings"

	"github.com/offloadpmd/offloadpmd/pmd"
)

// Engine is a forward engine, testpmd's struct fwd_engine: what a stream
// does with each burst. The CLI's list of modes and their help come from
// Engines.
type Engine struct {
	Name string
	Help string
	// RxMode is where the stream's packets come from: the RX queue, or
	// fresh mbufs for generators.
	RxMode pmd.RxMode
	// Begin prepares a stream before forwarding starts; may be nil.
	Begin func(*Stream) error
	// End runs after the stream's lcore stopped; may be nil.
	End func(*Stream)
	// Fwd handles one burst: it compacts the packets to send to the
	// front of pkts and returns how many there are; every other packet it
	// Drops (counting why) or frees (Stream.free). It allocates nothing
	// and makes no cgo call. The TX stage then performs what the kept
	// packets ask for.
	Fwd func(s *Stream, pkts []*pmd.Mbuf) int
	// OwnRequests: the engine sets the packets' TX requests itself (csum),
	// so the TX port's table says what it may ask for.
	OwnRequests bool
	// PassThrough: Fwd keeps every packet, in order, untouched (io). A
	// stream that then has nothing else to do with its bursts may leave
	// them to C (see Stream.direct).
	PassThrough bool
}

// Engines is the table of forward engines, in the order `set fwd` lists
// them.
var Engines = []*Engine{&IOEngine, &MACEngine, &MACSwapEngine, &RxOnlyEngine, &TxOnlyEngine, &CsumEngine}

// EngineByName finds an engine, or says which exist.
func EngineByName(name string) (*Engine, error) {
	for _, e := range Engines {
		if e.Name == name {
			return e, nil
		}
	}
	return nil, fmt.Errorf("unknown forwarding mode %q: available are %s", name, EngineNames())
}

// EngineNames lists the engines, space separated.
func EngineNames() string {
	n := make([]string, len(Engines))
	for i, e := range Engines {
		n[i] = e.Name
	}
	return strings.Join(n, " ")
}

// ethHeaderLen is the length of an untagged Ethernet header.
const ethHeaderLen = 14

// IOEngine forwards packets untouched.
var IOEngine = Engine{
	Name:        "io",
	Help:        "forward packets as received, untouched",
	Fwd:         func(s *Stream, pkts []*pmd.Mbuf) int { return len(pkts) },
	PassThrough: true,
}

// MACEngine rewrites the Ethernet source to the TX port's MAC and the
// destination to the TX port's peer.
var MACEngine = Engine{
	Name: "mac",
	Help: "set the source MAC to the TX port's and the destination to its peer",
	Fwd:  macFwd,
}

func macFwd(s *Stream, pkts []*pmd.Mbuf) int {
	peer, own := s.PeerMAC, s.TxMAC
	kept := 0
	for _, m := range pkts {
		d := m.Data()
		if len(d) < ethHeaderLen {
			s.dropRunt(m)
			continue
		}
		*(*[6]byte)(d[0:6]) = peer
		*(*[6]byte)(d[6:12]) = own
		pkts[kept] = m
		kept++
	}
	return kept
}

// MACSwapEngine swaps the Ethernet source and destination.
var MACSwapEngine = Engine{
	Name: "macswap",
	Help: "swap the Ethernet source and destination addresses",
	Fwd:  macSwapFwd,
}

func macSwapFwd(s *Stream, pkts []*pmd.Mbuf) int {
	kept := 0
	for _, m := range pkts {
		d := m.Data()
		if len(d) < ethHeaderLen {
			s.dropRunt(m)
			continue
		}
		dst := *(*[6]byte)(d[0:6])
		*(*[6]byte)(d[0:6]) = *(*[6]byte)(d[6:12])
		*(*[6]byte)(d[6:12]) = dst
		pkts[kept] = m
		kept++
	}
	return kept
}

// RxOnlyEngine receives and frees.
var RxOnlyEngine = Engine{
	Name: "rxonly",
	Help: "receive packets and free them",
	Fwd: func(s *Stream, pkts []*pmd.Mbuf) int {
		s.free(pkts)
		s.Count(FreedRxOnly, uint64(len(pkts)))
		return 0
	},
}

func (s *Stream) dropRunt(m *pmd.Mbuf) { s.dropCounted(m, DropRuntFrame) }
