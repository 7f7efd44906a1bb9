package digest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/offload/header"
)

// packet builds an Ethernet frame, IPv4 or IPv6, TCP or UDP, around
// payload, with room for tail more bytes in its capacity.
func packet(t testing.TB, v6, tcp bool, payload []byte, tail int) ([]byte, header.Layout) {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	var ip gopacket.NetworkLayer
	var ipl gopacket.SerializableLayer
	proto := layers.IPProtocolUDP
	if tcp {
		proto = layers.IPProtocolTCP
	}
	if v6 {
		eth.EthernetType = layers.EthernetTypeIPv6
		l := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::2")}
		ip, ipl = l, l
	} else {
		l := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		ip, ipl = l, l
	}
	var l4 gopacket.SerializableLayer
	if tcp {
		l := &layers.TCP{SrcPort: 1, DstPort: 2, Seq: 100, ACK: true, Window: 10}
		_ = l.SetNetworkLayerForChecksum(ip)
		l4 = l
	} else {
		l := &layers.UDP{SrcPort: 1, DstPort: 2}
		_ = l.SetNetworkLayerForChecksum(ip)
		l4 = l
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ipl, l4, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	l, m := header.Parse(buf.Bytes())
	if m != header.OK {
		t.Fatal(m)
	}
	f := make([]byte, l.PktLen, l.PktLen+tail)
	copy(f, buf.Bytes())
	return f, l
}

func unhex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors: RFC 4231 cases 1 to 7 for HMAC-SHA-256 (case 5 truncated
// to 128 bits as the RFC gives it), FIPS 180-2's "abc" for SHA-256, and
// the CRC32C check value of "123456789" (RFC 3720 §B.4 lists the CRC
// with its parameters), each as the payload of a UDP datagram and of a
// TCP segment.
func TestVectors(t *testing.T) {
	rep := func(b byte, n int) string { return strings.Repeat(string([]byte{b}), n) }
	cases := []struct {
		alg       Algorithm
		key, data string
		size      int
		want      string
	}{
		{HMACSHA256, rep(0x0b, 20), "Hi There", 0, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{HMACSHA256, "Jefe", "what do ya want for nothing?", 0, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{HMACSHA256, rep(0xaa, 20), rep(0xdd, 50), 0, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{HMACSHA256, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19", rep(0xcd, 50), 0,
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{HMACSHA256, rep(0x0c, 20), "Test With Truncation", 16, "a3b6167473100ee06e0c796c2955552b"},
		{HMACSHA256, rep(0xaa, 131), "Test Using Larger Than Block-Size Key - Hash Key First", 0,
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{HMACSHA256, rep(0xaa, 131), "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.", 0,
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
		{SHA256, "", "abc", 0, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{CRC32C, "", "123456789", 0, "e3069283"},
	}
	for i, c := range cases {
		cfg := Config{Alg: c.alg, Size: c.size}
		if c.key != "" {
			cfg.Key = esp.NewKey([]byte(c.key))
		}
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := unhex(t, c.want)
		for _, tcp := range []bool{false, true} {
			f, l := packet(t, tcp, tcp, []byte(c.data), 0)
			out := make([]byte, MaxSize)
			for range 2 { // the hash state is reused
				if why := d.Sum(f, &l, out); why != OK {
					t.Fatal(why)
				}
				if !bytes.Equal(out[:d.Size()], want) {
					t.Fatalf("case %d (%v) tcp=%v: %x, want %x", i+1, c.alg, tcp, out[:d.Size()], want)
				}
			}
			if why := d.Verify(f, &l, want); why != OK {
				t.Fatalf("case %d: Verify: %v", i+1, why)
			}
			bad := append([]byte(nil), want...)
			bad[len(bad)-1] ^= 1
			if why := d.Verify(f, &l, bad); why != Mismatch {
				t.Fatalf("case %d: Verify of a wrong digest: %v", i+1, why)
			}
		}
	}
}

// TestAppendStrip: Append leaves a valid packet (gopacket decodes it; the
// checksums verify; the lengths grew by Size) whose last Size payload
// bytes are the digest; VerifyStrip gives back the original packet.
func TestAppendStrip(t *testing.T) {
	for _, alg := range []Algorithm{HMACSHA256, SHA256, CRC32C} {
		cfg := Config{Alg: alg}
		if alg == HMACSHA256 {
			cfg.Key = esp.NewKey(bytes.Repeat([]byte{7}, 32))
		}
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, v6 := range []bool{false, true} {
			for _, tcp := range []bool{false, true} {
				for _, n := range []int{0, 1, 100, 1400} {
					payload := bytes.Repeat([]byte{byte(n), 3}, n)[:n]
					orig, l0 := packet(t, v6, tcp, payload, 0)
					f, l := packet(t, v6, tcp, payload, MaxSize)
					name := fmt.Sprintf("%v v6=%v tcp=%v n=%d", alg, v6, tcp, n)
					f, why := d.Append(f, &l, Full)
					if why != OK || len(f) != len(orig)+d.Size() || l.PktLen != len(f) {
						t.Fatalf("%s: Append: %v, %d bytes", name, why, len(f))
					}
					want := make([]byte, MaxSize)
					d.Sum(orig, &l0, want)
					if !bytes.Equal(f[len(orig):], want[:d.Size()]) {
						t.Fatalf("%s: appended %x, digest %x", name, f[len(orig):], want[:d.Size()])
					}
					checkValid(t, name, f, n+d.Size())
					f, why = d.VerifyStrip(f, &l, Full)
					if why != OK || !bytes.Equal(f, orig) {
						t.Fatalf("%s: VerifyStrip: %v\n got %x\nwant %x", name, why, f, orig)
					}
				}
			}
		}
	}
}

// checkValid decodes f with gopacket and checks its lengths and
// checksums.
func checkValid(t *testing.T, name string, f []byte, payload int) {
	t.Helper()
	pk := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
	if el := pk.ErrorLayer(); el != nil {
		t.Fatalf("%s: gopacket: %v", name, el.Error())
	}
	if app := pk.ApplicationLayer(); payload > 0 && (app == nil || len(app.Payload()) != payload) {
		t.Fatalf("%s: gopacket payload %v, want %d bytes", name, app, payload)
	}
	l, m := header.Parse(f)
	if m != header.OK || l.PktLen != len(f) {
		t.Fatalf("%s: parse %v, length %d of %d", name, m, l.PktLen, len(f))
	}
	if l.L3 == header.L3IPv4 && checksum.VerifyIPv4(header.IPv4(f[l.L3Off():])) != checksum.Good {
		t.Fatalf("%s: IPv4 checksum", name)
	}
	if s := checksum.VerifyL4([][]byte{f}, &l); s != checksum.Good {
		t.Fatalf("%s: L4 checksum %v", name, s)
	}
}

// TestPseudo: in Pseudo mode the checksum is left for the NIC: IPv4 0 and
// the pseudo-header sum of the new length.
func TestPseudo(t *testing.T) {
	d, _ := New(Config{Alg: CRC32C})
	f, l := packet(t, false, true, []byte("offload me"), 4)
	f, why := d.Append(f, &l, Pseudo)
	if why != OK {
		t.Fatal(why)
	}
	if header.IPv4(f[l.L3Off():]).Checksum() != 0 {
		t.Fatal("IPv4 checksum not left to the NIC")
	}
	want := checksum.Pseudo(f, &l, l.PktLen-l.L4Off())
	if got := header.TCP(f[l.L4Off():]).Checksum(); got != want {
		t.Fatalf("pseudo-header sum %#x, want %#x", got, want)
	}
	// Completing it gives a valid checksum.
	checksum.Complete([][]byte{f}, l.L4Off(), header.TCPChecksumOff, l.PktLen)
	checksum.SetIPv4(header.IPv4(f[l.L3Off():]))
	checkValid(t, "pseudo", f, len("offload me")+4)
}

// TestUDPNoChecksum: an IPv4 UDP datagram sent without a checksum keeps
// none.
func TestUDPNoChecksum(t *testing.T) {
	d, _ := New(Config{Alg: SHA256, Size: 20})
	f, l := packet(t, false, false, []byte("no checksum"), 20)
	header.UDP(f[l.L4Off():]).SetChecksum(0)
	f, why := d.Append(f, &l, Full)
	if why != OK || header.UDP(f[l.L4Off():]).Checksum() != 0 || header.UDP(f[l.L4Off():]).Length() != 8+11+20 {
		t.Fatalf("%v %x", why, f[l.L4Off():l.L4Off()+8])
	}
}

// TestRefused: a test per reason.
func TestRefused(t *testing.T) {
	d, _ := New(Config{Alg: HMACSHA256, Key: esp.NewKey([]byte("k")), Size: 16})
	f, l := packet(t, false, false, []byte("payload"), 64)

	// Tampered payload and tampered digest.
	g, gl := append(make([]byte, 0, len(f)+16), f...), l
	if g, _ = d.Append(g, &gl, Full); len(g) != len(f)+16 {
		t.Fatal("not appended")
	}
	for _, at := range []int{gl.PayloadOff(), len(g) - 1} {
		h, hl := append([]byte(nil), g...), gl
		h[at] ^= 4
		if _, why := d.VerifyStrip(h, &hl, Full); why != Mismatch || hl.PktLen != gl.PktLen {
			t.Errorf("byte %d changed: %v", at, why)
		}
	}
	// Too short to hold a digest.
	if _, why := d.VerifyStrip(f, &l, Full); why != Short {
		t.Errorf("short: %v", why)
	}
	// No tailroom.
	if _, why := d.Append(f[:len(f):len(f)+15], &l, Full); why != NoTailroom {
		t.Errorf("tailroom: %v", why)
	}
	// Output too small.
	if why := d.Sum(f, &l, make([]byte, 15)); why != OutputShort {
		t.Errorf("output: %v", why)
	}
	// A fragment.
	fl := l
	fl.Fragment = true
	if why := d.Sum(f, &fl, make([]byte, 16)); why != Fragment {
		t.Errorf("fragment: %v", why)
	}
	// Not IP.
	if why := d.Sum(f, &header.Layout{}, make([]byte, 16)); why != NotIP {
		t.Errorf("not IP: %v", why)
	}
	// A layout longer than the frame.
	bl := l
	bl.PktLen += 100
	if why := d.Sum(f, &bl, make([]byte, 16)); why != Malformed {
		t.Errorf("malformed: %v", why)
	}
	// ICMP: a digest can be computed, not appended.
	il := l
	il.L4Proto, il.L4Len = header.ProtoICMP, 0
	if why := d.Sum(f, &il, make([]byte, 16)); why != OK {
		t.Errorf("ICMP sum: %v", why)
	}
	if _, why := d.Append(f, &il, Full); why != NotL4 {
		t.Errorf("ICMP append: %v", why)
	}
	// Past 64 KiB.
	big, bigl := packet(t, false, false, make([]byte, 65535-28), 32)
	if _, why := d.Append(big, &bigl, Full); why != TooBig {
		t.Errorf("too big: %v", why)
	}
	for _, r := range Reasons() {
		if !strings.HasPrefix(r.String(), "digest-") || r.String() == "digest-unknown" {
			t.Errorf("reason %d: %q", r, r)
		}
	}
}

// TestConfig: errors name what is wrong; keys are never printed.
func TestConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no algorithm"},
		{Config{Alg: HMACSHA256}, "no key"},
		{Config{Alg: SHA256, Key: esp.NewKey([]byte("x"))}, "takes no key"},
		{Config{Alg: CRC32C, Size: 2}, "size 2: from 4 to 4"},
		{Config{Alg: SHA256, Size: 8}, "size 8: from 16 to 32"},
		{Config{Alg: SHA256, Size: 33}, "size 33"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	cfg := Config{Alg: HMACSHA256, Key: esp.NewKey([]byte("secret-digest-key"))}
	d, _ := New(cfg)
	j, _ := json.Marshal(cfg)
	s := fmt.Sprintf("%v %+v %#v %s %x", cfg, cfg, cfg, d, d) + string(j)
	if strings.Contains(s, "secret") || strings.Contains(s, hex.EncodeToString([]byte("secret"))) {
		t.Fatalf("key printed: %s", s)
	}
	var back Config
	if err := json.Unmarshal([]byte(`{"alg":"crc32c"}`), &back); err != nil || back.Alg != CRC32C {
		t.Fatal(back, err)
	}
}

// TestNoAllocs: Sum, Verify, Append and VerifyStrip allocate nothing.
func TestNoAllocs(t *testing.T) {
	for _, alg := range []Algorithm{HMACSHA256, SHA256, CRC32C} {
		d, _ := New(Config{Alg: alg, Key: map[bool]esp.Key{true: esp.NewKey([]byte("0123456789abcdef0123456789abcdef"))}[alg == HMACSHA256]})
		f, l := packet(t, true, true, make([]byte, 600), MaxSize)
		out := make([]byte, MaxSize)
		var why Reason
		allocs := testing.AllocsPerRun(100, func() {
			if why = d.Sum(f, &l, out); why != OK {
				return
			}
			if why = d.Verify(f, &l, out[:d.Size()]); why != OK {
				return
			}
			if f, why = d.Append(f, &l, Full); why != OK {
				return
			}
			f, why = d.VerifyStrip(f, &l, Full)
		})
		if why != OK || allocs != 0 {
			t.Errorf("%v: %v, %v allocations", alg, why, allocs)
		}
	}
}

// BenchmarkSum digests a 1400-byte payload.
func BenchmarkSum(b *testing.B) {
	for _, alg := range []Algorithm{HMACSHA256, SHA256, CRC32C} {
		b.Run(alg.String(), func(b *testing.B) {
			cfg := Config{Alg: alg}
			if alg == HMACSHA256 {
				cfg.Key = esp.NewKey(make([]byte, 32))
			}
			d, _ := New(cfg)
			f, l := packet(b, false, false, make([]byte, 1400), 0)
			out := make([]byte, MaxSize)
			b.SetBytes(1400)
			b.ReportAllocs()
			for range b.N {
				d.Sum(f, &l, out)
			}
		})
	}
}
