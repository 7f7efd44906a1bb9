package pipeline

import (
	"fmt"
	"sync"

	"github.com/offloadpmd/offloadpmd/offload/esp"
	"github.com/offloadpmd/offloadpmd/pmd"
)

// ESPCrypto is the DPDK crypto devices ESP's crypto runs on instead of
// Go's: GCM SAs on GCM, CBC + HMAC-SHA-256 SAs on CBC (either may be nil:
// that suite stays in Go). A device needs a queue pair for every lcore
// that forwards (the pair is the lcore id), so open it with QueuePairs
// above the highest worker lcore id.
//
// One SA of CBC with ESN stays in Go too: a cryptodev authenticates one
// contiguous region, and ESN's high sequence bits are authenticated
// without being sent.
type ESPCrypto struct {
	GCM, CBC *pmd.CryptoDev

	mu     sync.Mutex
	sess   map[espSessKey]*pmd.CryptoSession
	errs   map[*esp.SA]error
	bursts map[espBurstKey]*sharedBurst
}

// A device's queue pair has one burst, shared by the streams of the lcore
// the pair belongs to (they run one after another on its thread).
type espBurstKey struct {
	dev *pmd.CryptoDev
	qp  int
}

type sharedBurst struct {
	b    *pmd.CryptoBurst
	refs int
}

// acquire returns the burst of dev's queue pair qp, making it on first use.
func (c *ESPCrypto) acquire(dev *pmd.CryptoDev, qp int) (*pmd.CryptoBurst, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := espBurstKey{dev, qp}
	if sb := c.bursts[k]; sb != nil {
		sb.refs++
		return sb.b, nil
	}
	b, err := dev.NewBurst(qp)
	if err != nil {
		return nil, err
	}
	if c.bursts == nil {
		c.bursts = map[espBurstKey]*sharedBurst{}
	}
	c.bursts[k] = &sharedBurst{b: b, refs: 1}
	return b, nil
}

// release gives a burst back; the last user frees it.
func (c *ESPCrypto) release(b *pmd.CryptoBurst) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, sb := range c.bursts {
		if sb.b == b {
			if sb.refs--; sb.refs == 0 {
				b.Close()
				delete(c.bursts, k)
			}
			return
		}
	}
}

type espSessKey struct {
	sa  *esp.SA
	dev *pmd.CryptoDev
}

// device is the device that does sa's crypto, or nil for Go.
func (c *ESPCrypto) device(sa *esp.SA) *pmd.CryptoDev {
	if c == nil {
		return nil
	}
	if sa.Alg().AEAD() {
		return c.GCM
	}
	if sa.ESN() {
		return nil
	}
	return c.CBC
}

// session returns dev's session for sa, making it on the SA's first
// packet (once; an SA the device refuses is done in Go from then on).
func (c *ESPCrypto) session(dev *pmd.CryptoDev, sa *esp.SA) *pmd.CryptoSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := espSessKey{sa, dev}
	if s, ok := c.sess[k]; ok {
		return s
	}
	if _, failed := c.errs[sa]; failed {
		return nil
	}
	if c.sess == nil {
		c.sess, c.errs = map[espSessKey]*pmd.CryptoSession{}, map[*esp.SA]error{}
	}
	s, err := dev.NewSession(sessionConfig(sa))
	if err != nil {
		c.errs[sa] = fmt.Errorf("SA %d on %s: %w", sa.Index(), dev.Name(), err)
		return nil
	}
	c.sess[k] = s
	return s
}

// Errors lists the SAs a device refused (done in Go instead).
func (c *ESPCrypto) Errors() []error { return c.errors() }

func (c *ESPCrypto) errors() []error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []error
	for _, e := range c.errs {
		out = append(out, e)
	}
	return out
}

// Close frees the sessions (the devices are the caller's).
func (c *ESPCrypto) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.sess {
		s.Close()
		delete(c.sess, k)
	}
}

func sessionConfig(sa *esp.SA) pmd.SessionConfig {
	cfg := sa.Config()
	dir := pmd.Encrypt
	if cfg.Dir == esp.Inbound {
		dir = pmd.Decrypt
	}
	enc := cfg.EncKey.Bytes()
	if cfg.Alg.AEAD() {
		aad := 8
		if cfg.ESN {
			aad = 12
		}
		return pmd.SessionConfig{Algo: pmd.AESGCM, Dir: dir, Key: enc[:cfg.Alg.KeyLen()], AADLen: aad}
	}
	return pmd.SessionConfig{Algo: pmd.AESCBCHMACSHA256, Dir: dir, Key: enc, AuthKey: cfg.AuthKey.Bytes()}
}

// espDev is one stream's use of the devices: a burst on its lcore's
// queue pair of each, made on first use.
type espDev struct {
	c        *ESPCrypto
	qp       int
	gcm, cbc *pmd.CryptoBurst
	failed   bool // a burst could not be made: Go from then on
	// gcmCPU, cbcCPU: the burst runs through the device's synchronous
	// CPU crypto API (no ops; see pmd.CryptoBurst.RunCPU).
	gcmCPU, cbcCPU bool
	// sas caches, by SA index, where each SA's jobs go, so that a job
	// costs no lock or map lookup (ESPCrypto.session's).
	sas []espRoute
	// nGCM, nCBC: the TX jobs placed in each burst (place) for the next
	// runPlaced.
	nGCM, nCBC int
}

// espRoute is where an SA's jobs go: a device burst and session, or Go
// (b nil).
type espRoute struct {
	sa   *esp.SA
	b    *pmd.CryptoBurst
	sess *pmd.CryptoSession
	aead bool // sa.Alg().AEAD()
}

// route returns sa's route, looked up on the SA's first job (and again
// when its index holds another SA).
func (d *espDev) route(sa *esp.SA) *espRoute {
	if i := int(sa.Index()); i < len(d.sas) && d.sas[i].sa == sa {
		return &d.sas[i]
	}
	return d.newRoute(sa)
}

func (d *espDev) newRoute(sa *esp.SA) *espRoute {
	i := int(sa.Index())
	if i >= len(d.sas) {
		d.sas = append(d.sas, make([]espRoute, i+1-len(d.sas))...)
	}
	r := espRoute{sa: sa, aead: sa.Alg().AEAD()}
	if dev := d.c.device(sa); dev != nil {
		if b := d.burst(dev); b != nil {
			if s := d.c.session(dev, sa); s != nil {
				r.b, r.sess = b, s
			}
		}
	}
	d.sas[i] = r
	return &d.sas[i]
}

func (d *espDev) burst(dev *pmd.CryptoDev) *pmd.CryptoBurst {
	b, cpu := &d.gcm, &d.gcmCPU
	if dev == d.c.CBC && dev != d.c.GCM {
		b, cpu = &d.cbc, &d.cbcCPU
	}
	if *b == nil && !d.failed {
		nb, err := d.c.acquire(dev, d.qp)
		if err != nil {
			d.failed = true
			return nil
		}
		*b, *cpu = nb, dev.CPUCrypto()
	}
	return *b
}

// run runs b's first n jobs: synchronously when the device can (ESP's
// packets are single-segment), through ops otherwise.
func run(b *pmd.CryptoBurst, n int, cpu bool) {
	if cpu {
		b.RunCPU(n)
		return
	}
	b.Run(n)
}

// close gives the stream's bursts back (the last stream of an lcore frees
// them), so the next forwarder's streams can have the queue pairs.
func (d *espDev) close() {
	for _, b := range []**pmd.CryptoBurst{&d.gcm, &d.cbc} {
		if *b != nil {
			d.c.release(*b)
			*b = nil
		}
	}
	clear(d.sas) // the routes name the bursts just closed
	d.sas = d.sas[:0]
	d.nGCM, d.nCBC = 0, 0
}

// espRoute is where sa's jobs go (nil: the stream has no devices, Go).
func (s *Stream) espRoute(sa *esp.SA) *espRoute {
	e := s.off.esp
	if e.dev == nil {
		if s.off.cfg.Crypto == nil {
			return nil
		}
		// On the stream's lcore: its id is its queue pair.
		e.dev = &espDev{c: s.off.cfg.Crypto, qp: int(pmd.LcoreID())}
	}
	return e.dev.route(sa)
}

// place writes the job j of packet m (the frame f, as Prepare left it)
// into its route's device burst, for the next runPlaced, and returns
// where it went, as espState.where notes it: -1-k for the GCM burst's job
// k, -1-espQueueMax-k for the CBC burst's.
func (d *espDev) place(r *espRoute, j *esp.Job, m *pmd.Mbuf, f []byte) int16 {
	b := r.b
	var k, w int
	if b == d.gcm {
		k = d.nGCM
		d.nGCM++
		w = -1 - k
	} else {
		k = d.nCBC
		d.nCBC++
		w = -1 - espQueueMax - k
	}
	cj := &b.Jobs()[k]
	cj.SetSession(r.sess)
	cj.Pkt = m
	cj.DataOff, cj.DataLen = uint32(j.CipherOff), uint32(j.CipherLen)
	cj.DigestOff = uint32(j.ICVOff)
	// Fixed-size moves, not copy's memmove calls: the device reads the
	// session's IV and AAD lengths of them.
	if r.aead {
		*(*[esp.NonceLen]byte)(cj.IV[:]) = j.Nonce
		*(*[esp.MaxAADLen]byte)(cj.AAD[:]) = j.AAD
	} else {
		cj.AuthOff, cj.AuthLen = uint32(j.AuthOff), uint32(j.AuthLen)
		cj.IV = [esp.MaxIVLen]byte(f[j.IVOff:])
	}
	return int16(w)
}

// placedReason is ESP's verdict for the device job place noted as w (< 0)
// once runPlaced returned the bursts gcm and cbc.
func placedReason(w int16, gcm, cbc []pmd.CryptoJob) esp.Reason {
	if k := -1 - int(w); k < espQueueMax {
		return espReason(gcm[k].Status())
	}
	return espReason(cbc[-1-espQueueMax-int(w)].Status())
}

// runPlaced runs the jobs place put in the bursts and returns them, GCM's
// and CBC's.
func (d *espDev) runPlaced() (gcm, cbc []pmd.CryptoJob) {
	if d.nGCM > 0 {
		run(d.gcm, d.nGCM, d.gcmCPU)
		gcm = d.gcm.Jobs()[:d.nGCM]
	}
	if d.nCBC > 0 {
		run(d.cbc, d.nCBC, d.cbcCPU)
		cbc = d.cbc.Jobs()[:d.nCBC]
	}
	d.nGCM, d.nCBC = 0, 0
	return gcm, cbc
}

// espReason is ESP's verdict for a device job's status.
func espReason(st pmd.CryptoStatus) esp.Reason {
	switch st {
	case pmd.CryptoOK:
		return esp.OK
	case pmd.CryptoAuthFailed:
		return esp.BadICV
	}
	return esp.EngineError
}

// espProcess does the crypto of the RX queue's jobs (decryption): those
// of SAs a device takes in one run per device, the others in Go.
func (s *Stream) espProcess() {
	e := s.off.esp
	if s.off.cfg.Crypto == nil {
		e.engine.Process(e.jobs, e.views)
		s.cnt.Add(int(ESPGoJobs), uint64(len(e.jobs)))
		return
	}
	nDev := 0
	for i := range e.jobs {
		j := &e.jobs[i]
		r := s.espRoute(j.SA)
		if r.b == nil {
			e.engine.Process(e.jobs[i:i+1], e.views[i:i+1])
			s.cnt.Inc(int(ESPGoJobs))
			e.where[i] = int16(i)
			continue
		}
		e.where[i] = e.dev.place(r, j, e.mbufs[i], e.views[i])
		nDev++
	}
	if nDev == 0 {
		return
	}
	gcm, cbc := e.dev.runPlaced()
	s.cnt.Add(int(ESPCryptodevJobs), uint64(nDev))
	for i := range e.jobs {
		if w := e.where[i]; w < 0 {
			e.jobs[i].Status = placedReason(w, gcm, cbc)
		}
	}
}
