package esp

import (
	"fmt"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// sealed returns an ESP frame of a UDP packet with n payload bytes made by
// out, and the table with its inbound twin.
func sealed(t *testing.T, alg Algorithm, mode Mode, esn bool, n int) (*Table, *SA, *SA, []byte) {
	t.Helper()
	r, out, in := pair(t, alg, mode, false, esn)
	p := inBuffer(frame(t, false, false, n), 128, 64)
	encrypt(t, out, p, header.EthernetLen)
	return r.Load(), out, in, append([]byte(nil), p.Bytes()...)
}

// decryptFrame decrypts a copy of f and returns the reason.
func decryptFrame(tab *Table, f []byte) Reason {
	why, _ := decrypt(tab, inBuffer(f, 64, 64), header.EthernetLen, nil)
	return why
}

// TestBadICV: a changed bit anywhere in the authenticated bytes or the ICV
// is caught, and the window is not moved by a forged packet.
func TestBadICV(t *testing.T) {
	for _, alg := range Algorithms() {
		tab, _, in, f := sealed(t, alg, Tunnel, false, 50)
		esp := header.EthernetLen + header.IPv4MinLen
		for _, at := range []int{esp + 4, esp + HeaderLen, esp + HeaderLen + alg.IVLen() + 3, len(f) - ICVLen, len(f) - 1} {
			g := append([]byte(nil), f...)
			g[at] ^= 0x10
			if why := decryptFrame(tab, g); why != BadICV {
				t.Errorf("%v: bit flipped at %d: %v, want %v", alg, at, why, BadICV)
			}
		}
		if in.replay.top.Load() != 0 {
			t.Errorf("%v: forged packets moved the window to %d", alg, in.replay.top.Load())
		}
		if why := decryptFrame(tab, f); why != OK {
			t.Errorf("%v: the genuine packet after forgeries: %v", alg, why)
		}
	}
}

// TestReplay: duplicates and packets left of the window are refused, at
// the window's edges, for windows of 64 and 4096 packets.
func TestReplay(t *testing.T) {
	for _, w := range []int{DefaultReplayWindow, MaxReplayWindow} {
		oc, ic := pairConfig(AESGCM128, Transport, false, false)
		ic.ReplayWindow = w
		var r Registry
		out, _ := r.Add(oc)
		if _, err := r.Add(ic); err != nil {
			t.Fatal(err)
		}
		// Packets with sequence numbers 1 .. w+10, kept.
		frames := make(map[uint64][]byte)
		for s := uint64(1); s <= uint64(w)+10; s++ {
			p := inBuffer(frame(t, false, false, 8), 64, 64)
			encrypt(t, out, p, header.EthernetLen)
			frames[s] = append([]byte(nil), p.Bytes()...)
		}
		tab := r.Load()
		top := uint64(w) + 10
		steps := []struct {
			seq  uint64
			want Reason
		}{
			{top, OK},
			{top, ReplayDuplicate},
			{top - uint64(w) + 1, OK}, // the oldest the window holds
			{top - uint64(w) + 1, ReplayDuplicate},
			{top - uint64(w), ReplayOld}, // just left of it
			{1, ReplayOld},
			{top - 1, OK},
			{top - 1, ReplayDuplicate},
		}
		for _, s := range steps {
			if why := decryptFrame(tab, frames[s.seq]); why != s.want {
				t.Errorf("window %d: seq %d: %v, want %v", w, s.seq, why, s.want)
			}
		}
	}
}

// TestReplayBurst: two copies of a packet in one burst both pass
// PrepareDecrypt (the window is not updated before the ICV check) and the
// second is refused by FinishDecrypt.
func TestReplayBurst(t *testing.T) {
	tab, _, _, f := sealed(t, AESGCM128, Tunnel, false, 20)
	ps := []*Packet{inBuffer(f, 64, 64), inBuffer(f, 64, 64)}
	jobs := make([]Job, 2)
	for i, p := range ps {
		if why := tab.PrepareDecrypt(p, header.EthernetLen, &jobs[i]); why != OK {
			t.Fatal(why)
		}
	}
	var e GoEngine
	e.Process(jobs, [][]byte{ps[0].Bytes(), ps[1].Bytes()})
	if why := FinishDecrypt(ps[0], &jobs[0]); why != OK {
		t.Fatal(why)
	}
	if why := FinishDecrypt(ps[1], &jobs[1]); why != ReplayDuplicate {
		t.Fatalf("second copy: %v", why)
	}
}

// TestESNWrap: with extended sequence numbers the low 32 bits wrap and
// packets on both sides of the wrap, in and out of order, are accepted
// once; the high bits are inferred (RFC 4303 Appendix A2).
func TestESNWrap(t *testing.T) {
	r, out, in := pair(t, AESCBC128SHA256, Tunnel, true, true)
	const start = 1<<32 - 5
	out.seq.Store(start)
	in.replay.top.Store(start)
	frames := make(map[uint64][]byte)
	for s := uint64(start + 1); s <= start+10; s++ {
		p := inBuffer(frame(t, true, true, 40), 128, 64)
		encrypt(t, out, p, header.EthernetLen)
		frames[s] = append([]byte(nil), p.Bytes()...)
	}
	tab := r.Load()
	for _, s := range []struct {
		seq  uint64
		want Reason
	}{
		{start + 2, OK},
		{start + 7, OK}, // 1<<32 + 2: the low bits wrapped
		{start + 4, OK}, // 0xffffffff: from before the wrap
		{start + 5, OK}, // 1<<32
		{start + 4, ReplayDuplicate},
		{start + 7, ReplayDuplicate},
		{start + 10, OK},
		{start + 1, OK},
	} {
		why, j := decrypt(tab, inBuffer(frames[s.seq], 64, 64), header.EthernetLen, nil)
		if why != s.want {
			t.Errorf("seq %#x: %v, want %v", s.seq, why, s.want)
		}
		if why == OK && j.Seq != s.seq {
			t.Errorf("seq %#x inferred as %#x", s.seq, j.Seq)
		}
	}
	if in.replay.top.Load() != start+10 {
		t.Errorf("top %#x", in.replay.top.Load())
	}
}

// TestSeqOverflow: without ESN the 2^32-1st packet is the last; with ESN
// the 2^64-1st. Neither wraps.
func TestSeqOverflow(t *testing.T) {
	for _, c := range []struct {
		esn  bool
		last uint64
	}{{false, 1<<32 - 1}, {true, 1<<64 - 1}} {
		_, out, _ := pair(t, AESGCM128, Transport, false, c.esn)
		out.seq.Store(c.last - 1)
		f := frame(t, false, false, 10)
		var j Job
		if why := out.PrepareEncrypt(inBuffer(f, 64, 64), header.EthernetLen, &j); why != OK || j.Seq != c.last {
			t.Fatalf("esn %v: last packet: %v seq %#x", c.esn, why, j.Seq)
		}
		for range 2 {
			if why := out.PrepareEncrypt(inBuffer(f, 64, 64), header.EthernetLen, &j); why != SeqOverflow {
				t.Fatalf("esn %v: after the last: %v", c.esn, why)
			}
		}
	}
}

// TestTruncated: ESP packets cut short (IP length fixed to match) are
// refused before any crypto.
func TestTruncated(t *testing.T) {
	tab, _, _, f := sealed(t, AESGCM128, Transport, false, 0)
	ipOff := header.EthernetLen
	espOff := ipOff + header.IPv4MinLen
	for _, n := range []int{0, 4, HeaderLen, HeaderLen + 8, HeaderLen + 8 + ICVLen, HeaderLen + 8 + ICVLen + 1} {
		g := append([]byte(nil), f[:espOff+n]...)
		ip := header.IPv4(g[ipOff:])
		ip.SetTotalLen(uint16(header.IPv4MinLen + n))
		checksum.SetIPv4(ip)
		if why := decryptFrame(tab, g); why != Truncated {
			t.Errorf("%d ESP bytes: %v, want %v", n, why, Truncated)
		}
	}
	// Shorter than its IP header says.
	if why := decryptFrame(tab, f[:len(f)-1]); why != Malformed {
		t.Errorf("frame shorter than IP length: %v", why)
	}
	// Not a whole number of blocks.
	tab, _, _, f = sealed(t, AESCBC128SHA256, Transport, false, 20)
	g := append(append([]byte(nil), f...), make([]byte, 4)...)
	ip := header.IPv4(g[ipOff:])
	ip.SetTotalLen(ip.TotalLen() + 4)
	if why := decryptFrame(tab, g); why != BadLength {
		t.Errorf("CBC ciphertext of 4 more bytes: %v", why)
	}
}

// TestUnknownSPI: a packet for no SA, or for an SA of another
// destination, is refused.
func TestUnknownSPI(t *testing.T) {
	tab, _, _, f := sealed(t, AESGCM128, Tunnel, false, 20)
	espOff := header.EthernetLen + header.IPv4MinLen
	g := append([]byte(nil), f...)
	be.PutUint32(g[espOff:], 0x9999)
	if why := decryptFrame(tab, g); why != UnknownSPI {
		t.Errorf("spi 0x9999: %v", why)
	}
	g = append([]byte(nil), f...)
	g[espOff-1]++ // outer destination 192.0.2.3: the SA is for .2
	checksum.SetIPv4(header.IPv4(g[header.EthernetLen:]))
	if why := decryptFrame(tab, g); why != UnknownSPI {
		t.Errorf("other destination: %v", why)
	}
}

// authentic encrypts a transport-mode packet after letting edit change
// the plaintext trailer (its last bytes before the ICV) before the crypto,
// so that the receiver authenticates and decrypts a trailer the sender
// wrote wrong.
func authentic(t *testing.T, alg Algorithm, mode Mode, n int, edit func(trailer []byte)) (*Table, []byte) {
	r, out, _ := pair(t, alg, mode, false, false)
	p := inBuffer(frame(t, false, false, n), 128, 64)
	var j [1]Job
	if why := out.PrepareEncrypt(p, header.EthernetLen, &j[0]); why != OK {
		t.Fatal(why)
	}
	edit(p.Bytes()[j[0].CipherOff:j[0].ICVOff])
	var e GoEngine
	e.Process(j[:], [][]byte{p.Bytes()})
	return r.Load(), append([]byte(nil), p.Bytes()...)
}

// TestBadTrailer: authentic packets with a bad pad length, bad padding
// bytes, a dummy next header, or a tunnel carrying no IP packet.
func TestBadTrailer(t *testing.T) {
	for _, alg := range Algorithms() {
		cases := []struct {
			name string
			mode Mode
			n    int
			edit func(b []byte)
			want Reason
		}{
			{"pad length past the payload", Transport, 10, func(b []byte) { b[len(b)-2] = byte(len(b) - 1) }, BadPadLength},
			{"pad length 255", Transport, 1, func(b []byte) { b[len(b)-2] = 255 }, BadPadLength},
			{"padding not 1, 2, 3", Transport, 13, func(b []byte) {
				b[len(b)-2] = 4
				copy(b[len(b)-6:], []byte{1, 2, 4, 3})
			}, BadPadding},
			{"dummy packet", Transport, 10, func(b []byte) { b[len(b)-1] = header.ProtoNoNext }, Dummy},
			{"tunnel of a UDP datagram", Tunnel, 10, func(b []byte) { b[len(b)-1] = header.ProtoUDP }, BadNextHeader},
			{"tunnel: next header IPv6, inner IPv4", Tunnel, 10, func(b []byte) { b[len(b)-1] = protoIPv6 }, BadInner},
			{"tunnel: inner length past the payload", Tunnel, 10, func(b []byte) { b[3] += 20 }, BadInner},
		}
		for _, c := range cases {
			tab, f := authentic(t, alg, c.mode, c.n, c.edit)
			if why := decryptFrame(tab, f); why != c.want {
				t.Errorf("%v: %s: %v, want %v", alg, c.name, why, c.want)
			}
		}
	}
}

// TestRefusedTX: packets the encapsulation cannot take.
func TestRefusedTX(t *testing.T) {
	_, out4, in := pair(t, AESGCM128, Transport, false, false)
	_, tun, _ := pair(t, AESGCM128, Tunnel, false, false)
	oc, _ := pairConfig(AESCBC128SHA256, Transport, false, false)
	oc.Src, oc.Dst = addr6a, addr6b
	var r Registry
	out6, err := r.Add(oc)
	if err != nil {
		t.Fatal(err)
	}
	f4 := frame(t, false, false, 30)
	f6 := frame(t, true, false, 30)
	frag := append([]byte(nil), f4...)
	header.IPv4(frag[header.EthernetLen:]).SetFlagsFragOffset(header.IPv4FlagMF, 0)
	ext := append([]byte(nil), f6...)
	header.IPv6(ext[header.EthernetLen:]).SetNextHeader(header.ProtoHopByHop)
	arp := append([]byte(nil), f4...)
	arp[header.EthernetLen] = 0x15
	big := frame(t, false, false, 65535-20-8)

	cases := []struct {
		name       string
		sa         *SA
		f          []byte
		head, tail int
		want       Reason
	}{
		{"no SA", nil, f4, 64, 64, NoSA},
		{"inbound SA", in, f4, 64, 64, WrongDirection},
		{"not IP", out4, arp, 64, 64, NotIP},
		{"short IP header", out4, f4[:header.EthernetLen+10], 64, 64, Malformed},
		{"transport of a fragment", out4, frag, 64, 64, Fragment},
		{"transport with a hop-by-hop header", out4, ext, 64, 64, ExtHeaders},
		{"IPv4 into an IPv6 transport SA", out6, f4, 64, 64, FamilyMismatch},
		{"headroom", tun, f4, tun.Headroom() - 1, 64, NoHeadroom},
		{"tailroom", out4, f4, 64, 0, NoTailroom},
		{"over 64 KiB", out4, big, 64, 64, TooBig},
	}
	for _, c := range cases {
		before := uint64(0)
		if c.sa != nil {
			before = c.sa.seq.Load()
		}
		p := inBuffer(c.f, c.head, c.tail)
		var j Job
		if why := c.sa.PrepareEncrypt(p, header.EthernetLen, &j); why != c.want {
			t.Errorf("%s: %v, want %v", c.name, why, c.want)
		}
		if c.sa != nil && c.sa.seq.Load() != before {
			t.Errorf("%s: a refusal used a sequence number", c.name)
		}
		mustEqual(t, c.name+": packet untouched", p.Bytes(), c.f)
	}
	// Exactly enough room is enough: the 58-byte inner packet and its
	// trailer make 60 bytes, a multiple of 4, so no padding.
	var j Job
	if why := tun.PrepareEncrypt(inBuffer(f4, tun.Headroom(), TrailerLen+ICVLen-1), header.EthernetLen, &j); why != NoTailroom {
		t.Errorf("one byte short: %v", why)
	}
	if why := tun.PrepareEncrypt(inBuffer(f4, tun.Headroom(), TrailerLen+ICVLen), header.EthernetLen, &j); why != OK {
		t.Errorf("exact room: %v", why)
	}
}

// TestRefusedRX: frames that are not ESP packets we can decrypt.
func TestRefusedRX(t *testing.T) {
	tab, _, _, f := sealed(t, AESGCM128, Tunnel, false, 20)
	plain := frame(t, false, false, 20)
	frag := append([]byte(nil), f...)
	header.IPv4(frag[header.EthernetLen:]).SetFlagsFragOffset(header.IPv4FlagMF, 0)
	for _, c := range []struct {
		name string
		f    []byte
		want Reason
	}{
		{"UDP", plain, NotESP},
		{"fragment", frag, Fragment},
		{"empty", f[:header.EthernetLen], NotIP},
	} {
		if why := decryptFrame(tab, c.f); why != c.want {
			t.Errorf("%s: %v, want %v", c.name, why, c.want)
		}
	}
	// Finish without the engine.
	p := inBuffer(f, 64, 64)
	var j Job
	if why := tab.PrepareDecrypt(p, header.EthernetLen, &j); why != OK {
		t.Fatal(why)
	}
	if why := FinishDecrypt(p, &j); why != Unprocessed {
		t.Errorf("unprocessed job: %v", why)
	}
}

// TestReasonNames: every reason has a distinct esp- name.
func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		n := r.String()
		if n == "" || n == "esp-unknown" || seen[n] || n[:4] != "esp-" {
			t.Errorf("reason %d: name %q", r, n)
		}
		seen[n] = true
	}
	if fmt.Sprint(numReasons) != "esp-unknown" {
		t.Error("out of range reason")
	}
}
