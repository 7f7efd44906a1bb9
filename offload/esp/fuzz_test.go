package esp

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// fuzzSAs are the outbound and inbound SAs FuzzDecap decrypts with: each
// algorithm, both modes, both outer IP versions, with and without ESN.
func fuzzSAs(t testing.TB) (*Registry, []*SA) {
	var r Registry
	var outs []*SA
	for i, alg := range Algorithms() {
		for j, mode := range []Mode{Tunnel, Transport} {
			oc, ic := pairConfig(alg, mode, i%2 == 1, j == 1)
			oc.SPI, ic.SPI = uint32(0x1000+2*i+j), uint32(0x1000+2*i+j)
			out, err := r.Add(oc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Add(ic); err != nil {
				t.Fatal(err)
			}
			outs = append(outs, out)
		}
	}
	return &r, outs
}

// fuzzHead is the headroom around fuzzed frames.
const fuzzHead = 64

// FuzzDecap decapsulates arbitrary input two ways, chosen by sel's low
// bit:
//
//   - raw: data is the received frame (with an Ethernet header if sel&2,
//     else a bare IP packet), checked against SAs of every kind;
//   - authentic: data is the plaintext an SA's sender encrypted (payload,
//     padding and trailer as the sender wrote them; sel>>2 picks the SA),
//     so the ICV holds and the trailer and inner-packet checks see
//     arbitrary bytes.
//
// Either way nothing may panic, and an accepted packet must lie in its
// buffer, parse as IP, and (authentic) be what was encrypted.
func FuzzDecap(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.data, s.sel)
	}
	r, outs := fuzzSAs(f)
	tab := r.Load()
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		// Fresh sequence numbers and windows, as new SAs would have.
		for _, sa := range tab.All(nil) {
			sa.seq.Store(0)
			sa.replay.top.Store(0)
			clear(sa.replay.bits)
		}
		l2 := 0
		var p *Packet
		if sel&1 == 0 {
			if sel&2 != 0 {
				l2 = header.EthernetLen
			}
			p = inBuffer(data, fuzzHead, fuzzHead)
		} else {
			out := outs[int(sel>>2)%len(outs)]
			p = inBuffer(frame(t, sel&2 != 0, false, min(len(data), 3000)), fuzzHead, fuzzHead)
			l2 = header.EthernetLen
			var j [1]Job
			if why := out.PrepareEncrypt(p, l2, &j[0]); why != OK {
				return // an IPv6 packet for an IPv4 transport SA, too big
			}
			// The sender's plaintext, as the fuzzer has it.
			ct := p.Bytes()[j[0].CipherOff:j[0].ICVOff]
			for i := range ct {
				if len(data) > 0 {
					ct[i] = data[i%len(data)]
				}
			}
			var e GoEngine
			e.Process(j[:], [][]byte{p.Bytes()})
		}
		bufLen := len(p.Buf)
		why, j := decrypt(tab, p, l2, nil)
		if why >= numReasons {
			t.Fatalf("reason %d", why)
		}
		if sel&1 == 1 && (why == BadICV || why == UnknownSPI || why == Truncated) {
			t.Fatalf("authentic packet refused: %v", why)
		}
		if why != OK {
			return
		}
		if p.Off < 0 || p.Off+p.Len > bufLen || p.Len < l2 {
			t.Fatalf("packet [%d, +%d) outside its %d-byte buffer", p.Off, p.Len, bufLen)
		}
		l, m := header.Parse(p.Bytes())
		if l2 == 0 {
			// A bare IP packet: Parse wants Ethernet, so check the IP
			// version against the trailer instead.
			if p.Len == 0 || (p.Bytes()[0]>>4 != 4 && p.Bytes()[0]>>4 != 6) {
				t.Fatalf("decapsulated %x is not IP (next header %d)", p.Bytes(), j.NextHeader)
			}
			return
		}
		switch m {
		case header.ShortL2, header.ShortIPv4, header.BadIPv4Version, header.BadIPv4IHL, header.BadIPv4TotalLen,
			header.ShortIPv6, header.BadIPv6Version, header.BadIPv6PayloadLen:
			// The IP header must be sound; what follows it is whatever
			// the sender wrote.
			t.Fatalf("decapsulated frame does not parse: %v: %x", m, p.Bytes())
		}
		if l.PktLen != p.Len {
			t.Fatalf("IP length says %d bytes, frame has %d", l.PktLen, p.Len)
		}
	})
}

type fuzzSeed struct {
	data []byte
	sel  uint8
}

// fuzzSeeds are genuine ESP frames of every SA (raw, with and without
// Ethernet), some cut or changed, and authentic plaintexts with good and
// bad trailers.
func fuzzSeeds(t testing.TB) []fuzzSeed {
	_, outs := fuzzSAs(t)
	var seeds []fuzzSeed
	for i, out := range outs {
		for _, v6 := range []bool{false, true} {
			p := inBuffer(frame(t, v6, i%2 == 0, 3+i*7), 128, 64)
			var j [1]Job
			if out.PrepareEncrypt(p, header.EthernetLen, &j[0]) != OK {
				continue
			}
			var e GoEngine
			e.Process(j[:], [][]byte{p.Bytes()})
			f := append([]byte(nil), p.Bytes()...)
			seeds = append(seeds, fuzzSeed{f, 2}, fuzzSeed{f[header.EthernetLen:], 0}, fuzzSeed{f[:len(f)-5], 2})
		}
		seeds = append(seeds,
			fuzzSeed{[]byte{1, 2, 2, 17}, uint8(i<<2 | 1)},                               // a good trailer
			fuzzSeed{[]byte{0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6, 0xfe, 4}, uint8(i<<2 | 3)}, // bad pad length
			fuzzSeed{[]byte{0x60, 0, 0, 0, 0, 0, 59, 64, 1, 41}, uint8(i<<2 | 1)},        // an IPv6 inner header, cut
		)
	}
	return seeds
}

var writeSeeds = flag.Bool("esp.write-fuzz-seeds", false, "write FuzzDecap's seeds to testdata/fuzz/FuzzDecap")

// TestWriteFuzzSeeds writes the seeds as a corpus when asked
// (go test -run WriteFuzzSeeds -esp.write-fuzz-seeds), so that
// `go test` runs them from testdata as well.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeSeeds {
		t.Skip("only with -esp.write-fuzz-seeds")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecap")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nbyte(%s)\n", strconv.Quote(string(s.data)), strconv.QuoteRune(rune(s.sel)))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
