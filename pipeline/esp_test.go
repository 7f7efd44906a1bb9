package pipeline

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/offloadpmd/offloadpmd/offload"
	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// espKeys are one SA pair's key material: GCM key and salt, or CBC key
// and HMAC key.
func espConfig(spi uint32, dir esp.Direction, mode esp.Mode, alg esp.Algorithm) esp.Config {
	c := esp.Config{SPI: spi, Dir: dir, Mode: mode, Alg: alg}
	enc := make([]byte, alg.EncKeyLen())
	for i := range enc {
		enc[i] = byte(0x11 * (i + 1))
	}
	c.EncKey = esp.NewKey(enc)
	if n := alg.AuthKeyLen(); n > 0 {
		auth := make([]byte, n)
		for i := range auth {
			auth[i] = byte(0x5a ^ i)
		}
		c.AuthKey = esp.NewKey(auth)
	}
	if mode == esp.Tunnel {
		c.Src, c.Dst = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	}
	return c
}

// espOpen decrypts an ESP frame with a fresh inbound SA of cfg's keys,
// as the peer would; it returns the inner frame.
func espOpen(t *testing.T, reg *esp.Registry, fr []byte) ([]byte, esp.Reason) {
	t.Helper()
	buf := make([]byte, len(fr)+256)
	copy(buf[128:], fr)
	p := esp.Packet{Buf: buf, Off: 128, Len: len(fr)}
	jobs := make([]esp.Job, 1)
	if why := reg.Load().PrepareDecrypt(&p, 14, &jobs[0]); why != esp.OK {
		return nil, why
	}
	var e esp.GoEngine
	e.Process(jobs, [][]byte{p.Bytes()})
	if why := esp.FinishDecrypt(&p, &jobs[0]); why != esp.OK {
		return nil, why
	}
	return append([]byte(nil), p.Bytes()...), esp.OK
}

// TestESPPolicyEncrypts: io forwarding from a ring port to one whose
// outbound policy covers everything, with a TSO request among plain
// packets: every packet leaves as ESP under the SA (sequence 1, 2, ...),
// the TSO packet segmented and checksummed first, and each decrypts (with
// the peer's inbound SA) to the packet that would have left without ESP.
func TestESPPolicyEncrypts(t *testing.T) {
	for _, alg := range []esp.Algorithm{esp.AESGCM128, esp.AESCBC256SHA256} {
		for _, mode := range []esp.Mode{esp.Tunnel, esp.Transport} {
			t.Run(alg.String()+"/"+mode.String(), func(t *testing.T) { testESPPolicyEncrypts(t, alg, mode) })
		}
	}
}

// espDevices, when set, gives the rig crypto devices.
var espDevices func(t *testing.T) *ESPCrypto

func useDevices(t *testing.T, r *e2eRig) {
	if espDevices != nil {
		r.off.Crypto = espDevices(t)
	}
}

func r0Workers(t *testing.T) []uint { return newRig(t, 64).eal.Workers() }

func testESPPolicyEncrypts(t *testing.T, alg esp.Algorithm, mode esp.Mode) {
	r := newRig(t, 4096)
	useDevices(t, r)
	a, aRx, _ := ringPort(t, "espa", r.pool)
	b, _, bTx := ringPort(t, "espb", r.pool)
	r.publish(a, offload.Change{EnableTx: offload.TxTCPTSO | offload.TxIPv4Cksum | offload.TxTCPCksum})
	r.publish(b, offload.Change{EnableTx: offload.TxESPEncrypt})
	r.off.Requests[a.ID()] = true
	if _, err := r.off.SAs.AddAt(1, espConfig(0x1001, esp.Outbound, mode, alg)); err != nil {
		t.Fatal(err)
	}
	r.off.ESP.Set(b.ID(), []ESPPolicy{{Port: b.ID(), SA: 1}})
	peer := &esp.Registry{}
	if _, err := peer.Add(espConfig(0x1001, esp.Inbound, mode, alg)); err != nil {
		t.Fatal(err)
	}
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})

	var plain [][]byte
	var in []*pmd.Mbuf
	for i := range 3 {
		fr := udpFrame(t, i+1, 200+300*i)
		plain = append(plain, fr)
		m := r.pool.Alloc()
		if m == nil || !m.SetData(fr) {
			t.Fatal("cannot build an mbuf")
		}
		in = append(in, m)
	}
	in = append(in, tsoMbuf(t, r, 7)) // 4000 bytes at MSS 1448: 3 segments
	enqueue(t, aRx, in)
	const want = 6
	if !waitFor(5*time.Second, func() bool { return sinkCount(sink) >= want }) {
		t.Fatalf("%d frames out, want %d: %s", sinkCount(sink), want, total(f).nonZero())
	}
	frames := sink.close()
	st := total(f)
	if st.Counters[ESPEncrypted] != want || st.Counters[SoftwareTask(offload.TaskESPEncrypt)] != want || st.Dropped() != 0 {
		t.Errorf("counters: %s", st.nonZero())
	}
	checkEngine(t, r, st, want)
	tcpPayload := 0
	for i, fr := range frames {
		pk := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
		e, ok := pk.Layer(layers.LayerTypeIPSecESP).(*layers.IPSecESP)
		if !ok {
			t.Fatalf("frame %d is not ESP: %v", i, pk)
		}
		if e.SPI != 0x1001 || e.Seq != uint32(i+1) {
			t.Errorf("frame %d: SPI %#x seq %d, want 0x1001 and %d", i, e.SPI, e.Seq, i+1)
		}
		inner, why := espOpen(t, peer, fr)
		if why != esp.OK {
			t.Fatalf("frame %d does not decrypt: %v", i, why)
		}
		if i < 3 {
			if !bytes.Equal(inner, plain[i]) {
				t.Errorf("frame %d decrypts to\n%x\nwant\n%x", i, inner, plain[i])
			}
			continue
		}
		d, err := decodeE2E(inner) // checks the IP and TCP checksums
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		tcpPayload += len(d.payload)
	}
	if tcpPayload != 4000 {
		t.Errorf("segments carry %d payload bytes, want 4000", tcpPayload)
	}
}

// TestESPDecrypts: ESP packets arriving on a port with esp_decrypt are
// decrypted and forwarded as the packets the peer protected; a tampered
// one, a replayed one and one of an unknown SPI are dropped under their
// reasons; packets that are not ESP pass untouched.
func TestESPDecrypts(t *testing.T) {
	for _, alg := range []esp.Algorithm{esp.AESGCM256, esp.AESCBC128SHA256} {
		for _, mode := range []esp.Mode{esp.Tunnel, esp.Transport} {
			t.Run(alg.String()+"/"+mode.String(), func(t *testing.T) { testESPDecrypts(t, alg, mode) })
		}
	}
}

func testESPDecrypts(t *testing.T, alg esp.Algorithm, mode esp.Mode) {
	r := newRig(t, 4096)
	useDevices(t, r)
	a, aRx, _ := ringPort(t, "espc", r.pool)
	b, _, bTx := ringPort(t, "espd", r.pool)
	r.publish(a, offload.Change{EnableRx: offload.RxESPDecrypt})
	r.publish(b, offload.Change{})
	// a's packets may bring requests, so the stream's TX stage runs after
	// the decryption in the same burst, as on a kernel-facing port.
	r.off.Requests[a.ID()] = true
	if _, err := r.off.SAs.AddAt(3, espConfig(0x2002, esp.Inbound, mode, alg)); err != nil {
		t.Fatal(err)
	}
	peer := &esp.Registry{}
	out, err := peer.Add(espConfig(0x2002, esp.Outbound, mode, alg))
	if err != nil {
		t.Fatal(err)
	}
	seal := func(fr []byte) []byte { return sealWith(t, out, fr) }
	var plain, wire [][]byte
	for i := range 4 {
		fr := udpFrame(t, i+1, 100+400*i)
		plain = append(plain, fr)
		wire = append(wire, seal(fr))
	}
	tampered := seal(udpFrame(t, 9, 300))
	tampered[len(tampered)-20] ^= 1
	unknown := append([]byte(nil), wire[0]...)
	spiAt := bytes.Index(unknown, []byte{0, 0, 0x20, 0x02})
	unknown[spiAt+3] = 0x03
	notESP := udpFrame(t, 5, 128)
	frames := [][]byte{wire[0], wire[1], tampered, wire[1] /* replayed */, unknown, notESP, wire[2], wire[3]}
	var in []*pmd.Mbuf
	for _, fr := range frames {
		m := r.pool.Alloc()
		if m == nil || !m.SetData(fr) {
			t.Fatal("cannot build an mbuf")
		}
		in = append(in, m)
	}
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	enqueue(t, aRx, in)
	want := [][]byte{plain[0], plain[1], notESP, plain[2], plain[3]}
	if !waitFor(5*time.Second, func() bool { return sinkCount(sink) >= len(want) }) {
		t.Fatalf("%d frames out, want %d: %s", sinkCount(sink), len(want), total(f).nonZero())
	}
	got := sink.close()
	for i := range want {
		if i >= len(got) || !bytes.Equal(got[i], want[i]) {
			t.Errorf("frame %d:\n%x\nwant\n%x", i, got[min(i, len(got)-1)], want[i])
		}
	}
	st := total(f)
	checkEngine(t, r, st, 6) // four good, one tampered, and the replay in the same burst (caught after the crypto, when the window moves)
	for c, n := range map[Counter]uint64{
		ESPDecrypted: 4, ESPDropped(esp.BadICV): 1, ESPDropped(esp.ReplayDuplicate): 1, ESPDropped(esp.UnknownSPI): 1,
	} {
		if st.Counters[c] != n {
			t.Errorf("%s = %d, want %d (%s)", c, st.Counters[c], n, st.nonZero())
		}
	}
}

func sinkCount(s *e2eSink) int {
	n, _ := s.seen()
	return n
}

// espCrypto opens the ipsec_mb crypto devices for the test (skipping
// where the driver is absent) with a queue pair per lcore id.
func espCrypto(t *testing.T) *ESPCrypto {
	t.Helper()
	for _, drv := range []string{"crypto_aesni_gcm", "crypto_aesni_mb"} {
		if !pmd.CryptoDriverLoaded(drv) {
			t.Skipf("the %s driver is not loaded here (librte_crypto_ipsec_mb)", drv)
		}
	}
	qps := 0
	for _, w := range r0Workers(t) {
		qps = max(qps, int(w)+1)
	}
	gcm, err := pmd.OpenCryptoVdev(pmd.CryptoDevConfig{Name: "crypto_aesni_gcm_esptest", QueuePairs: qps, Sessions: 64})
	if err != nil {
		t.Fatal(err)
	}
	cbc, err := pmd.OpenCryptoVdev(pmd.CryptoDevConfig{Name: "crypto_aesni_mb_esptest", QueuePairs: qps, Sessions: 64})
	if err != nil {
		_ = gcm.Close()
		t.Fatal(err)
	}
	c := &ESPCrypto{GCM: gcm, CBC: cbc}
	t.Cleanup(func() {
		c.Close()
		_ = gcm.Close()
		_ = cbc.Close()
	})
	return c
}

// TestESPCryptodev runs both ESP tests with the crypto on DPDK's ipsec_mb
// devices instead of Go: the outputs, checked by Go's crypto, must be
// the same.
func TestESPCryptodev(t *testing.T) {
	espDevices = espCrypto
	defer func() { espDevices = nil }()
	t.Run("encrypt", TestESPPolicyEncrypts)
	t.Run("decrypt", TestESPDecrypts)
	t.Run("both-ways", TestESPBothWaysOneLcore)
}

// TestESPBothWaysOneLcore: a gateway's two streams on one lcore, one
// encrypting towards the peer and one decrypting from it, share the
// lcore's crypto queue pairs: every job runs on the devices when there
// are devices.
func TestESPBothWaysOneLcore(t *testing.T) {
	r := newRig(t, 4096)
	useDevices(t, r)
	a, aRx, aTx := ringPort(t, "espe", r.pool)
	b, bRx, bTx := ringPort(t, "espf", r.pool)
	r.publish(a, offload.Change{})
	r.publish(b, offload.Change{EnableTx: offload.TxESPEncrypt, EnableRx: offload.RxESPDecrypt})
	for i, c := range []esp.Config{
		espConfig(0x4001, esp.Outbound, esp.Tunnel, esp.AESGCM128), espConfig(0x4002, esp.Inbound, esp.Tunnel, esp.AESGCM128),
	} {
		if _, err := r.off.SAs.AddAt(uint16(i+1), c); err != nil {
			t.Fatal(err)
		}
	}
	r.off.ESP.Set(b.ID(), []ESPPolicy{{Port: b.ID(), SA: 1}})
	peer := &esp.Registry{}
	in, err := peer.Add(espConfig(0x4001, esp.Inbound, esp.Tunnel, esp.AESGCM128))
	if err != nil {
		t.Fatal(err)
	}
	_ = in
	out, err := peer.Add(espConfig(0x4002, esp.Outbound, esp.Tunnel, esp.AESGCM128))
	if err != nil {
		t.Fatal(err)
	}
	toB, toA := newSink(t, bTx), newSink(t, aTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b}, [2]*pmd.EthPort{b, a})
	const n = 20
	var plain, sealed []*pmd.Mbuf
	for i := range n {
		for _, dst := range []*[]*pmd.Mbuf{&plain, &sealed} {
			fr := udpFrame(t, i+1, 400)
			if dst == &sealed {
				fr = sealWith(t, out, fr)
			}
			m := r.pool.Alloc()
			if m == nil || !m.SetData(fr) {
				t.Fatal("cannot build an mbuf")
			}
			*dst = append(*dst, m)
		}
	}
	enqueue(t, aRx, plain)
	enqueue(t, bRx, sealed)
	if !waitFor(5*time.Second, func() bool { return sinkCount(toB) >= n && sinkCount(toA) >= n }) {
		t.Fatalf("%d encrypted and %d decrypted out of %d each: %s", sinkCount(toB), sinkCount(toA), n, total(f).nonZero())
	}
	toB.close()
	toA.close()
	st := total(f)
	if st.Counters[ESPEncrypted] != n || st.Counters[ESPDecrypted] != n || st.Dropped() != 0 {
		t.Errorf("counters: %s", st.nonZero())
	}
	checkEngine(t, r, st, 2*n)
}

// sealWith encrypts a frame as the peer's outbound SA sa would.
func sealWith(t *testing.T, sa *esp.SA, fr []byte) []byte {
	t.Helper()
	buf := make([]byte, len(fr)+256)
	copy(buf[128:], fr)
	p := esp.Packet{Buf: buf, Off: 128, Len: len(fr)}
	jobs := make([]esp.Job, 1)
	if why := sa.PrepareEncrypt(&p, 14, &jobs[0]); why != esp.OK {
		t.Fatal(why)
	}
	var e esp.GoEngine
	e.Process(jobs, [][]byte{p.Bytes()})
	if why := esp.FinishEncrypt(&jobs[0]); why != esp.OK {
		t.Fatal(why)
	}
	return append([]byte(nil), p.Bytes()...)
}

// checkEngine checks that n crypto jobs ran on the devices when the rig
// has them, in Go otherwise.
func checkEngine(t *testing.T, r *e2eRig, st Stats, n uint64) {
	t.Helper()
	dev, goJobs := st.Counters[ESPCryptodevJobs], st.Counters[ESPGoJobs]
	if r.off.Crypto != nil && (dev != n || goJobs != 0) || r.off.Crypto == nil && (goJobs != n || dev != 0) {
		t.Errorf("%d jobs on crypto devices, %d in Go; want %d on %s (errors %v)", dev, goJobs, n,
			map[bool]string{true: "devices", false: "Go"}[r.off.Crypto != nil], r.off.Crypto.errors())
	}
}

// TestESPManySegments: TSO packets whose segments, all encrypted, are more
// ESP jobs in one burst than one crypto device run takes (more than
// pmd.CryptoBurstMax): the stream flushes as its queue fills, and every
// segment leaves encrypted, in order, with consecutive sequence numbers.
func TestESPManySegments(t *testing.T) {
	t.Run("go", testESPManySegments)
	espDevices = espCrypto
	defer func() { espDevices = nil }()
	t.Run("cryptodev", testESPManySegments)
}

func testESPManySegments(t *testing.T) {
	const pkts, payload, mss = 20, 40000, 1448
	segs := pkts * ((payload + mss - 1) / mss) // 560
	if segs <= pmd.CryptoBurstMax {
		t.Fatalf("%d segments do not exceed a device run's %d jobs", segs, pmd.CryptoBurstMax)
	}
	r := newRig(t, 4096)
	useDevices(t, r)
	a, aRx, _ := ringPort(t, "espm_a", r.pool)
	b, _, bTx := ringPort(t, "espm_b", r.pool)
	r.publish(a, offload.Change{EnableTx: offload.TxTCPTSO | offload.TxIPv4Cksum | offload.TxTCPCksum})
	r.publish(b, offload.Change{EnableTx: offload.TxESPEncrypt})
	r.off.Requests[a.ID()] = true
	if _, err := r.off.SAs.AddAt(1, espConfig(0x2001, esp.Outbound, esp.Tunnel, esp.AESGCM128)); err != nil {
		t.Fatal(err)
	}
	r.off.ESP.Set(b.ID(), []ESPPolicy{{Port: b.ID(), SA: 1}})
	peer := &esp.Registry{}
	if _, err := peer.Add(espConfig(0x2001, esp.Inbound, esp.Tunnel, esp.AESGCM128)); err != nil {
		t.Fatal(err)
	}
	sink := newSink(t, bTx)
	f := r.start(&IOEngine, [2]*pmd.EthPort{a, b})
	var in []*pmd.Mbuf
	for i := range pkts {
		fl := e2eFlow{id: 30 + i, mss: mss}
		fr := fl.frame(t, 0, bytes.Repeat([]byte{byte(i)}, payload), uint16(i), true)
		fl.spoil(fr)
		m := chainOf(t, r.pool, fr, 2048)
		fl.request(m, payload)
		in = append(in, m)
	}
	enqueue(t, aRx, in)
	if !waitFor(10*time.Second, func() bool { return sinkCount(sink) >= segs }) {
		t.Fatalf("%d frames out, want %d: %s", sinkCount(sink), segs, total(f).nonZero())
	}
	frames := sink.close()
	st := total(f)
	if st.Counters[ESPEncrypted] != uint64(segs) || st.Dropped() != 0 {
		t.Errorf("counters: %s", st.nonZero())
	}
	checkEngine(t, r, st, uint64(segs))
	got := 0
	for i, fr := range frames {
		pk := gopacket.NewPacket(fr, layers.LayerTypeEthernet, gopacket.Default)
		e, ok := pk.Layer(layers.LayerTypeIPSecESP).(*layers.IPSecESP)
		if !ok || e.Seq != uint32(i+1) {
			t.Fatalf("frame %d: not ESP or sequence number not %d: %v", i, i+1, pk)
		}
		inner, why := espOpen(t, peer, fr)
		if why != esp.OK {
			t.Fatalf("frame %d does not decrypt: %v", i, why)
		}
		d, err := decodeE2E(inner)
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		got += len(d.payload)
	}
	if got != pkts*payload {
		t.Errorf("segments carry %d payload bytes, want %d", got, pkts*payload)
	}
}
