package segment

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// fuzzRequest turns fuzz bytes into a request: every kind and mode,
// including invalid ones.
func fuzzRequest(kind, mode uint8, segsz, mtu uint16) Request {
	return Request{
		Kind:     Kind(kind % 4),
		SegSize:  int(segsz),
		MTU:      int(mtu),
		IPv4Csum: Csum(mode & 1),
		L4Csum:   Csum(mode >> 1 % 3),
		FixedID:  mode&0x10 != 0,
		FragID:   uint32(segsz)<<16 | uint32(mtu),
	}
}

// verify segments segs (the scatter list of flat) and checks the
// invariants of any accepted request: both modes agree, every output
// parses and fits the MTU, checksums computed in software verify, and the
// payload comes back whole (joined for TSO and USO, reassembled for UFO).
func verify(t *testing.T, flat []byte, segs [][]byte, l header.Layout, req Request) {
	j, why := Prepare(segs, &l, &req)
	n, why2 := Count(segs, &l, &req)
	if why != why2 || why == OK && n != j.Count() {
		t.Fatalf("Prepare %v, Count %d %v", why, n, why2)
	}
	if why != OK {
		if why >= numReasons {
			t.Fatalf("reason %d out of range", why)
		}
		return
	}
	if n < 1 || n > MaxSegments {
		t.Fatalf("%d outputs", n)
	}
	hdrs, out := outputs(n, j.Seg(0).HdrLen)
	if got, why := Headers(segs, &l, &req, hdrs, out); why != OK || got != n {
		t.Fatalf("Headers: %d %v", got, why)
	}
	fs := frames(flat, hdrs, out)
	bufs, out2 := outputs(n, j.Seg(0).Len())
	if got, why := Frames(segs, &l, &req, bufs, out2); why != OK || got != n {
		t.Fatalf("Frames: %d %v", got, why)
	}
	fragments := false
	for i, f := range fs {
		if out2[i] != out[i] || !bytes.Equal(bufs[i][:out[i].Len()], f) {
			t.Fatalf("output %d: modes differ", i)
		}
		if req.MTU != 0 && len(f)-l.L2Len > req.MTU {
			t.Fatalf("output %d: %d bytes over MTU %d", i, len(f)-l.L2Len, req.MTU)
		}
		ol, m := header.Parse(f)
		if m != header.OK || ol.PktLen != len(f) {
			t.Fatalf("output %d does not parse: %v", i, m)
		}
		fragments = fragments || ol.Fragment || ol.IPv6FragHdr != 0 || m != header.OK
		if !fragments && (ol.L4Proto != l.L4Proto || ol.PayloadOff() != out[i].HdrLen) {
			t.Fatalf("output %d: parsed as %+v", i, ol)
		}
		if !fragments && req.L4Csum == Software {
			if checksum.VerifyL4([][]byte{f}, &ol) != checksum.Good {
				t.Fatalf("output %d: L4 checksum", i)
			}
			ip := f[ol.L3Off():ol.PktLen]
			src, dst := ip[12:16], ip[16:20]
			if ol.L3 == header.L3IPv6 {
				src, dst = ip[8:24], ip[24:40]
			}
			if naiveSum(naivePseudo(src, dst, ol.L4Proto, ol.PktLen-ol.L4Off()), f[ol.L4Off():ol.PktLen]) != 0xffff {
				t.Fatalf("output %d: L4 checksum (naive)", i)
			}
		}
		if ol.L3 == header.L3IPv4 && req.IPv4Csum == Software && naiveSum(f[ol.L3Off():ol.L4Off()]) != 0xffff {
			t.Fatalf("output %d: IPv4 header checksum", i)
		}
	}
	if !fragments {
		var joined []byte
		for _, s := range out[:n] {
			joined = append(joined, flat[s.Payload.Off:s.Payload.Off+s.Payload.Len]...)
		}
		if out[0].Payload.Off != l.PayloadOff() || !bytes.Equal(joined, flat[l.PayloadOff():l.PktLen]) {
			t.Fatal("payload not preserved")
		}
		return
	}
	if req.Kind != UFO || n < 2 {
		t.Fatalf("%v made fragments", req.Kind)
	}
	unfrag, data, err := reassemble(fs, l.L2Len)
	if err != nil {
		t.Fatal(err)
	}
	start := l.L3Off() + len(unfrag)
	want := append([]byte{}, flat[start:l.PktLen]...)
	field := l.L4Off() - start + header.UDPChecksumOff
	if len(data) != len(want) || field < 0 {
		t.Fatalf("reassembled %d bytes, want %d", len(data), len(want))
	}
	if req.L4Csum != Keep {
		binary.BigEndian.PutUint16(want[field:], binary.BigEndian.Uint16(data[field:]))
	}
	if !bytes.Equal(data, want) {
		t.Fatal("reassembled datagram differs")
	}
}

func fuzzSeeds(f testing.TB) [][]byte {
	var seeds [][]byte
	for _, s := range []spec{
		{payload: 3000, tcpOpts: true, flags: header.TCPFlagACK | header.TCPFlagPSH | header.TCPFlagFIN | header.TCPFlagCWR | header.TCPFlagURG, urg: 1500},
		{payload: 1449, ipOpts: testIPv4Opts(), vlan: true},
		{payload: 5001, v6: true, exts: []ext{extHBH, extDst, extRt, extDst}, tcpOpts: true},
		{payload: 2000, udp: true, ipOpts: testIPv4Opts()},
		{payload: 4001, udp: true, v6: true, exts: []ext{extHBH, extDst16}},
		{payload: 777, udp: true, v6: true},
	} {
		seeds = append(seeds, build(f, s))
	}
	return seeds
}

// FuzzSegment segments fuzzed frames with fuzzed requests, split at
// random points.
func FuzzSegment(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint8(i%3+1), uint8(i), uint16(1000+i*111), uint16(1500), uint64(i), uint16(i*7))
		f.Add(s, uint8(UFO), uint8(2), uint16(512), uint16(0), uint64(i), uint16(0))
	}
	f.Fuzz(func(t *testing.T, frame []byte, kind, mode uint8, segsz, mtu uint16, seed uint64, first uint16) {
		l, _ := header.Parse(frame) // a malformed frame's partial layout must be refused, not crash
		r := rand.New(rand.NewPCG(seed, 0))
		segs := split(r, frame, l.PayloadOff()+int(first%80)-8)
		verify(t, frame, segs, l, fuzzRequest(kind, mode, segsz, mtu))
	})
}

// FuzzLayout segments well-formed frames with a fuzzed layout, which the
// engine must check against the bytes rather than trust.
func FuzzLayout(f *testing.F) {
	for i := range fuzzSeeds(f) {
		f.Add(uint8(i), int16(0), int16(0), int16(0), int16(0), uint8(0), false, uint8(i%3+1), uint16(1000))
	}
	seeds := fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, which uint8, d2, d3, d4, dPkt int16, proto uint8, frag bool, kind uint8, segsz uint16) {
		flat := seeds[int(which)%len(seeds)]
		l, _ := header.Parse(flat)
		l.L2Len += int(d2 % 64)
		l.L3Len += int(d3 % 128)
		l.L4Len += int(d4 % 128)
		l.PktLen += int(dPkt)
		if proto != 0 {
			l.L4Proto = proto
		}
		if proto&1 != 0 {
			l.L3 = header.L3(proto >> 1 % 4)
		}
		l.Fragment = frag
		verify(t, flat, [][]byte{flat}, l, Request{Kind: Kind(kind % 4), SegSize: int(segsz)})
	})
}
