package segment

import (
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// mbufSplit cuts a frame into 2 KiB segments, as a chain of DPDK mbufs
// with the default data room holds it.
func mbufSplit(f []byte) [][]byte {
	const room = 2048
	var segs [][]byte
	for len(f) > room {
		segs = append(segs, f[:room])
		f = f[room:]
	}
	return append(segs, f)
}

// benchSegment times one request on one packet, outputs reused. Bytes are
// payload bytes; segs/s counts outputs.
func benchSegment(b *testing.B, s spec, req Request, copyMode bool) {
	f := build(b, s)
	l, _ := header.Parse(f)
	segs := mbufSplit(f)
	j, why := Prepare(segs, &l, &req)
	if why != OK {
		b.Fatal(why)
	}
	n := j.Count()
	hdrs, out := outputs(n, j.Seg(0).HdrLen)
	bufs, _ := outputs(n, j.Seg(0).Len())
	payload := l.PktLen - l.PayloadOff()
	b.SetBytes(int64(payload))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if copyMode {
			_, why = Frames(segs, &l, &req, bufs, out)
		} else {
			_, why = Headers(segs, &l, &req, hdrs, out)
		}
	}
	b.StopTimer()
	if why != OK {
		b.Fatal(why)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(n)*float64(b.N)/sec, "segs/s")
	b.ReportMetric(float64(payload)*float64(b.N)/sec/1e9, "GB/s")
}

// The largest payloads one IP packet carries with 20-byte IPv4 and
// TCP headers, or an 8-byte UDP header.
const (
	maxTCPPayload = 0xffff - header.IPv4MinLen - header.TCPMinLen
	maxUDPPayload = 0xffff - header.IPv4MinLen - header.UDPLen
)

type benchMode struct {
	name string
	copy bool
	csum Csum
}

// reference: headers and spans only, checksums computed over the spans;
// copy: whole frames; offload: headers and spans, checksums left to the NIC.
var benchModes = []benchMode{{"reference", false, Software}, {"copy", true, Software}, {"offload", false, Offload}}

func BenchmarkTSO(b *testing.B) {
	// MSS 1448 over both: 1500-byte IPv4 packets, 1508-byte IPv6 ones.
	for _, v := range []struct {
		name string
		v6   bool
		mtu  int
	}{{"ipv4", false, 1500}, {"ipv6", true, 1508}} {
		for _, m := range benchModes {
			b.Run(v.name+"/"+m.name, func(b *testing.B) {
				benchSegment(b, spec{v6: v.v6, payload: maxTCPPayload, flags: header.TCPFlagACK | header.TCPFlagPSH},
					Request{Kind: TSO, SegSize: 1448, MTU: v.mtu, IPv4Csum: m.csum, L4Csum: m.csum}, m.copy)
			})
		}
	}
}

func BenchmarkUSO(b *testing.B) {
	for _, m := range benchModes {
		b.Run("ipv4/"+m.name, func(b *testing.B) {
			benchSegment(b, spec{udp: true, payload: maxUDPPayload},
				Request{Kind: USO, SegSize: 1448, MTU: 1500, IPv4Csum: m.csum, L4Csum: m.csum}, m.copy)
		})
	}
}

func BenchmarkUFO(b *testing.B) {
	for _, v := range []struct {
		name   string
		v6     bool
		segsz  int
		l4Csum Csum
	}{{"ipv4", false, 1480, Software}, {"ipv6", true, 1448, Software}, {"ipv4-keep", false, 1480, Keep}} {
		for _, m := range benchModes[:2] {
			b.Run(v.name+"/"+m.name, func(b *testing.B) {
				benchSegment(b, spec{udp: true, v6: v.v6, payload: maxUDPPayload},
					Request{Kind: UFO, SegSize: v.segsz, MTU: 1500, L4Csum: v.l4Csum, FragID: 1}, m.copy)
			})
		}
	}
}
