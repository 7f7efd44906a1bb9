package pipeline

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/digest"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// The tests compute every expected digest with the standard library,
// never with offload/digest.

var digestKeyBytes = bytes.Repeat([]byte{0x0b, 0x5e}, 16)

func hmacConfig(n int, mode DigestMode) DigestConfig {
	return DigestConfig{Alg: digest.HMACSHA256, Key: esp.NewKey(digestKeyBytes), Len: n, Mode: mode}
}

// hmacOf is the first n bytes of HMAC-SHA-256(digestKeyBytes, b).
func hmacOf(b []byte, n int) []byte {
	h := hmac.New(sha256.New, digestKeyBytes)
	h.Write(b)
	return h.Sum(nil)[:n]
}

// digestMbuf builds a packet holding fr that asks for a digest, appended
// or not, with the lengths an OS would set; extra adds TX flags (with
// the flow's lengths, the flow's request).
func digestMbuf(t *testing.T, r *e2eRig, fr []byte, fl e2eFlow, appended bool, extra uint64) *pmd.Mbuf {
	t.Helper()
	m := r.pool.Alloc()
	if m == nil || !m.SetData(fr) {
		t.Fatal("cannot build an mbuf")
	}
	l3, l4 := fl.hdrLens()
	m.SetTxLengths(pmd.TxLengths{L2: 14, L3: uint16(l3), L4: uint16(l4)})
	m.SetOlFlags(extra)
	r.off.Digest.Set(m)
	if appended {
		r.off.DigestAppend.Set(m)
	}
	return m
}

// takeMbufs takes n packets from ring rg (the tests read their flags and
// dynamic field, which a sink's copies lose); the caller frees them.
func takeMbufs(t *testing.T, rg *pmd.Ring, n int, f *Forwarder) []*pmd.Mbuf {
	t.Helper()
	b := pmd.NewBurst(n)
	defer b.Close()
	if !waitFor(5*time.Second, func() bool { rg.Dequeue(b); return b.Len() == n }) {
		st := total(f)
		pmd.FreeBulk(b)
		t.Fatalf("%d packets out, want %d: %s", b.Len(), n, st.nonZero())
	}
	return append([]*pmd.Mbuf(nil), b.Pkts()...)
}

// TestDigestTxAppend: digests asked for by packets of a requesting port
// leave appended to their L4 payloads (HMAC-SHA-256 truncated to 16
// bytes, the port's key), the lengths and checksums right (checked by
// decodeE2E), also when checksum requests come with them: in software,
// with a pseudo-header sum to complete, or with the IPv4 header checksum
// not asked for.
func TestDigestTxAppend(t *testing.T) {
	r := newRig(t, 4096)
	a, aRx, _ := ringPort(t, "dgta", r.pool)
	b, _, bTx := ringPort(t, "dgtb", r.pool)
	r.publish(a, offload.Change{EnableTx: offload.TxDigest | allCsums})
	r.publish(b, offload.Change{})
	r.off.Requests[a.ID()] = true
	if err := r.off.Digests.Set(a.ID(), hmacConfig(16, DigestModeAppend)); err != nil {
		t.Fatal(err)
	}
	udp4 := e2eFlow{id: 700, udp: true, mss: 1448}
	tcp4 := e2eFlow{id: 701, mss: 1448}
	tcp6 := e2eFlow{id: 702, v6: true, tsopt: true, mss: 1448}
	udp6 := e2eFlow{id: 703, v6: true, udp: true, mss: 1448}
	type input struct {
		fl      e2eFlow
		payload []byte
		req     func(fl e2eFlow, m *pmd.Mbuf, fr []byte) // nil: a digest alone
	}
	full := func(fl e2eFlow, m *pmd.Mbuf, fr []byte) {
		fl.spoil(fr)
		m.SetData(fr)
		f := m.OlFlags()
		fl.request(m, len(fr))
		m.SetOlFlags(m.OlFlags() | f)
	}
	var ins []input
	for i, fl := range []e2eFlow{udp4, tcp4, tcp6, udp6} {
		p := bytes.Repeat([]byte{byte(0x30 + i)}, 100+333*i)
		ins = append(ins, input{fl, p, nil}, input{fl, p, full})
	}
	// IPv4 with the TCP checksum asked for and not the header's: the
	// header's is fixed with the length.
	ins = append(ins, input{tcp4, []byte("a payload of some bytes"), func(fl e2eFlow, m *pmd.Mbuf, fr []byte) {
		fl.spoil(fr)
		m.SetData(fr)
		m.SetOlFlags(m.OlFlags() | offload.OlTxIPv4 | offload.OlTxTCPCksum)
	}})
	var in []*pmd.Mbuf
	for i, x := range ins {
		fr := x.fl.frame(t, 0, x.payload, uint16(i), false)
		m := digestMbuf(t, r, fr, x.fl, true, 0)
		if x.req != nil {
			x.req(x.fl, m, fr)
		}
		in = append(in, m)
	}
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	enqueue(t, aRx, in)
	if !waitFor(5*time.Second, func() bool { return sinkCount(sink) >= len(ins) }) {
		t.Fatalf("%d frames out, want %d: %s", sinkCount(sink), len(ins), total(f).nonZero())
	}
	frames := sink.close()
	for i, fr := range frames {
		d, err := decodeE2E(fr)
		if err != nil {
			t.Errorf("frame %d (%v): %v", i, ins[i].fl, err)
			continue
		}
		n := len(ins[i].payload)
		if len(d.payload) != n+16 || !bytes.Equal(d.payload[:n], ins[i].payload) {
			t.Errorf("frame %d (%v): payload of %d bytes, want %d and a 16-byte digest", i, ins[i].fl, len(d.payload), n)
			continue
		}
		if want := hmacOf(ins[i].payload, 16); !bytes.Equal(d.payload[n:], want) {
			t.Errorf("frame %d (%v): digest %x, want %x", i, ins[i].fl, d.payload[n:], want)
		}
	}
	st := total(f)
	if st.Counters[SoftwareTask(offload.TaskDigest)] != uint64(len(ins)) || st.Dropped() != 0 {
		t.Errorf("counters: %s", st.nonZero())
	}
}

// TestDigestTxDynfield: without the append flag the digest is written
// into the opmd_dynfield_digest field (the rest of it zeroed), the packet
// unchanged and its request flags cleared. A digest longer than the field
// is refused.
func TestDigestTxDynfield(t *testing.T) {
	cases := []struct {
		name string
		cfg  DigestConfig
		want func(payload []byte) []byte // nil: too long, dropped
	}{
		{"sha256/24", DigestConfig{Alg: digest.SHA256, Len: 24}, func(p []byte) []byte { s := sha256.Sum256(p); return s[:24] }},
		{"crc32c", DigestConfig{Alg: digest.CRC32C}, func(p []byte) []byte {
			return binary.BigEndian.AppendUint32(nil, crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)))
		}},
		{"hmac-sha256/20", hmacConfig(20, DigestModeDynfield), func(p []byte) []byte { return hmacOf(p, 20) }},
		{"sha256/32", DigestConfig{Alg: digest.SHA256}, nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, 1024)
			a, aRx, _ := ringPort(t, "dgda"+string(rune('0'+i)), r.pool)
			b, _, bTx := ringPort(t, "dgdb"+string(rune('0'+i)), r.pool)
			r.publish(a, offload.Change{EnableTx: offload.TxDigest})
			r.publish(b, offload.Change{})
			r.off.Requests[a.ID()] = true
			if err := r.off.Digests.Set(a.ID(), c.cfg); err != nil {
				t.Fatal(err)
			}
			var frames [][]byte
			var in []*pmd.Mbuf
			for j, fl := range []e2eFlow{{id: 710, udp: true}, {id: 711, v6: true}} {
				fr := fl.frame(t, 0, bytes.Repeat([]byte{byte(j + 1)}, 200+j), uint16(j), false)
				m := digestMbuf(t, r, fr, fl, false, 0)
				field := r.off.DigestField.Bytes(m)
				for k := range field {
					field[k] = 0xee // what a previous user of the mbuf left
				}
				frames, in = append(frames, fr), append(in, m)
			}
			f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
			enqueue(t, aRx, in)
			if c.want == nil {
				why := DigestDropped(digest.OutputShort)
				if !waitFor(5*time.Second, func() bool { return total(f).Counters[why] == uint64(len(in)) }) {
					t.Fatalf("want %d %s: %s", len(in), why, total(f).nonZero())
				}
				return
			}
			out := takeMbufs(t, bTx, len(in), f)
			defer func() {
				for _, m := range out {
					m.Free()
				}
			}()
			for j, m := range out {
				fr := m.Bytes()
				if !bytes.Equal(fr, frames[j]) {
					t.Errorf("packet %d changed:\n%x\nwant\n%x", j, fr, frames[j])
				}
				want := c.want(payloadOf(t, fr))
				field := r.off.DigestField.Bytes(m)
				if len(field) != DigestDynfieldSize || !bytes.Equal(field[:len(want)], want) || !bytes.Equal(field[len(want):], make([]byte, DigestDynfieldSize-len(want))) {
					t.Errorf("packet %d: dynfield %x, want %x then zeros", j, field, want)
				}
				if m.OlFlags()&(r.off.Digest.Mask()|r.off.DigestAppend.Mask()) != 0 {
					t.Errorf("packet %d leaves with its digest request flags %#x", j, m.OlFlags())
				}
			}
			if st := total(f); st.Counters[SoftwareTask(offload.TaskDigest)] != uint64(len(in)) || st.Dropped() != 0 {
				t.Errorf("counters: %s", st.nonZero())
			}
		})
	}
}

// payloadOf is the L4 payload of a frame, as decodeE2E finds it.
func payloadOf(t *testing.T, fr []byte) []byte {
	t.Helper()
	d, err := decodeE2E(fr)
	if err != nil {
		t.Fatal(err)
	}
	return d.payload
}

// TestDigestRxVerify: on a port verifying digests, a packet whose digest
// is right gets the good flag (an appended digest stripped, the packet
// then the one its sender digested, checksums recomputed), one whose
// payload was changed the bad flag, unchanged; a packet without a digest
// to check neither; each counted. Nothing is dropped.
func TestDigestRxVerify(t *testing.T) {
	for _, mode := range []DigestMode{DigestModeAppend, DigestModeDynfield} {
		t.Run(mode.String(), func(t *testing.T) { testDigestRxVerify(t, mode) })
	}
}

func testDigestRxVerify(t *testing.T, mode DigestMode) {
	r := newRig(t, 1024)
	a, aRx, _ := ringPort(t, "dgva"+mode.String()[:1], r.pool)
	b, _, bTx := ringPort(t, "dgvb"+mode.String()[:1], r.pool)
	r.publish(a, offload.Change{EnableRx: offload.RxDigestVerify})
	r.publish(b, offload.Change{})
	if err := r.off.Digests.Set(a.ID(), hmacConfig(16, mode)); err != nil {
		t.Fatal(err)
	}
	type pkt struct {
		in, want []byte // the frame sent, the frame expected out
		digest   []byte // the dynfield's, in dynfield mode
		verdict  uint64 // the flag expected
	}
	good, bad := r.off.DigestGood.Mask(), r.off.DigestBad.Mask()
	var pkts []pkt
	add := func(fl e2eFlow, data []byte, tamper bool) {
		mac := hmacOf(data, 16)
		sent := data
		if tamper {
			sent = bytes.Clone(data)
			sent[len(sent)/2] ^= 0x40
		}
		plain := fl.frame(t, 0, sent, 9, false)
		verdict := good
		if tamper {
			verdict = bad
		}
		if mode == DigestModeDynfield {
			pkts = append(pkts, pkt{plain, plain, mac, verdict})
			return
		}
		withMAC := fl.frame(t, 0, append(bytes.Clone(sent), mac...), 9, false)
		if tamper {
			pkts = append(pkts, pkt{withMAC, withMAC, nil, verdict})
		} else {
			pkts = append(pkts, pkt{withMAC, plain, nil, verdict})
		}
	}
	add(e2eFlow{id: 720, udp: true}, bytes.Repeat([]byte("udp4"), 50), false)
	add(e2eFlow{id: 721, v6: true, tsopt: true}, bytes.Repeat([]byte("tcp6"), 300), false)
	add(e2eFlow{id: 722}, bytes.Repeat([]byte("tcp4"), 70), true)
	add(e2eFlow{id: 723, v6: true, udp: true}, bytes.Repeat([]byte("udp6"), 9), true)
	// Without a digest to check: not IP (an ARP frame); in append mode
	// also a payload shorter than a digest.
	arp := make([]byte, 60)
	copy(arp, e2eDstMAC)
	copy(arp[6:], e2eSrcMAC)
	binary.BigEndian.PutUint16(arp[12:], 0x0806)
	pkts = append(pkts, pkt{arp, arp, make([]byte, 16), 0})
	wantUnverified := map[digest.Reason]uint64{digest.NotIP: 1}
	if mode == DigestModeAppend {
		short := e2eFlow{id: 724, udp: true}.frame(t, 0, []byte("tiny"), 9, false)
		pkts = append(pkts, pkt{short, short, nil, 0})
		wantUnverified[digest.Short] = 1
	}
	var in []*pmd.Mbuf
	for _, p := range pkts {
		m := r.pool.Alloc()
		if m == nil || !m.SetData(p.in) {
			t.Fatal("cannot build an mbuf")
		}
		m.SetOlFlags(good | bad) // a stale verdict goes
		if p.digest != nil {
			copy(r.off.DigestField.Bytes(m), p.digest)
		}
		in = append(in, m)
	}
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	enqueue(t, aRx, in)
	out := takeMbufs(t, bTx, len(in), f)
	defer func() {
		for _, m := range out {
			m.Free()
		}
	}()
	for i, m := range out {
		if got := m.Bytes(); !bytes.Equal(got, pkts[i].want) {
			t.Errorf("packet %d:\n%x\nwant\n%x", i, got, pkts[i].want)
		}
		if v := m.OlFlags() & (good | bad); v != pkts[i].verdict {
			t.Errorf("packet %d: verdict flags %#x, want %#x (good %#x, bad %#x)", i, v, pkts[i].verdict, good, bad)
		}
	}
	st := total(f)
	want := map[Counter]uint64{DigestVerifiedGood: 2, DigestVerifiedBad: 2}
	for why, n := range wantUnverified {
		want[DigestUnverified(why)] = n
	}
	for c, n := range want {
		if st.Counters[c] != n {
			t.Errorf("%s = %d, want %d (%s)", c, st.Counters[c], n, st.nonZero())
		}
	}
	if st.Dropped() != 0 {
		t.Errorf("dropped: %s", st.nonZero())
	}
}

// TestDigestRefused: a digest request from a port that does not enable
// digests is refused and counted like any task; one from a port without a
// digest configuration, one with a segmentation, and one in a chained
// mbuf are dropped under their reasons; a good one passes.
func TestDigestRefused(t *testing.T) {
	r := newRig(t, 4096)
	a, aRx, _ := ringPort(t, "dgra", r.pool) // enables, configured
	c, cRx, _ := ringPort(t, "dgrc", r.pool) // does not enable
	d, dRx, _ := ringPort(t, "dgrd", r.pool) // enables, no configuration
	b, _, bTx := ringPort(t, "dgrb", r.pool)
	enable := offload.Change{EnableTx: offload.TxDigest | allCsums | allSegs}
	r.publish(a, enable)
	r.publish(c, offload.Change{EnableTx: allCsums | allSegs})
	r.publish(d, enable)
	r.publish(b, offload.Change{})
	for _, p := range []*pmd.EthPort{a, c, d} {
		r.off.Requests[p.ID()] = true
	}
	if err := r.off.Digests.Set(a.ID(), hmacConfig(0, DigestModeAppend)); err != nil {
		t.Fatal(err)
	}
	fl := e2eFlow{id: 730, mss: 1448}
	small := fl.frame(t, 0, bytes.Repeat([]byte{7}, 300), 1, false)
	one := func() *pmd.Mbuf { return digestMbuf(t, r, small, fl, true, 0) }
	tso := tsoMbuf(t, r, 731) // chained, a TSO request
	r.off.Digest.Set(tso)
	chained := chainOf(t, r.pool, small, 100)
	chained.SetTxLengths(pmd.TxLengths{L2: 14, L3: 20, L4: 20})
	r.off.Digest.Set(chained)
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b}, [2]*pmd.EthPort{c, b}, [2]*pmd.EthPort{d, b})
	enqueue(t, cRx, []*pmd.Mbuf{one()})
	enqueue(t, dRx, []*pmd.Mbuf{one()})
	enqueue(t, aRx, []*pmd.Mbuf{tso, chained, one()})
	if !waitFor(5*time.Second, func() bool { return total(f).Dropped() >= 4 && sinkCount(sink) >= 1 }) {
		t.Fatalf("%d out: %s", sinkCount(sink), total(f).nonZero())
	}
	time.Sleep(20 * time.Millisecond)
	out := sink.close()
	st := total(f)
	for ctr, n := range map[Counter]uint64{
		Refused(offload.RefDisabled): 1, RefusedTask(offload.TaskDigest): 1, DigestNoConfig: 1,
		Refused(offload.RefDigestSegmentation): 1, DigestMultiSegment: 1, SoftwareTask(offload.TaskDigest): 1,
	} {
		if st.Counters[ctr] != n {
			t.Errorf("%s = %d, want %d (%s)", ctr, st.Counters[ctr], n, st.nonZero())
		}
	}
	if len(out) != 1 || st.Dropped() != 4 {
		t.Fatalf("%d out, %d dropped; want 1 and 4: %s", len(out), st.Dropped(), st.nonZero())
	}
	if p := payloadOf(t, out[0]); len(p) != 300+32 || !bytes.Equal(p[300:], hmacOf(p[:300], 32)) {
		t.Errorf("the good packet's payload %x", p)
	}
}

// TestDigestThenESP: a packet asking for an appended digest that leaves
// by a port encrypting everything gets its digest first, then is
// encrypted: the peer decrypts it (an inbound SA of the same keys) and
// finds the digest, and the inner checksums, right.
func TestDigestThenESP(t *testing.T) {
	r := newRig(t, 4096)
	a, aRx, _ := ringPort(t, "dgea", r.pool)
	b, _, bTx := ringPort(t, "dgeb", r.pool)
	r.publish(a, offload.Change{EnableTx: offload.TxDigest | allCsums})
	r.publish(b, offload.Change{EnableTx: offload.TxESPEncrypt})
	r.off.Requests[a.ID()] = true
	if err := r.off.Digests.Set(a.ID(), hmacConfig(16, DigestModeAppend)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.off.SAs.AddAt(2, espConfig(0x4004, esp.Outbound, esp.Tunnel, esp.AESGCM128)); err != nil {
		t.Fatal(err)
	}
	r.off.ESP.Set(b.ID(), []ESPPolicy{{Port: b.ID(), SA: 2}})
	peer := &esp.Registry{}
	if _, err := peer.Add(espConfig(0x4004, esp.Inbound, esp.Tunnel, esp.AESGCM128)); err != nil {
		t.Fatal(err)
	}
	flows := []e2eFlow{{id: 740, udp: true, mss: 1448}, {id: 741, v6: true, mss: 1448}}
	var payloads [][]byte
	var in []*pmd.Mbuf
	for i, fl := range flows {
		p := bytes.Repeat([]byte{0xa0 + byte(i)}, 500+i)
		fr := fl.frame(t, 0, p, 3, false)
		m := digestMbuf(t, r, fr, fl, true, 0)
		if i == 1 { // with its checksum to compute, spoiled
			fl.spoil(fr)
			m.SetData(fr)
			fl.request(m, len(p))
			r.off.Digest.Set(m)
			r.off.DigestAppend.Set(m)
		}
		payloads, in = append(payloads, p), append(in, m)
	}
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	enqueue(t, aRx, in)
	if !waitFor(5*time.Second, func() bool { return sinkCount(sink) >= len(in) }) {
		t.Fatalf("%d frames out, want %d: %s", sinkCount(sink), len(in), total(f).nonZero())
	}
	for i, fr := range sink.close() {
		inner, why := espOpen(t, peer, fr)
		if why != esp.OK {
			t.Fatalf("frame %d does not decrypt: %v", i, why)
		}
		p := payloadOf(t, inner) // checks the inner checksums
		n := len(payloads[i])
		if len(p) != n+16 || !bytes.Equal(p[:n], payloads[i]) || !bytes.Equal(p[n:], hmacOf(payloads[i], 16)) {
			t.Errorf("frame %d: inner payload %d bytes, its digest wrong or missing", i, len(p))
		}
	}
	st := total(f)
	if st.Counters[SoftwareTask(offload.TaskDigest)] != 2 || st.Counters[ESPEncrypted] != 2 || st.Dropped() != 0 {
		t.Errorf("counters: %s", st.nonZero())
	}
}

// TestDigestDoesNotAllocate loops packets round two ring ports at full
// speed: port a's ask for appended digests (a -> b computes them), port b
// verifies them (b -> a checks and strips them), and the test puts what
// leaves a back into a with its request again, what leaves b into b.
// The process makes no Go heap allocation over a window.
func TestDigestDoesNotAllocate(t *testing.T) {
	r := newRig(t, 4096)
	a, aRx, aTx := ringPort(t, "dgna", r.pool)
	b, bRx, bTx := ringPort(t, "dgnb", r.pool)
	r.publish(a, offload.Change{EnableTx: offload.TxDigest | allCsums})
	r.publish(b, offload.Change{EnableRx: offload.RxDigestVerify})
	r.off.Requests[a.ID()] = true
	for _, p := range []*pmd.EthPort{a, b} {
		if err := r.off.Digests.Set(p.ID(), hmacConfig(16, DigestModeAppend)); err != nil {
			t.Fatal(err)
		}
	}
	fl := e2eFlow{id: 750, udp: true}
	fr := fl.frame(t, 0, bytes.Repeat([]byte{0x42}, 600), 1, false)
	var in []*pmd.Mbuf
	for range 512 {
		in = append(in, digestMbuf(t, r, fr, fl, true, 0))
	}
	enqueue(t, aRx, in)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b}, [2]*pmd.EthPort{b, a})
	flags := r.off.Digest.Mask() | r.off.DigestAppend.Mask()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		ba, bb := pmd.NewBurst(64), pmd.NewBurst(64)
		defer ba.Close()
		defer bb.Close()
		for {
			select {
			case <-stop:
				for _, rg := range []*pmd.Ring{aRx, bRx, aTx, bTx} {
					rg.FreeAll()
				}
				pmd.FreeBulk(ba)
				pmd.FreeBulk(bb)
				return
			default:
			}
			if ba.Len() == 0 && aTx.Dequeue(ba) > 0 {
				for _, m := range ba.Pkts() {
					m.SetData(fr)
					m.SetTxLengths(pmd.TxLengths{L2: 14, L3: 20, L4: 8})
					m.SetOlFlags(flags)
				}
			}
			if bb.Len() == 0 {
				bTx.Dequeue(bb)
			}
			aRx.Enqueue(ba)
			bRx.Enqueue(bb)
			runtime.Gosched()
		}
	}()
	defer func() { close(stop); <-done }()
	time.Sleep(200 * time.Millisecond)
	before := total(f)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	time.Sleep(300 * time.Millisecond)
	runtime.ReadMemStats(&m1)
	after := total(f)
	if err := f.Stop(); err != nil {
		t.Error(err)
	}
	made := after.Counters[SoftwareTask(offload.TaskDigest)] - before.Counters[SoftwareTask(offload.TaskDigest)]
	good := after.Counters[DigestVerifiedGood] - before.Counters[DigestVerifiedGood]
	if made < 1000 || good < 1000 || after.Dropped() != 0 || after.Counters[DigestVerifiedBad] != 0 {
		t.Fatalf("%d digests made, %d verified in the window: %s", made, good, after.nonZero())
	}
	if n := m1.Mallocs - m0.Mallocs; n > 20 {
		t.Errorf("%d heap allocations while %d digests were made and %d verified", n, made, good)
	}
	t.Logf("%d digests made, %d verified, %d allocations", made, good, m1.Mallocs-m0.Mallocs)
}

// TestDigestConfigs: Set refuses what the engine or the dynamic field
// cannot take, with an error that says why and never shows the key;
// Load sees the last Set.
func TestDigestConfigs(t *testing.T) {
	var d DigestConfigs
	bad := []struct {
		c    DigestConfig
		want string
	}{
		{DigestConfig{}, "no algorithm"},
		{DigestConfig{Alg: digest.HMACSHA256}, "no key"},
		{DigestConfig{Alg: digest.SHA256, Key: esp.NewKey(digestKeyBytes)}, "takes no key"},
		{DigestConfig{Alg: digest.CRC32C, Len: 8}, "size 8"},
		{DigestConfig{Alg: digest.SHA256, Len: 8}, "size 8"},
		{hmacConfig(0, DigestModeDynfield), "the dynamic field holds 24"},
		{DigestConfig{Alg: digest.SHA256, Mode: 7}, "mode 7"},
	}
	for _, b := range bad {
		err := d.Set(1, b.c)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("Set(%v): %v, want an error saying %q", b.c, err, b.want)
		}
	}
	if err := d.Set(offload.MaxPorts, DigestConfig{Alg: digest.CRC32C}); err == nil {
		t.Error("Set of a port out of range took it")
	}
	if d.Load(1) != nil {
		t.Error("a refused configuration was stored")
	}
	c := hmacConfig(16, DigestModeDynfield)
	if err := d.Set(1, c); err != nil {
		t.Fatal(err)
	}
	got := d.Load(1)
	if got == nil || got.Alg != digest.HMACSHA256 || got.Size() != 16 || !got.Key.Equal(c.Key) {
		t.Fatalf("Load: %v", got)
	}
	s := fmt.Sprintf("%v %+v %#v", *got, *got, *got)
	if strings.Contains(s, "0b5e") || !strings.Contains(s, "hmac-sha256/16 dynfield") {
		t.Errorf("printed: %s", s)
	}
	d.Clear(1)
	if d.Load(1) != nil || (*DigestConfigs)(nil).Load(1) != nil {
		t.Error("Clear left a configuration")
	}
	for _, m := range []string{"append", "dynfield"} {
		if got, err := ParseDigestMode(m); err != nil || got.String() != m {
			t.Errorf("ParseDigestMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseDigestMode("beside"); err == nil {
		t.Error("ParseDigestMode took beside")
	}
}

// TestCounterNamesUnique: every named counter has its own name (metrics
// and telemetry key them by it).
func TestCounterNamesUnique(t *testing.T) {
	seen := map[string]Counter{}
	for _, c := range AllCounters() {
		if o, dup := seen[c.String()]; dup {
			t.Errorf("counters %d and %d are both %q", o, c, c)
		}
		seen[c.String()] = c
	}
	for _, c := range []Counter{DigestVerifiedGood, DigestVerifiedBad, DigestMultiSegment, DigestNoConfig,
		DigestRxMultiSegment, DigestRxNoConfig, DigestDropped(digest.NoTailroom), DigestUnverified(digest.Short)} {
		if c.String() == "unused" {
			t.Errorf("counter %d has no name", c)
		}
	}
	if !DigestDropped(digest.NotL4).IsDrop() || DigestUnverified(digest.NotL4).IsDrop() || DigestVerifiedBad.IsDrop() {
		t.Error("IsDrop: TX digest failures drop, RX verdicts do not")
	}
}

// withDigests returns each TCP or UDP frame with the HMAC-SHA-256/16 of
// its payload appended (gopacket fixing lengths and checksums), as a
// sender appending digests would send it.
func withDigests(t testing.TB, frames [][]byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, fr := range frames {
		p := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
		var ls []gopacket.SerializableLayer
		var payload []byte
		for _, l := range p.Layers() {
			switch l := l.(type) {
			case *layers.Ethernet, *layers.IPv4, *layers.IPv6:
				ls = append(ls, l.(gopacket.SerializableLayer))
			case *layers.TCP:
				_ = l.SetNetworkLayerForChecksum(p.NetworkLayer())
				ls, payload = append(ls, l), l.Payload
			case *layers.UDP:
				_ = l.SetNetworkLayerForChecksum(p.NetworkLayer())
				ls, payload = append(ls, l), l.Payload
			}
		}
		if len(ls) != 3 {
			t.Fatalf("not an Ethernet/IP/TCP-or-UDP frame: %v", p)
		}
		buf := gopacket.NewSerializeBuffer()
		payload = append(bytes.Clone(payload), hmacOf(payload, 16)...)
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append(ls, gopacket.Payload(payload))...); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}
