package offload

import (
	"strings"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

func TestVirtioRoundTrip(t *testing.T) {
	for _, n := range []int{VirtioNetHdrLen, VirtioNetHdrMrgLen} {
		f := VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOTCPv6 | VirtioGSOECN, HdrLen: 86,
			GSOSize: 1428, CsumStart: 54, CsumOffset: 16}
		if n == VirtioNetHdrMrgLen {
			f.NumBuffers = 3
		}
		h := make(VirtioNetHdr, n)
		h.Encode(&f)
		if got := h.Decode(); got != f {
			t.Errorf("%d bytes: %+v, want %+v", n, got, f)
		}
		// Little-endian on the wire: gso_size 1428 = 0x0594.
		if h[4] != 0x94 || h[5] != 0x05 {
			t.Errorf("gso_size bytes % x", h[4:6])
		}
	}
}

func TestVirtioToRequest(t *testing.T) {
	tso4 := pkt(t, false, false, 64000, false)
	tso6 := pkt(t, true, false, 64000, false)
	u6 := pkt(t, true, true, 30000, false)
	small := pkt(t, false, false, 100, false)
	l4off := func(f []byte) uint16 { l, _ := header.Parse(f); return uint16(l.L4Off()) }
	cases := []struct {
		name      string
		frame     []byte
		f         VirtioFields
		wantFlags uint64
		wantUFO   bool
		wantSeg   uint16
		want      Refusal
	}{
		{"plain", small, VirtioFields{}, 0, false, 0, RefusalNone},
		{"partial tcp checksum", small, VirtioFields{Flags: VirtioFlagNeedsCsum, CsumStart: l4off(small), CsumOffset: 16},
			OlTxTCPCksum | OlTxIPv4, false, 0, RefusalNone},
		{"tso4, hdr_len lies", tso4, VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOTCPv4, HdrLen: 9999, GSOSize: 1448, CsumStart: l4off(tso4), CsumOffset: 16},
			OlTxTCPSeg | OlTxTCPCksum | OlTxIPv4 | OlTxIPCksum, false, 1448, RefusalNone},
		{"tso6 with ECN", tso6, VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOTCPv6 | VirtioGSOECN, GSOSize: 1428, CsumStart: l4off(tso6), CsumOffset: 16},
			OlTxTCPSeg | OlTxTCPCksum | OlTxIPv6, false, 1428, RefusalNone},
		{"tso that fits one segment", small, VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOTCPv4, GSOSize: 1448, CsumStart: l4off(small), CsumOffset: 16},
			OlTxTCPCksum | OlTxIPv4, false, 0, RefusalNone},
		{"uso6", u6, VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOUDPL4, GSOSize: 1400, CsumStart: l4off(u6), CsumOffset: 6},
			OlTxUDPSeg | OlTxUDPCksum | OlTxIPv6, false, 1400, RefusalNone},
		{"ufo6", u6, VirtioFields{GSOType: VirtioGSOUDP, GSOSize: 1448},
			OlTxIPv6, true, 1448, RefusalNone},
		{"csum outside the frame", small, VirtioFields{Flags: VirtioFlagNeedsCsum, CsumStart: uint16(len(small)), CsumOffset: 0}, 0, false, 0, RefVirtioCsumOutside},
		{"csum not at the l4 field", small, VirtioFields{Flags: VirtioFlagNeedsCsum, CsumStart: l4off(small), CsumOffset: 4}, 0, false, 0, RefVirtioCsumNotL4},
		{"gso size 0", tso4, VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOTCPv4, CsumStart: l4off(tso4), CsumOffset: 16}, 0, false, 0, RefVirtioGSOSizeZero},
		{"tcpv6 on ipv4", tso4, VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOTCPv6, GSOSize: 1000, CsumStart: l4off(tso4), CsumOffset: 16}, 0, false, 0, RefVirtioGSOMismatch},
		{"uso without needs_csum", u6, VirtioFields{GSOType: VirtioGSOUDPL4, GSOSize: 1000}, 0, false, 0, RefVirtioUSONeedsCsum},
		{"uso beyond 64 segments", u6, VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOUDPL4, GSOSize: 100, CsumStart: l4off(u6), CsumOffset: 6}, 0, false, 0, RefVirtioTooManySegments},
		{"unknown gso type", small, VirtioFields{GSOType: 7, GSOSize: 100}, 0, false, 0, RefVirtioGSOType},
		{"ecn on udp", u6, VirtioFields{GSOType: VirtioGSOUDP | VirtioGSOECN, GSOSize: 100}, 0, false, 0, RefVirtioGSOType},
	}
	tab := enabled(t)
	for _, c := range cases {
		r, l, ref := c.f.ToRequest(c.frame)
		if ref != c.want {
			t.Errorf("%s: refusal %v, want %v", c.name, ref, c.want)
			continue
		}
		if ref != RefusalNone {
			continue
		}
		if r.OlFlags != c.wantFlags || r.UFO != c.wantUFO || r.TSOSegsz != c.wantSeg || r.Partial != (c.f.Flags&VirtioFlagNeedsCsum != 0) {
			t.Errorf("%s: request %+v, want flags %#x ufo %v segsz %d", c.name, r, c.wantFlags, c.wantUFO, c.wantSeg)
		}
		// What virtio asked for is a request the decoder accepts.
		var b Batch
		DecodeFor(&r, c.frame, len(c.frame), 1500, tab, &b)
		if got, _ := b.Refused(); got != RefusalNone {
			t.Errorf("%s: decoder refuses the request: %v (layout %+v)", c.name, got, l)
		}
	}
}

func TestVirtioFromRx(t *testing.T) {
	f := pkt(t, true, false, 30000, false)
	l, _ := header.Parse(f)
	got := VirtioFromRx(&RxResult{Layout: l, Partial: true, SegSize: 1428, ECN: true})
	want := VirtioFields{Flags: VirtioFlagNeedsCsum, GSOType: VirtioGSOTCPv6 | VirtioGSOECN, HdrLen: uint16(l.PayloadOff()),
		GSOSize: 1428, CsumStart: uint16(l.L4Off()), CsumOffset: 16}
	if got != want {
		t.Errorf("%+v\nwant %+v", got, want)
	}
	// Decoding what we would hand the OS gives the request back.
	if r, _, ref := got.ToRequest(f); ref != RefusalNone || r.OlFlags&OlTxTCPSeg == 0 || r.TSOSegsz != 1428 {
		t.Errorf("round trip through ToRequest: %+v %v", r, ref)
	}
	if v := VirtioFromRx(&RxResult{Layout: l, ChecksumValid: true}); v.Flags != VirtioFlagDataValid || v.GSOType != 0 {
		t.Errorf("data valid: %+v", v)
	}
}

func FuzzVirtioToRequest(f *testing.F) {
	fr := pkt(f, false, false, 3000, false)
	f.Add(fr, uint8(VirtioFlagNeedsCsum), uint8(VirtioGSOTCPv4), uint16(1448), uint16(34), uint16(16))
	f.Fuzz(func(t *testing.T, frame []byte, flags, gso uint8, size, start, off uint16) {
		v := VirtioFields{Flags: flags, GSOType: gso, GSOSize: size, CsumStart: start, CsumOffset: off}
		r, l, ref := v.ToRequest(frame)
		if ref == RefusalNone && r.Partial && int(start)+int(off)+2 > l.PktLen {
			t.Fatal("accepted a checksum field outside the frame")
		}
	})
}

// TestVhostGuestTx: what a vhost-user port leaves to a guest follows the
// guest's features: nothing without guest_csum (a GSO frame's checksum is
// partial too), TSO per IP version, never UDP segmentation or UFO.
func TestVhostGuestTx(t *testing.T) {
	bit := func(bs ...int) uint64 {
		var f uint64
		for _, b := range bs {
			f |= 1 << b
		}
		return f
	}
	for _, c := range []struct {
		features uint64
		want     TxCaps
	}{
		{0, 0},
		{bit(VirtioFGuestTSO4, VirtioFGuestTSO6, VirtioFGuestUFO), 0},
		{bit(VirtioFGuestCsum), TxTCPCksum | TxUDPCksum},
		{bit(VirtioFGuestCsum, VirtioFGuestTSO4), TxTCPCksum | TxUDPCksum | TxTCPTSO},
		{bit(VirtioFGuestCsum, VirtioFGuestTSO6), TxTCPCksum | TxUDPCksum | TxTCPTSO6},
		{bit(VirtioFGuestCsum, VirtioFGuestTSO4, VirtioFGuestTSO6, VirtioFGuestUFO, VirtioFGuestUSO4, VirtioFGuestUSO6), TxTCPCksum | TxUDPCksum | TxTCPTSO | TxTCPTSO6},
	} {
		if got := VhostGuestTx(c.features); got != c.want {
			t.Errorf("features %v: left to the guest [%v], want [%v]", VirtioFeatureNames(c.features), got, c.want)
		}
		if got := VhostGuestTx(c.features); got&^VhostTaskCaps != 0 {
			t.Errorf("features %v: [%v] outside VhostTaskCaps", VirtioFeatureNames(c.features), got&^VhostTaskCaps)
		}
	}
	if got := VirtioFeatureNames(bit(VirtioFGuestCsum, VirtioFGuestTSO4, 63)); strings.Join(got, " ") != "guest_csum guest_tso4 bit 63" {
		t.Errorf("names: %v", got)
	}
}
