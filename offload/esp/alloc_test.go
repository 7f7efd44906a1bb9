package esp

import (
	"fmt"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// TestNoAllocs: prepare, process and finish allocate nothing, in both
// directions, for every algorithm, mode and sequence number size.
func TestNoAllocs(t *testing.T) {
	for _, alg := range Algorithms() {
		for _, mode := range []Mode{Tunnel, Transport} {
			for _, esn := range []bool{false, true} {
				r, out, _ := pair(t, alg, mode, true, esn)
				tab := r.Load()
				orig := frame(t, false, true, 700)
				p := inBuffer(orig, 128, 64)
				jobs := make([]Job, 1)
				pkts := make([][]byte, 1)
				var e GoEngine
				var why Reason
				allocs := testing.AllocsPerRun(200, func() {
					copy(p.Buf[128:], orig)
					p.Off, p.Len = 128, len(orig)
					if why = out.PrepareEncrypt(p, header.EthernetLen, &jobs[0]); why != OK {
						return
					}
					pkts[0] = p.Bytes()
					e.Process(jobs, pkts)
					if why = FinishEncrypt(&jobs[0]); why != OK {
						return
					}
					if why = tab.PrepareDecrypt(p, header.EthernetLen, &jobs[0]); why != OK {
						return
					}
					pkts[0] = p.Bytes()
					e.Process(jobs, pkts)
					why = FinishDecrypt(p, &jobs[0])
				})
				if why != OK || allocs != 0 {
					t.Errorf("%v %v esn=%v: %v, %v allocations per packet", alg, mode, esn, why, allocs)
				}
			}
		}
	}
}

// BenchmarkEncrypt is the whole TX path for one lcore (ESP header,
// sequence number, padding, outer IPv4 header, crypto by GoEngine) on
// bursts of 32 IPv4 packets of 64, 512 and 1500 bytes (the IP packet;
// bytes/s counts them). Each packet's L2 and inner IP headers are put
// back between rounds (34 bytes), the payload is encrypted again.
func BenchmarkEncrypt(b *testing.B) {
	for _, alg := range Algorithms() {
		for _, size := range []int{64, 512, 1500} {
			b.Run(fmt.Sprintf("%v/%d", alg, size), func(b *testing.B) { benchEncrypt(b, alg, size) })
		}
	}
}

const burst = 32

// benchBurst is a burst of the same IPv4 packet, each in a buffer of its
// own with room around it, for the encapsulation benchmarks.
type benchBurst struct {
	ps   []Packet
	orig []byte
}

const benchHead = 128

// encapBurst is an outbound tunnel SA of alg and a burst of size-byte
// packets (IP length) for it.
func encapBurst(b *testing.B, alg Algorithm, size int) (*SA, benchBurst) {
	_, out, _ := pair(b, alg, Tunnel, false, false)
	bb := benchBurst{ps: make([]Packet, burst), orig: frame(b, false, false, size-28)}
	for i := range bb.ps {
		bb.ps[i] = *inBuffer(bb.orig, benchHead, 64)
	}
	return out, bb
}

// rewind puts packet i back as it was before encapsulation (its L2 and
// inner IPv4 headers, 34 bytes, and its place) and returns it.
func (bb benchBurst) rewind(i int) *Packet {
	p := &bb.ps[i]
	const hdr = header.EthernetLen + header.IPv4MinLen
	copy(p.Buf[benchHead:benchHead+hdr], bb.orig[:hdr])
	p.Off, p.Len = benchHead, len(bb.orig)
	return p
}

func benchEncrypt(b *testing.B, alg Algorithm, size int) {
	out, ps := encapBurst(b, alg, size)
	jobs := make([]Job, burst)
	pkts := make([][]byte, burst)
	var e GoEngine
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += burst {
		k := min(burst, b.N-n)
		for i := range k {
			p := ps.rewind(i)
			if why := out.PrepareEncrypt(p, header.EthernetLen, &jobs[i]); why != OK {
				b.Fatal(why)
			}
			pkts[i] = p.Bytes()
		}
		e.Process(jobs[:k], pkts[:k])
		for i := range k {
			if why := FinishEncrypt(&jobs[i]); why != OK {
				b.Fatal(why)
			}
		}
	}
}

// BenchmarkDecrypt is the whole RX path on one packet at a time: the
// sealed frame is copied back before each decryption (a copy of the
// packet's size) and the replay window reset.
func BenchmarkDecrypt(b *testing.B) {
	for _, alg := range Algorithms() {
		for _, size := range []int{64, 512, 1500} {
			b.Run(fmt.Sprintf("%v/%d", alg, size), func(b *testing.B) {
				r, out, in := pair(b, alg, Tunnel, false, false)
				p := inBuffer(frame(b, false, false, size-28), 128, 64)
				encrypt(b, out, p, header.EthernetLen)
				sealed, off := append([]byte(nil), p.Bytes()...), p.Off
				tab := r.Load()
				jobs := make([]Job, 1)
				pkts := make([][]byte, 1)
				var e GoEngine
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					copy(p.Buf[off:], sealed)
					p.Off, p.Len = off, len(sealed)
					in.replay.top.Store(0)
					clear(in.replay.bits)
					if why := tab.PrepareDecrypt(p, header.EthernetLen, &jobs[0]); why != OK {
						b.Fatal(why)
					}
					pkts[0] = p.Bytes()
					e.Process(jobs, pkts)
					if why := FinishDecrypt(p, &jobs[0]); why != OK {
						b.Fatal(why)
					}
				}
			})
		}
	}
}
