package segment_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/offload/pkt"
	"github.com/offloadpmd/offloadpmd/offload/segment"
)

// A TSO request in reference mode: headers into small buffers, payloads
// named as spans of the input (a data path attaches the input mbuf's data
// behind each header mbuf instead of copying it).
func ExampleJob_Headers() {
	// An IPv4/TCP frame with 4000 payload bytes, in two segments.
	frame := make([]byte, header.EthernetLen+header.IPv4MinLen+header.TCPMinLen+4000)
	binary.BigEndian.PutUint16(frame[header.EthernetLen-2:], header.EtherTypeIPv4) // the last field
	ip := header.IPv4(frame[header.EthernetLen:])
	ip.Encode(&header.IPv4Fields{TotalLen: uint16(len(frame) - header.EthernetLen), TTL: 64, Protocol: header.ProtoTCP,
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2")})
	header.TCP(ip[header.IPv4MinLen:]).Encode(&header.TCPFields{Seq: 1, Flags: header.TCPFlagACK | header.TCPFlagPSH})
	l, _ := header.Parse(frame)
	segs := [][]byte{frame[:1000], frame[1000:]}

	req := segment.Request{Kind: segment.TSO, SegSize: 1448, MTU: 1500}
	j, why := segment.Prepare(segs, &l, &req)
	if why != segment.OK {
		fmt.Println("refused:", why)
		return
	}
	hdrs := make([][]byte, j.Count())
	for i := range hdrs {
		hdrs[i] = make([]byte, j.Seg(0).HdrLen)
	}
	out := make([]segment.Seg, j.Count())
	j.Headers(hdrs, out)
	for i, s := range out {
		payload := make([]byte, s.Payload.Len)
		pkt.Copy(payload, segs, s.Payload)
		fmt.Printf("segment %d: %d header bytes, payload %d+%d, seq %d\n",
			i, s.HdrLen, s.Payload.Off, s.Payload.Len, header.TCP(hdrs[i][l.L4Off():]).Seq())
	}
	// Output:
	// segment 0: 54 header bytes, payload 54+1448, seq 1
	// segment 1: 54 header bytes, payload 1502+1448, seq 1449
	// segment 2: 54 header bytes, payload 2950+1104, seq 2897
}
