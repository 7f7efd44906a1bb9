package esp

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/offloadpmd/offloadpmd/offload/header"
)

// TestEncapFastPathMatches: encapTunnel4 (tunnel, IPv4 outside, Ethernet
// and IPv4 inside) leaves exactly what the general path leaves, frame,
// job, refusal and sequence counter, for every algorithm, DF policy and
// sequence number size, on good packets and on each refusal it can make.
func TestEncapFastPathMatches(t *testing.T) {
	type mod struct {
		name string
		f    func(p *Packet) // changes the packet (after framing into the buffer)
		head int
		tail int
		seq  uint64 // the SA's counter before
	}
	mods := []mod{
		{name: "ok", head: 64, tail: 64},
		{name: "tight", head: 20 + HeaderLen + MaxIVLen, tail: 15 + TrailerLen + ICVLen + esnHiLen},
		{name: "no-headroom", head: 20 + HeaderLen + 7, tail: 64},
		{name: "no-tailroom", head: 64, tail: 3 + ICVLen},
		{name: "l2-padding", head: 64, tail: 64, f: func(p *Packet) { p.Len += 6 }},
		{name: "short-total", head: 64, tail: 64, f: func(p *Packet) { be.PutUint16(p.Buf[p.Off+16:], 19) }},
		{name: "long-total", head: 64, tail: 64, f: func(p *Packet) {
			be.PutUint16(p.Buf[p.Off+16:], uint16(p.Len-header.EthernetLen+1))
		}},
		{name: "header-only", head: 64, tail: 64, f: func(p *Packet) {
			be.PutUint16(p.Buf[p.Off+16:], 20)
			p.Len = header.EthernetLen + 20
		}},
		{name: "tos-df", head: 64, tail: 64, f: func(p *Packet) {
			p.Buf[p.Off+15] = 0xb9
			be.PutUint16(p.Buf[p.Off+20:], 0)
		}},
		{name: "last-seq", head: 64, tail: 64, seq: math.MaxUint32 - 1},
		{name: "seq-overflow", head: 64, tail: 64, seq: math.MaxUint32},
		{name: "esn-high", head: 64, tail: 64, seq: 1<<40 + 12345},
	}
	for _, alg := range Algorithms() {
		for _, esn := range []bool{false, true} {
			for _, df := range []DFPolicy{DFCopy, DFSet, DFClear} {
				oc, _ := pairConfig(alg, Tunnel, false, esn)
				oc.DF = df
				var r Registry
				sa, err := r.Add(oc)
				if err != nil {
					t.Fatal(err)
				}
				if !sa.fast4 {
					t.Fatalf("%v: an IPv4 tunnel SA without the fast path", alg)
				}
				for _, size := range []int{0, 1, 2, 3, 17, 200, 1472} {
					orig := frame(t, false, false, size)
					for _, m := range mods {
						if m.name == "esn-high" && !esn {
							continue
						}
						for _, block := range []bool{false, true} {
							name := fmt.Sprintf("%v/esn=%v/df=%v/%d/%s/block=%v", alg, esn, df, size, m.name, block)
							run := func(fast bool) (*Packet, Job, Reason, uint64) {
								p := inBuffer(orig, m.head, m.tail)
								if m.f != nil {
									m.f(p)
								}
								sa.seq.Store(m.seq)
								sa.fast4 = fast
								defer func() { sa.fast4 = true }()
								var seqs *SeqBlock
								if block {
									seqs = &SeqBlock{}
								}
								var j Job
								why := sa.PrepareEncryptSeq(p, header.EthernetLen, &j, seqs)
								if seqs != nil {
									seqs.Release()
								}
								return p, j, why, sa.seq.Load()
							}
							gp, gj, gwhy, gseq := run(false)
							fp, fj, fwhy, fseq := run(true)
							if fwhy != gwhy || fseq != gseq || fp.Off != gp.Off || fp.Len != gp.Len {
								t.Errorf("%s: fast %v seq %d at %d+%d, general %v seq %d at %d+%d",
									name, fwhy, fseq, fp.Off, fp.Len, gwhy, gseq, gp.Off, gp.Len)
								continue
							}
							if !bytes.Equal(fp.Buf, gp.Buf) {
								t.Errorf("%s: buffers differ\nfast    % x\ngeneral % x", name, fp.Buf, gp.Buf)
							}
							if fj != gj {
								t.Errorf("%s: jobs differ\nfast    %+v\ngeneral %+v", name, fj, gj)
							}
						}
					}
				}
			}
		}
	}
}
