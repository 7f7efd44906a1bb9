package pipeline

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/checksum"
	"github.com/offloadpmd/offloadpmd/offload/header"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// guestPort starts a net_vhost port (its table enabling every checksum and
// segmentation, nothing left to a guest yet) and a virtio_user guest on
// it in this process, whose RX enables LRO and the checksums if offloads
// is set and nothing otherwise; a GuestWatch (stopped at cleanup) rebases
// the port's table on what the guest negotiated. It returns both ports and
// the guest's features.
func guestPort(t *testing.T, r *e2eRig, name string, offloads bool) (vh, vu *pmd.EthPort, features uint64) {
	t.Helper()
	vh, sock := vhostPort(t, name, "")
	tab := r.publish(vh, offload.Change{})
	tab, _ = tab.WithHardwareTx(GuestHardwareTx(vh, 0, false))
	tab, err := tab.Apply(offload.Change{EnableTx: allCsums | allSegs})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.reg.Publish(tab); err != nil {
		t.Fatal(err)
	}
	r.startWith(vh, tab)
	r.off.GuestTx[vh.ID()] = true

	vu, err = pmd.ProbeVdev(fmt.Sprintf("virtio_user_%s,path=%s,queues=1", name, sock))
	if err != nil {
		t.Fatal(err)
	}
	var guestRx offload.RxCaps
	if offloads {
		guestRx = offload.RxTCPLRO | offload.RxTCPCksum | offload.RxUDPCksum
		if hw := offload.RxCaps(vu.Info().RxOffloadCapa); !hw.Has(guestRx) {
			_ = vu.Close()
			t.Skipf("virtio_user advertises RX [%v] here, not LRO and the checksums", hw)
		}
	}
	if err := vu.Configure(pmd.PortConfig{RxQueues: 1, TxQueues: 1, Pool: r.pool, RxOffloads: pmd.RxOffload(guestRx)}); err != nil {
		t.Fatal(err)
	}
	if err := vu.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vu.Close() })
	if !waitFor(5*time.Second, func() bool { l, err := vh.Link(); return err == nil && l.Up }) {
		t.Fatal("vhost link did not come up")
	}
	w := WatchGuests(r.reg, []*pmd.EthPort{vh}, 20*time.Millisecond, nil)
	t.Cleanup(w.Stop)
	features, attached := w.Features(vh.ID())
	if !attached {
		t.Fatal("the guest is attached (link up) but its features cannot be read")
	}
	t.Logf("guest negotiated %v", offload.VirtioFeatureNames(features))
	has := func(b int) bool { return features&(1<<b) != 0 }
	if offloads && !(has(offload.VirtioFGuestCsum) && has(offload.VirtioFGuestTSO4) && has(offload.VirtioFGuestTSO6)) {
		t.Fatalf("a guest with LRO and RX checksums did not negotiate guest_csum, guest_tso4 and guest_tso6: %v", offload.VirtioFeatureNames(features))
	}
	if !offloads && (has(offload.VirtioFGuestCsum) || has(offload.VirtioFGuestTSO4)) {
		t.Fatalf("a guest with no RX offloads negotiated %v", offload.VirtioFeatureNames(features))
	}
	return vh, vu, features
}

// guestPkt is what a guest received: the frame, with any partial checksum
// completed as a virtio driver does, and its offload flags.
type guestPkt struct {
	frame        []byte
	lro, partial bool
	segsz        int
}

// guestReceive polls the guest's queue until wantBytes of TCP/UDP payload
// arrived or 10 s passed. A GSO frame's checksum field must hold the
// pseudo-header sum without the length (DPDK's vhost library writes it by
// rte_net_intel_cksum_prepare's convention for TSO); the guest adds its
// frame's length before completing the sum.
func guestReceive(t *testing.T, vu *pmd.EthPort, wantBytes int) []guestPkt {
	t.Helper()
	var outs []guestPkt
	b := pmd.NewBurst(32)
	defer b.Close()
	seen := 0
	for deadline := time.Now().Add(10 * time.Second); seen < wantBytes && time.Now().Before(deadline); {
		if vu.RxBurst(0, b) == 0 {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		for _, m := range b.Pkts() {
			fl := m.OlFlags()
			g := guestPkt{frame: m.Bytes(), lro: fl&offload.OlRxLRO != 0, segsz: int(m.TSOSegsz()),
				partial: fl&offload.OlRxL4CksumMask == offload.OlRxL4CksumNone}
			seen += payloadLen(g.frame)
			outs = append(outs, g)
		}
		pmd.FreeBulk(b)
	}
	for k, g := range outs {
		if !g.partial {
			continue
		}
		var l header.Layout
		if header.ParseHeadInto(g.frame, len(g.frame), &l) != header.OK {
			t.Fatalf("guest packet %d: headers do not parse", k)
		}
		field := header.TCPChecksumOff
		if l.L4Proto == header.ProtoUDP {
			field = header.UDPChecksumOff
		}
		if g.lro {
			fv := binary.BigEndian.Uint16(g.frame[l.L4Off()+field:])
			if want := checksum.Pseudo(g.frame, &l, 0); fv != want {
				t.Errorf("guest packet %d: GSO frame's checksum field %#04x, want the pseudo-header sum %#04x", k, fv, want)
			}
			checksum.PreparePseudo(g.frame, &l, false)
		}
		checksum.Complete([][]byte{g.frame}, l.L4Off(), field, len(g.frame))
	}
	return outs
}

// TestVhostToGuest is the direction from offloadpmd to a vhost-user guest:
// TSO, USO and checksum requests arrive on a ring port (as a DPDK
// application makes them) and leave through a net_vhost port to a
// virtio_user guest in this process. What the guest negotiated decides
// what is left to it (GuestWatch rebases the port's table when it
// attaches):
//   - "offloads": the guest enables LRO and RX checksums, so it takes
//     partial checksums and TCP super-frames. Each TCP request over its
//     MSS arrives whole as one GSO frame (the guest's RX_LRO with the
//     requested segment size), and checksums arrive partial
//     (RX_L4_CKSUM_NONE). USO is never left to a guest (22.11's vhost has
//     no header for it): its datagrams arrive cut.
//   - "none": the guest enables nothing, so everything is done here and
//     every packet arrives as MSS-sized segments with complete checksums.
//
// The outputs, partial checksums completed, are checked with the pipeline
// tests' own arithmetic: valid checksums, every flow's bytes once and in
// order.
func TestVhostToGuest(t *testing.T) {
	for i, offloads := range []bool{true, false} {
		name := map[bool]string{true: "offloads", false: "none"}[offloads]
		t.Run(name, func(t *testing.T) {
			r := newRig(t, 8192)
			vh, vu, _ := guestPort(t, r, fmt.Sprintf("tg%d", i), offloads)
			cur := r.reg.Load(vh.ID())
			if got := cur.TxBy(offload.TxTCPTSO) == offload.PerformHardware; got != offloads {
				t.Fatalf("after the guest attached, TSO left to it: %v, want %v", got, offloads)
			}
			if by := cur.TxBy(offload.TxUDPTSO); by != offload.PerformSoftware {
				t.Fatalf("USO toward a guest is done by %v, want software", by)
			}

			in, inRx, _ := ringPort(t, fmt.Sprintf("gin%d", i), r.pool)
			r.publish(in, offload.Change{EnableTx: allCsums | allSegs, SoftwareTx: allCsums | allSegs})
			r.off.Requests[in.ID()] = true
			f := r.startIDs(&IOEngine, [2]uint16{in.ID(), vh.ID()})

			flows := []e2eFlow{{id: 700, mss: 1448}, {id: 701, tsopt: true, v6: true, mss: 1428}, {id: 702, udp: true, mss: 1472}, {id: 703, udp: true, v6: true, mss: 1452}}
			tr := newTraffic(t, flows, []int{30000, 300, 4000, 1000}, false)
			var ms []*pmd.Mbuf
			wantBytes := 0
			for _, p := range tr.pkts {
				m := chainOf(t, r.pool, p.frame, 2048)
				p.flow.request(m, p.n)
				prepare(t, m)
				ms = append(ms, m)
				wantBytes += p.n
			}
			enqueue(t, inRx, ms)
			outs := guestReceive(t, vu, wantBytes)
			stopTotal(t, f)

			var frames [][]byte
			supers, partials := 0, 0
			for k, g := range outs {
				if g.partial {
					partials++
				}
				if g.lro {
					supers++
					if g.segsz != 1448 && g.segsz != 1428 {
						t.Errorf("guest packet %d: GSO segment size %d, want the request's (1448 or 1428)", k, g.segsz)
					}
					if d, err := decodeE2E(g.frame); err == nil && d.udp {
						t.Errorf("guest packet %d: a UDP GSO frame (USO is never left to a guest)", k)
					}
				} else if len(g.frame) > 1514 {
					t.Errorf("guest packet %d: %d bytes without a GSO header, over the MTU", k, len(g.frame))
				}
				frames = append(frames, g.frame)
			}
			if !offloads {
				if supers != 0 || partials != 0 {
					t.Errorf("a guest without offloads got %d GSO frames and %d partial checksums", supers, partials)
				}
				tr.verify(t, frames, e2eExpect{mtu: 1500, segmented: true})
				return
			}
			wantSupers := 0
			for _, p := range tr.pkts {
				if !p.flow.udp && p.n > p.flow.mss {
					wantSupers++
				}
			}
			if supers != wantSupers {
				t.Errorf("%d TCP GSO frames reached the guest, want %d (one per TSO request)", supers, wantSupers)
			}
			if partials == 0 {
				t.Error("no partial checksum reached the guest, although it took guest_csum")
			}
			tr.verify(t, frames, e2eExpect{})
		})
	}
}

// TestVhostGuestGetsAssembled: TCP segments and UDP datagrams that GRO
// assembles on their RX port reach a guest that takes TCP super-frames:
// the TCP ones as GSO frames (RX_LRO with the segments' size), the UDP
// ones cut back into datagrams here (no guest takes USO), none as a frame
// over its MTU.
func TestVhostGuestGetsAssembled(t *testing.T) {
	r := newRig(t, 8192)
	vh, vu, _ := guestPort(t, r, "tga", true)
	in, inRx, _ := ringPort(t, "gina", r.pool)
	r.publish(in, offload.Change{EnableRx: offload.RxTCPLRO | offload.RxUDPGRO, SoftwareRx: offload.RxTCPLRO | offload.RxUDPGRO})
	f := r.startIDs(&IOEngine, [2]uint16{in.ID(), vh.ID()})

	const segs, size = 24, 1428
	sizes := make([]int, segs)
	for k := range sizes {
		sizes[k] = size
	}
	flows := []e2eFlow{{id: 710, mss: size}, {id: 711, v6: true, mss: size}, {id: 712, udp: true, mss: size}, {id: 713, udp: true, v6: true, mss: size}}
	tr := newTraffic(t, flows, sizes, false)
	inject(t, inRx, r.pool, tr.frames())
	outs := guestReceive(t, vu, len(flows)*segs*size)
	st := stopTotal(t, f)
	var frames [][]byte
	supers, udp := 0, 0
	for k, g := range outs {
		d, err := decodeE2E(g.frame)
		if g.lro {
			supers++
			if g.segsz != size || err == nil && d.udp {
				t.Errorf("guest packet %d: a GSO frame of segment size %d (want %d), UDP %v", k, g.segsz, size, err == nil && d.udp)
			}
		} else if len(g.frame) > 1514 {
			t.Errorf("guest packet %d: %d bytes without a GSO header, over the MTU", k, len(g.frame))
		}
		if err == nil && d.udp {
			udp++
		}
		frames = append(frames, g.frame)
	}
	if supers == 0 || st.Counters[GuestSuperFrames] != uint64(supers) {
		t.Errorf("%d GSO frames reached the guest, %d counted as guest-super-frames; want some, and the same", supers, st.Counters[GuestSuperFrames])
	}
	if udp != 2*segs || st.Counters[SoftwareTask(offload.TaskUSO)] == 0 {
		t.Errorf("%d UDP datagrams reached the guest, want %d, cut by software USO: %s", udp, 2*segs, st.nonZero())
	}
	tr.verify(t, frames, e2eExpect{})
}
