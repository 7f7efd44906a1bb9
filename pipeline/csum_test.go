package pipeline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// TestCsumEngineRefusesDisabledChecksum: the csum engine asks for every
// checksum, the TX port enables only IPv4 and UDP checksums: TCP packets
// are refused and counted under the disabled reason, UDP ones leave with
// both checksums, spoiled on input, right (gopacket recomputes them), none is lost uncounted.
func TestCsumEngineRefusesDisabledChecksum(t *testing.T) {
	tr := newTraffic(t, []e2eFlow{{id: 400, mss: 1448}, {id: 401, udp: true, mss: 1448}, {id: 402, udp: true, v6: true, mss: 1448}, {id: 403, v6: true, tsopt: true, mss: 1448}},
		[]int{100, 700, 1400}, false)
	frames := tr.frames()
	var udp int
	for i, p := range tr.pkts {
		p.flow.spoil(frames[i]) // only the checksum tasks can fix them
		if p.flow.udp {
			udp++
		}
	}
	out, st := pcapOffloadRunWith(t, "csum_refuse", frames, udp, CsumSettings{}, offload.TxIPv4Cksum|offload.TxUDPCksum)
	got := readPcap(t, out)
	if len(got) != udp {
		t.Fatalf("%d packets out, want the %d UDP ones", len(got), udp)
	}
	for i, fr := range got {
		p := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
		u, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if u == nil {
			t.Fatalf("output %d is not UDP: %v", i, p)
		}
		want := u.Checksum
		var nl gopacket.NetworkLayer
		if ip4, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			nl = ip4
			c := ip4.Checksum
			if err := ip4.SerializeTo(gopacket.NewSerializeBuffer(), gopacket.SerializeOptions{ComputeChecksums: true}); err != nil || ip4.Checksum != c {
				t.Errorf("output %d: IPv4 checksum %#04x, want %#04x", i, c, ip4.Checksum)
			}
		} else {
			nl = p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		}
		if err := u.SetNetworkLayerForChecksum(nl); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, u, gopacket.Payload(u.Payload)); err != nil {
			t.Fatal(err)
		}
		if u.Checksum != want {
			t.Errorf("output %d: UDP checksum %#04x, want %#04x", i, want, u.Checksum)
		}
	}
	// The pcap is read once: every TCP packet was refused.
	if n := st.Counters[Refused(offload.RefDisabled)]; n != uint64(len(frames)-udp) {
		t.Errorf("refused as disabled: %d, want %d; %s", n, len(frames)-udp, st.nonZero())
	}
	if n := st.Counters[SoftwareTask(offload.TaskL4Cksum)]; n != uint64(udp) {
		t.Errorf("software L4 checksums: %d, want %d; %s", n, udp, st.nonZero())
	}
}

// TestCsumQuickMatchesGeneral feeds the same frames, plain and mutated
// (truncated, lying lengths, options, fragments, VLAN tags, UDP checksum
// 0, random header bytes), with random RX and TX flags, to csumQuick and
// to the general path (csumRequest, then csumNow): every frame csumQuick
// takes must come out byte for byte, flag for flag, length for length and
// count for count as the general path leaves it; and it must take the
// plain ones.
func TestCsumQuickMatchesGeneral(t *testing.T) {
	pool := pmdtest.Pool(t, 64, 0)
	reg := &offload.Registry{}
	off := DefaultOffload(reg)
	if err := off.RegisterDynflags(); err != nil {
		t.Fatal(err)
	}
	newS := func() *Stream {
		s, err := NewStream(0, StreamSpec{Burst: 32}, &CsumEngine, pool, off)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		sw := offload.Step{Verdict: offload.Software}
		s.off.plan = csumPlan{on: true, ip: sw, tcp: sw, udp: sw}
		return s
	}
	quick, general := newS(), newS()
	rng := rand.New(rand.NewPCG(7, 11))
	var flows []e2eFlow
	for i := range 8 {
		flows = append(flows, e2eFlow{id: 500 + i, v6: i&1 != 0, udp: i&2 != 0, tsopt: i&4 != 0, mss: 1448})
	}
	tr := newTraffic(t, flows, []int{0, 1, 17, 200, 1401}, false)
	plain, taken := 0, 0
	for round := range 4000 {
		p := tr.pkts[round%len(tr.pkts)]
		fr := append([]byte(nil), p.frame...)
		p.flow.spoil(fr)
		mutated := round >= len(tr.pkts)
		if mutated {
			fr = mutate(rng, fr)
		} else {
			plain++
		}
		flags := rng.Uint64() & (offload.OlTxOffloadMask | rxFlags | off.UFO.Mask() | off.Partial.Mask() | 1)
		a, b := pool.Alloc(), pool.Alloc()
		if a == nil || b == nil || !a.SetData(fr) || !b.SetData(fr) {
			t.Fatal("cannot build mbufs")
		}
		a.SetOlFlags(flags)
		b.SetOlFlags(flags)
		a.SetTxOffload(rng.Uint64())
		b.SetTxOffload(a.TxOffload())
		n := quick.newQuickCounts()
		free := func() { a.Free(); b.Free() }
		if !quick.csumQuick(a, &n) {
			free()
			if !mutated {
				t.Fatalf("frame %d (%v, %d bytes) not taken by csumQuick", round, p.flow, len(fr))
			}
			continue
		}
		taken++
		ip0, l40 := general.Counter(SoftwareTask(offload.TaskIPv4Cksum)), general.Counter(SoftwareTask(offload.TaskL4Cksum))
		var cfg CsumSettings
		if !general.csumRequest(b, &cfg) {
			free()
			t.Fatalf("frame %d (%v, mutated %v): csumQuick took it, the general path dropped it", round, p.flow, mutated)
		}
		msg := ""
		switch {
		case !bytes.Equal(a.Data(), b.Data()):
			msg = fmt.Sprintf("bytes differ from the general path's (%v, mutated %v)", p.flow, mutated)
		case a.OlFlags() != b.OlFlags():
			msg = fmt.Sprintf("ol_flags %#x, general path %#x (input %#x)", a.OlFlags(), b.OlFlags(), flags)
		case a.TxOffload() != b.TxOffload():
			msg = fmt.Sprintf("tx_offload %#x, general path %#x", a.TxOffload(), b.TxOffload())
		case n.ip != general.Counter(SoftwareTask(offload.TaskIPv4Cksum))-ip0 || n.l4 != general.Counter(SoftwareTask(offload.TaskL4Cksum))-l40:
			msg = fmt.Sprintf("counted ip %d l4 %d, general path %d %d", n.ip, n.l4,
				general.Counter(SoftwareTask(offload.TaskIPv4Cksum))-ip0, general.Counter(SoftwareTask(offload.TaskL4Cksum))-l40)
		}
		free()
		if msg != "" {
			t.Fatalf("frame %d: %s", round, msg)
		}
	}
	if taken <= plain {
		t.Errorf("csumQuick took %d frames, only the %d plain ones: no mutated frame it takes was compared", taken, plain)
	}
	t.Logf("%d plain frames, %d taken by csumQuick and compared", plain, taken)
}

// mutate damages a frame the way bad input does: truncation, a lying IP
// or L4 length, a VLAN tag, IPv4 options or fragment bits, a UDP checksum
// of 0, or random bytes in the headers.
func mutate(rng *rand.Rand, fr []byte) []byte {
	switch rng.IntN(8) {
	case 0:
		return fr[:rng.IntN(len(fr)+1)]
	case 1: // IPv4 total length or IPv6 payload length
		binary.BigEndian.PutUint16(fr[14+2+2*btoi(fr[14]>>4 == 6):], uint16(rng.IntN(len(fr)+64)))
	case 2: // a VLAN tag
		tagged := append(append(append([]byte(nil), fr[:12]...), 0x81, 0x00, 0, 7), fr[12:]...)
		return tagged
	case 3: // IPv4 flags and fragment offset, or IHL
		if fr[14]>>4 == 4 {
			fr[14+6], fr[14+7] = byte(rng.IntN(256)), byte(rng.IntN(256))
			if rng.IntN(2) == 0 {
				fr[14] = 0x40 | byte(rng.IntN(16))
			}
		}
	case 4: // UDP checksum 0 (IPv4 or IPv6)
		l3 := 20
		if fr[14]>>4 == 6 {
			l3 = 40
		}
		if len(fr) >= 14+l3+8 {
			fr[14+l3+6], fr[14+l3+7] = 0, 0
		}
	case 5: // L4 length: UDP length or TCP data offset
		l3 := 20
		if fr[14]>>4 == 6 {
			l3 = 40
		}
		if len(fr) >= 14+l3+20 {
			fr[14+l3+4], fr[14+l3+5] = byte(rng.IntN(256)), byte(rng.IntN(256))
			fr[14+l3+12] = byte(rng.IntN(256))
		}
	default: // random header bytes
		for range 1 + rng.IntN(3) {
			fr[rng.IntN(min(len(fr), 80))] = byte(rng.Uint32())
		}
	}
	return fr
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
